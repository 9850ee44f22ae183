// Small progressive enhancements; every page works fully without this file.
(function () {
  "use strict";
  // After a failed submit, start at the error summary so its links are the next stop.
  var summary = document.getElementById("error-summary");
  if (summary) { summary.focus(); }
  // Print and copy buttons exist only when they can work.
  document.querySelectorAll("[data-print]").forEach(function (button) {
    button.hidden = false;
    button.addEventListener("click", function () { window.print(); });
  });
  document.querySelectorAll("[data-copy]").forEach(function (button) {
    if (!navigator.clipboard) { return; }
    button.hidden = false;
    button.addEventListener("click", function () {
      var text = document.getElementById(button.getAttribute("data-copy")).textContent.trim();
      navigator.clipboard.writeText(text).then(function () {
        var note = document.querySelector("[data-copied-text]");
        if (note) { note.textContent = note.getAttribute("data-copied-text"); }
      });
    });
  });
  // The municipality list gets a filter box: type part of the name to shorten the list.
  var field = document.querySelector("[data-municipality]");
  if (field) {
    var select = field.querySelector("select");
    var label = document.createElement("label");
    label.className = "ds-label";
    label.setAttribute("for", "municipality-filter");
    label.textContent = field.getAttribute("data-filter-label");
    var input = document.createElement("input");
    input.type = "search";
    input.id = "municipality-filter";
    input.className = "ds-input";
    input.autocomplete = "off";
    var fold = function (s) {
      return s.toLowerCase().normalize("NFKD").replace(/[\u0300-\u036f]/g, "")
        .replace(/ø/g, "o").replace(/æ/g, "ae");
    };
    input.addEventListener("input", function () {
      var q = fold(input.value.trim());
      var first = null;
      select.querySelectorAll("option").forEach(function (opt) {
        if (!opt.value) { return; }
        var show = !q || fold(opt.textContent).split(/[\s-]+/).some(function (w) { return w.indexOf(q) === 0; }) || fold(opt.textContent).indexOf(q) === 0;
        opt.hidden = !show;
        if (show && !first) { first = opt; }
      });
      select.querySelectorAll("optgroup").forEach(function (g) {
        g.hidden = !Array.prototype.some.call(g.children, function (o) { return !o.hidden; });
      });
      if (first && q) { select.value = first.value; }
    });
    field.insertBefore(input, select);
    field.insertBefore(label, input);
  }
})();
