/* The login page. */
(function () {
  "use strict";
  var M = window.MDG, t = M.t, el = M.el;
  var lang = (navigator.language || "ja").toLowerCase().indexOf("en") === 0 ? "en" : "ja";
  M.loadStrings(lang).then(function () {
    var app = document.getElementById("app");
    app.removeAttribute("aria-busy");
    var form = el("form", { class: "login card", id: "login-form" });
    var email = el("input", { type: "email", id: "email", name: "email", autocomplete: "username", required: "" });
    var password = el("input", { type: "password", id: "password", name: "password", autocomplete: "current-password", required: "" });
    var error = el("p", { class: "error", role: "alert" });
    form.appendChild(el("h1", {}, "Madoguchi " + t("inbox.login")));
    form.appendChild(el("label", { for: "email" }, t("inbox.email")));
    form.appendChild(email);
    form.appendChild(el("label", { for: "password" }, t("inbox.password")));
    form.appendChild(password);
    /* Shown when the account asks for its second factor. */
    var codeLabel = el("label", { for: "totp", hidden: "" }, t("login.totp"));
    var code = el("input", { type: "text", id: "totp", inputmode: "numeric", autocomplete: "one-time-code", hidden: "" });
    form.appendChild(codeLabel);
    form.appendChild(code);
    form.appendChild(el("button", { type: "submit", class: "primary" }, t("inbox.login")));
    form.appendChild(error);
    var forgot = el("p");
    forgot.appendChild(el("a", { href: "/account", id: "forgot" }, t("account.forgot_link")));
    form.appendChild(forgot);
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      var body = { email: email.value, password: password.value };
      if (!code.hidden && code.value.trim()) body.totp = code.value.trim();
      M.api("POST", "/api/v1/auth/login", body).then(function (d) {
        localStorage.setItem("mdg_csrf", d.csrf_token);
        location.href = "/inbox";
      }, function (err) {
        if (err.code === "totp_required") {
          code.hidden = codeLabel.hidden = false;
          error.textContent = t("login.totp_needed");
          code.focus();
          return;
        }
        error.textContent = err.status === 401 ? t("inbox.login_failed") : err.message;
      });
    });
    app.appendChild(form);
    email.focus();
  });
})();
