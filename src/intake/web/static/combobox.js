// The municipality field as an ARIA 1.2 combobox (modelled on GOV.UK's accessible-autocomplete).
// Without this file the page keeps a plain <select>, which works on its own.
//
// The one promise: the form only ever sends a municipality the person picked from the list
// (click, tap or Enter on an option). Typing never selects anything, and changing the text
// after a pick clears it. The <select> is removed from the page, so nothing hidden in it can
// be sent, whatever a browser does with option.hidden.
//
// Matching mirrors intake/places.py (the API uses that): case-insensitive, æ/ø/å kept as
// letters ("aa" counts as "å"), exact → prefix → word prefix → contains, former names one step
// weaker, ASCII-folded matching only for ASCII-only queries, ties in Norwegian order.
(function () {
  "use strict";
  var field = document.querySelector("[data-municipality]");
  if (!field || !String.prototype.normalize) { return; }
  var select = field.querySelector("select");
  var label = field.querySelector("label");
  var desc = document.getElementById("municipality-desc");

  var KEEP = /[æøå]/;
  function strip(s) {
    return s.replace(/./g, function (ch) {
      return KEEP.test(ch) ? ch : ch.normalize("NFD").replace(/[\u0300-\u036f]/g, "");
    });
  }
  function searchForm(s) {
    return strip(s.normalize("NFC").toLowerCase().replace(/aa/g, "å")).split(/\s+/)
      .filter(Boolean).join(" ");
  }
  function asciiForm(s) {
    return searchForm(s).replace(/ø/g, "o").replace(/æ/g, "ae").replace(/å/g, "a")
      .replace(/đ/g, "d").replace(/ŋ/g, "n").replace(/ŧ/g, "t");
  }
  function sortKey(s) {
    return strip(s.normalize("NFC").toLowerCase())
      .replace(/æ/g, "{").replace(/ø/g, "|").replace(/å/g, "}");
  }
  function rank(q, name) {
    var parts = name.indexOf(" - ") >= 0 ? [name].concat(name.split(" - ")) : [name];
    var best = null;
    for (var i = 0; i < parts.length; i++) {
      var part = parts[i], r;
      if (part === q) { return 0; }
      if (part.indexOf(q) === 0) { r = 1; }
      else if (part.split(/[\s\-\/]+/).some(function (w) { return w.indexOf(q) === 0; })) { r = 2; }
      else if (part.indexOf(q) >= 0) { r = 3; }
      else { continue; }
      best = best === null ? r : Math.min(best, r);
    }
    return best;
  }

  var places = [];
  Array.prototype.forEach.call(select.querySelectorAll("optgroup"), function (group) {
    var county = group.getAttribute("data-county") || group.label;
    Array.prototype.forEach.call(group.querySelectorAll("option"), function (opt) {
      var text = opt.textContent.trim();
      var suffix = " (" + county + ")";
      var name = text.slice(-suffix.length) === suffix ? text.slice(0, -suffix.length) : text;
      var former = (opt.getAttribute("data-former") || "").split("|").filter(Boolean);
      places.push({ value: opt.value, label: text, name: name, county: county, former: former,
        key: sortKey(text), selected: opt.selected && opt.value !== "" });
    });
  });

  function match(query) {
    var q = searchForm(query);
    if (!q) { return []; }
    var asciiOnly = /^[\x00-\x7f]*$/.test(q);
    var found = [];
    places.forEach(function (p) {
      var best = null, via = null;
      // The label too, so "Herøy (Nordland)" (a homonym as shown after a pick) finds itself.
      var current = p.label === p.name ? [p.name] : [p.name, p.label];
      current.concat(p.former).forEach(function (text, i) {
        var isFormer = i >= current.length ? 1 : 0;
        var r = rank(q, searchForm(text));
        if (r === null && asciiOnly) {
          var folded = rank(asciiForm(q), asciiForm(text));
          r = folded === null ? null : folded + 4;
        }
        if (r === null) { return; }
        r += isFormer;
        if (best === null || r < best[0] || (r === best[0] && isFormer < best[1])) {
          best = [r, isFormer];
          via = isFormer ? text : null;
        }
      });
      if (best !== null) { found.push({ place: p, rank: best[0], former: best[1], via: via }); }
    });
    found.sort(function (a, b) {
      return a.rank - b.rank || a.former - b.former ||
        (a.place.key < b.place.key ? -1 : a.place.key > b.place.key ? 1 : 0);
    });
    return found;
  }

  // Build the combobox where the select was; the select leaves the page.
  label.id = label.id || "municipality-label";
  var wrapper = document.createElement("div");
  wrapper.className = "combobox";
  var input = document.createElement("input");
  input.type = "text";
  input.id = select.id;
  input.className = select.className;
  input.setAttribute("role", "combobox");
  input.setAttribute("aria-autocomplete", "list");
  input.setAttribute("aria-expanded", "false");
  input.setAttribute("aria-controls", "municipality-listbox");
  input.setAttribute("autocomplete", "off");
  input.setAttribute("autocapitalize", "none");
  input.setAttribute("spellcheck", "false");
  ["aria-describedby", "aria-invalid"].forEach(function (a) {
    if (select.hasAttribute(a)) { input.setAttribute(a, select.getAttribute(a)); }
  });
  var list = document.createElement("ul");
  list.id = "municipality-listbox";
  list.className = "combobox-list";
  list.setAttribute("role", "listbox");
  list.setAttribute("aria-labelledby", label.id);
  list.hidden = true;
  var status = document.createElement("div");
  status.className = "visually-hidden";
  status.setAttribute("role", "status");
  var chosenInput = document.createElement("input");
  chosenInput.type = "hidden";
  chosenInput.name = select.name;
  wrapper.appendChild(input);
  wrapper.appendChild(list);
  wrapper.appendChild(status);
  wrapper.appendChild(chosenInput);
  select.parentNode.replaceChild(wrapper, select);
  if (desc && field.getAttribute("data-hint")) { desc.textContent = field.getAttribute("data-hint"); }

  var chosen = null, shown = [], active = -1, announce = null;

  function setChosen(place) {
    chosen = place;
    chosenInput.value = place ? place.value : "";
  }
  function say(text) {
    clearTimeout(announce);
    // Wait for a pause in typing so a screen reader is not talked over on every letter.
    announce = setTimeout(function () { status.textContent = text; }, 500);
  }
  function close() {
    list.hidden = true;
    input.setAttribute("aria-expanded", "false");
    input.removeAttribute("aria-activedescendant");
    active = -1;
  }
  function setActive(i) {
    var items = list.children;
    if (active >= 0 && items[active]) { items[active].setAttribute("aria-selected", "false"); }
    active = i;
    if (i >= 0 && items[i]) {
      items[i].setAttribute("aria-selected", "true");
      input.setAttribute("aria-activedescendant", items[i].id);
      if (items[i].scrollIntoView) { items[i].scrollIntoView({ block: "nearest" }); }
    } else {
      input.removeAttribute("aria-activedescendant");
    }
  }
  function render() {
    shown = match(input.value);
    list.textContent = "";
    active = -1;
    input.removeAttribute("aria-activedescendant");
    shown.forEach(function (m, i) {
      var li = document.createElement("li");
      li.id = "municipality-option-" + i;
      li.className = "combobox-option";
      li.setAttribute("role", "option");
      li.setAttribute("aria-selected", "false");
      li.setAttribute("data-value", m.place.value);
      var name = document.createElement("span");
      name.className = "combobox-name";
      name.textContent = m.place.label;
      var meta = document.createElement("span");
      meta.className = "combobox-meta";
      meta.textContent = m.via
        ? m.place.county + ". " + field.getAttribute("data-formerly") + " " + m.via
        : m.place.county;
      li.appendChild(name);
      li.appendChild(document.createTextNode(" "));
      li.appendChild(meta);
      list.appendChild(li);
    });
    var open = searchForm(input.value) !== "";
    list.hidden = !open || shown.length === 0;
    input.setAttribute("aria-expanded", list.hidden ? "false" : "true");
    if (!open) { status.textContent = ""; return; }
    if (shown.length === 0) { say(field.getAttribute("data-none")); }
    else if (shown.length === 1) { say(field.getAttribute("data-one")); }
    else { say(field.getAttribute("data-many").replace("{n}", String(shown.length))); }
  }
  function choose(i) {
    var m = shown[i];
    if (!m) { return; }
    setChosen(m.place);
    input.value = m.place.label;
    close();
    say(field.getAttribute("data-chosen").replace("{name}", m.place.label));
  }

  places.forEach(function (p) {
    if (p.selected) { setChosen(p); input.value = p.label; }
  });

  input.addEventListener("input", function () {
    // Any edit after a pick undoes the pick: what is sent must be what is shown.
    if (chosen && input.value !== chosen.label) { setChosen(null); }
    render();
  });
  input.addEventListener("keydown", function (e) {
    var open = !list.hidden;
    if (e.key === "ArrowDown" || e.key === "Down") {
      e.preventDefault();
      if (!open) { render(); if (list.hidden) { return; } }
      setActive(Math.min(active + 1, shown.length - 1));
    } else if (e.key === "ArrowUp" || e.key === "Up") {
      if (!open) { return; }
      e.preventDefault();
      setActive(active - 1);
    } else if (e.key === "Enter") {
      // Enter picks the highlighted option; with none highlighted the form submits as usual.
      if (open && active >= 0) { e.preventDefault(); choose(active); }
    } else if (e.key === "Escape" || e.key === "Esc") {
      if (open) { e.preventDefault(); close(); }
    }
  });
  // Keep focus in the text box while an option is pressed, then pick it.
  list.addEventListener("mousedown", function (e) { e.preventDefault(); });
  list.addEventListener("click", function (e) {
    var li = e.target.closest ? e.target.closest("[role=option]") : null;
    if (li) { choose(Array.prototype.indexOf.call(list.children, li)); input.focus(); }
  });
  // Leaving the field never picks anything (no "confirm on blur").
  input.addEventListener("blur", close);
})();
