// The language switch of a page that shows a receipt code is a POST form: the code travels in
// the body, never in a URL. Sent as a normal navigation, it would add a history entry that Back
// cannot revisit (the pages are no-store), so Back would land on "confirm form resubmission".
// Here the same request is made in the background and the page is swapped in place: no new
// history entry, the address unchanged, and Back goes where it went before the switch.
// Without this file (or if the request fails) the form simply submits, and the page still works.
(function () {
  "use strict";
  function fallback(form, button) {
    var input = document.createElement("input");
    input.type = "hidden";
    input.name = button.name;
    input.value = button.value;
    form.appendChild(input);
    form.submit();
  }
  var self = document.currentScript ? document.currentScript.src : "";
  function rerunScripts(doc) {
    // Scripts parsed by DOMParser never run; load the page's others again on the new body
    // (this one listens on the document, which stays, so it must not run twice).
    doc.querySelectorAll("script[src]").forEach(function (old) {
      if (old.src === self) { return; }
      var script = document.createElement("script");
      script.src = old.src;
      document.body.appendChild(script);
    });
  }
  if (!window.fetch || !window.DOMParser || !window.URLSearchParams) { return; }
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.matches || !form.matches(".lang-switch form[method=post]")) { return; }
    var button = event.submitter;
    if (!button || !button.name) { return; }
    event.preventDefault();
    var body = new URLSearchParams(new FormData(form));
    body.set(button.name, button.value);
    fetch(form.action, { method: "POST", body: body, credentials: "same-origin" })
      .then(function (response) {
        if (!response.ok) { throw new Error("switch failed"); }
        return response.text();
      })
      .then(function (html) {
        var doc = new DOMParser().parseFromString(html, "text/html");
        document.documentElement.lang = doc.documentElement.lang;
        document.title = doc.title;
        document.body.replaceWith(document.adoptNode(doc.body));
        rerunScripts(doc);
        // Keep the keyboard where it was: on the button of the language just chosen.
        var chosen = document.querySelector(".lang-switch button[aria-current]");
        if (chosen) { chosen.focus(); }
      })
      .catch(function () { fallback(form, button); });
  });
})();
