/* The account page: with a mailed link's id and signature, choose a password (an invitation or
 * a reset); without, ask for a reset link by e-mail address. */
(function () {
  "use strict";
  var M = window.MDG, t = M.t, el = M.el;
  var lang = (navigator.language || "ja").toLowerCase().indexOf("en") === 0 ? "en" : "ja";
  var params = new URLSearchParams(location.search);
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
