// Passkeys in the staff console (staff/passkeys.py). Without this file, or in a browser without
// WebAuthn, the page keeps its message that passkeys need JavaScript and offers the
// organisation's identity provider instead.
//
// Markup: a [data-passkey-root] element with data-csrf, data-next and the messages
// (data-msg-cancelled, data-msg-failed, data-msg-working); buttons with
// data-passkey="register" or data-passkey="authenticate"; an optional input
// [data-passkey-label]; a [data-passkey-status] live region; [data-passkey-nojs] elements are
// hidden once passkeys can work.
(function () {
  "use strict";
  var root = document.querySelector("[data-passkey-root]");
  if (!root) { return; }
  if (!window.PublicKeyCredential || !navigator.credentials) { return; }

  document.querySelectorAll("[data-passkey-nojs]").forEach(function (el) { el.hidden = true; });
  document.querySelectorAll("[data-passkey-js]").forEach(function (el) { el.hidden = false; });
  var status = root.querySelector("[data-passkey-status]");

  function say(text, isError) {
    if (!status) { return; }
    status.textContent = text;
    status.hidden = !text;
    status.setAttribute("data-color", isError ? "danger" : "info");
    if (isError) { status.focus(); }
  }

  function fromB64url(text) {
    var s = text.replace(/-/g, "+").replace(/_/g, "/");
    while (s.length % 4) { s += "="; }
    var bin = atob(s), out = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) { out[i] = bin.charCodeAt(i); }
    return out.buffer;
  }

  function toB64url(buffer) {
    var bytes = new Uint8Array(buffer), bin = "";
    for (var i = 0; i < bytes.length; i++) { bin += String.fromCharCode(bytes[i]); }
    return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function creationOptions(json) {
    if (PublicKeyCredential.parseCreationOptionsFromJSON) {
      return PublicKeyCredential.parseCreationOptionsFromJSON(json);
    }
    json.challenge = fromB64url(json.challenge);
    json.user.id = fromB64url(json.user.id);
    (json.excludeCredentials || []).forEach(function (c) { c.id = fromB64url(c.id); });
    return json;
  }

  function requestOptions(json) {
    if (PublicKeyCredential.parseRequestOptionsFromJSON) {
      return PublicKeyCredential.parseRequestOptionsFromJSON(json);
    }
    json.challenge = fromB64url(json.challenge);
    (json.allowCredentials || []).forEach(function (c) { c.id = fromB64url(c.id); });
    return json;
  }

  function credentialJSON(cred) {
    if (typeof cred.toJSON === "function") { return cred.toJSON(); }
    var r = cred.response, response = { clientDataJSON: toB64url(r.clientDataJSON) };
    if (r.attestationObject) {
      response.attestationObject = toB64url(r.attestationObject);
      response.transports = r.getTransports ? r.getTransports() : [];
    } else {
      response.authenticatorData = toB64url(r.authenticatorData);
      response.signature = toB64url(r.signature);
      if (r.userHandle) { response.userHandle = toB64url(r.userHandle); }
    }
    return {
      id: cred.id, rawId: toB64url(cred.rawId), type: cred.type, response: response,
      clientExtensionResults: cred.getClientExtensionResults(),
      authenticatorAttachment: cred.authenticatorAttachment
    };
  }

  function post(url, body) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": root.getAttribute("data-csrf") },
      body: JSON.stringify(body || {})
    }).then(function (res) {
      return res.json().catch(function () { return {}; }).then(function (data) {
        if (!res.ok) { throw new Error(data.error || root.getAttribute("data-msg-failed")); }
        return data;
      });
    });
  }

  function run(kind, button) {
    var base = kind === "register" ? "/ansatt/passkey/ny" : "/ansatt/passkey/bruk";
    var label = root.querySelector("[data-passkey-label]");
    button.disabled = true;
    say(root.getAttribute("data-msg-working"), false);
    post(base + "/valg").then(function (options) {
      return kind === "register"
        ? navigator.credentials.create({ publicKey: creationOptions(options) })
        : navigator.credentials.get({ publicKey: requestOptions(options) });
    }).then(function (cred) {
      return post(base, {
        credential: credentialJSON(cred),
        label: label ? label.value : "",
        next: root.getAttribute("data-next")
      });
    }).then(function (done) {
      window.location.assign(done.next);
    }).catch(function (err) {
      button.disabled = false;
      var cancelled = err && (err.name === "NotAllowedError" || err.name === "AbortError");
      say(cancelled ? root.getAttribute("data-msg-cancelled")
                    : (err && err.message) || root.getAttribute("data-msg-failed"), true);
    });
  }

  root.querySelectorAll("[data-passkey]").forEach(function (button) {
    button.addEventListener("click", function (event) {
      event.preventDefault();
      run(button.getAttribute("data-passkey"), button);
    });
  });
})();
