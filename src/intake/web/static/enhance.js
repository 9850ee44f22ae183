// Small progressive enhancements; every page works fully without this file.
// (The municipality combobox is in combobox.js, loaded by the sign-up form only.)
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
})();
