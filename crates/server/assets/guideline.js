/* The workspace's harassment (カスハラ) guideline, for every agent: what counts as harassment
 * here and how staff respond. Linked from every masked message; admins write it in
 * /admin#harassment. */
(function () {
  "use strict";
  var M = window.MDG, t = M.t, el = M.el, api = M.api;
  api("GET", "/api/v1/me").then(function (me) {
    return M.loadStrings(me.locale).then(function () { return Promise.all([me, api("GET", "/api/v1/harassment/policy")]); });
  }).then(function (r) {
    var me = r[0], policy = r[1];
    var app = document.getElementById("app");
    app.removeAttribute("aria-busy");
    var top = el("header", { class: "topbar" });
    top.appendChild(el("h1", {}, "Madoguchi · " + t("harassment.guideline")));
    top.appendChild(el("a", { href: "/inbox" }, t("admin.back")));
    if (MDG.can(me, "change_settings")) top.appendChild(el("a", { href: "/admin#harassment" }, t("harassment.edit_guideline")));
    document.body.insertBefore(top, app);
    document.title = t("harassment.guideline") + " · Madoguchi";
    var page = el("article", { class: "guideline card" });
    var text = (policy.guideline || "").trim();
    if (!text) {
      page.appendChild(el("p", { class: "empty" }, t("harassment.no_guideline")));
    } else {
      text.split(/\n{2,}/).forEach(function (para) {
        var p = el("p");
        para.split("\n").forEach(function (line, i) {
          if (i) p.appendChild(el("br"));
          p.appendChild(document.createTextNode(line));
        });
        page.appendChild(p);
      });
    }
    app.appendChild(page);
  });
})();
