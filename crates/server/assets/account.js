/* The account page: with a mailed link's id and signature, choose a password (an invitation or
 * a reset); without, ask for a reset link by e-mail address. */
(function () {
  "use strict";
  var M = window.MDG, t = M.t, el = M.el;
  var lang = (navigator.language || "ja").toLowerCase().indexOf("en") === 0 ? "en" : "ja";
  var params = new URLSearchParams(location.search);
  /* Two-factor sign-in for the signed-in agent: a secret for the app, confirmed by a code;
   * then the recovery codes, shown once. */
  function twoFactor(form, note, error) {
    form.appendChild(el("h1", {}, t("account.two_factor")));
    form.appendChild(el("p", { class: "hint" }, t("account.two_factor_hint")));
    var start = el("button", { type: "button", class: "primary", id: "totp-start" }, t("account.totp_start"));
    form.appendChild(start);
    start.addEventListener("click", function () {
      M.api("POST", "/api/v1/me/totp").then(function (s) {
        start.remove();
        form.insertBefore(el("p", {}, t("account.totp_key")), note);
        form.insertBefore(el("code", { class: "secret", id: "totp-secret" }, s.secret), note);
        var code = el("input", { type: "text", id: "totp-code", inputmode: "numeric", autocomplete: "one-time-code", required: "" });
        form.insertBefore(el("label", { for: "totp-code" }, t("login.totp")), note);
        form.insertBefore(code, note);
        form.insertBefore(el("button", { type: "submit", class: "primary" }, t("account.totp_enable")), note);
        form.addEventListener("submit", function (e) {
          e.preventDefault();
          M.api("POST", "/api/v1/me/totp/enable", { code: code.value }).then(function (r) {
            form.textContent = "";
            form.appendChild(el("h1", {}, t("account.totp_on")));
            form.appendChild(el("p", {}, t("account.recovery")));
            var list = el("ul", { id: "recovery-codes", class: "secret" });
            r.recovery_codes.forEach(function (c) { list.appendChild(el("li", {}, c)); });
            form.appendChild(list);
            form.appendChild(el("a", { href: "/inbox" }, t("admin.back")));
          }, function (err) { error.textContent = err.message; });
        });
      }, function (err) { error.textContent = err.message; });
    });
  }
  M.loadStrings(lang).then(function () {
    var app = document.getElementById("app");
    app.removeAttribute("aria-busy");
    var form = el("form", { class: "login card", id: "account-form" });
    var note = el("p", { class: "status", role: "status", id: "account-status" });
    var error = el("p", { class: "error", role: "alert" });
    var id = params.get("id"), sig = params.get("sig");
    if (id && sig) {
      form.appendChild(el("h1", {}, t("account.choose")));
      var password = el("input", { type: "password", id: "password", autocomplete: "new-password", required: "", minlength: "8" });
      var again = el("input", { type: "password", id: "again", autocomplete: "new-password", required: "", minlength: "8" });
      form.appendChild(el("label", { for: "password" }, t("account.password")));
      form.appendChild(password);
      form.appendChild(el("label", { for: "again" }, t("account.again")));
      form.appendChild(again);
      form.appendChild(el("button", { type: "submit", class: "primary" }, t("account.save")));
      form.addEventListener("submit", function (e) {
        e.preventDefault();
        error.textContent = "";
        if (password.value !== again.value) { error.textContent = t("account.mismatch"); return; }
        M.api("POST", "/api/v1/auth/accept", { id: id, sig: sig, password: password.value }).then(function () {
          form.textContent = "";
          form.appendChild(el("h1", {}, t("account.done")));
          form.appendChild(el("a", { href: "/login", class: "primary" }, t("inbox.login")));
        }, function (err) { error.textContent = err.status === 409 || err.status === 404 ? t("account.spent") : err.message; });
      });
    } else if (params.get("security") !== null) {
      twoFactor(form, note, error);
    } else {
      form.appendChild(el("h1", {}, t("account.forgot")));
      var email = el("input", { type: "email", id: "email", autocomplete: "username", required: "" });
      form.appendChild(el("label", { for: "email" }, t("inbox.email")));
      form.appendChild(email);
      form.appendChild(el("button", { type: "submit", class: "primary" }, t("account.send")));
      form.addEventListener("submit", function (e) {
        e.preventDefault();
        M.api("POST", "/api/v1/auth/password-reset", { email: email.value }).then(function () {
          note.textContent = t("account.sent");
        }, function (err) { error.textContent = err.message; });
      });
    }
    form.appendChild(note);
    form.appendChild(error);
    app.appendChild(form);
  });
})();
