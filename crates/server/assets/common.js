/* Shared by the inbox, admin and login pages: strings, API calls, DOM helpers.
 * Text is always inserted with textContent (never HTML). */
(function () {
  "use strict";
  var strings = {};
  function t(key) { return strings[key] || key; }
  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === "on") return;
      node.setAttribute(k, attrs[k]);
    });
    if (attrs && attrs.on) Object.keys(attrs.on).forEach(function (ev) { node.addEventListener(ev, attrs.on[ev]); });
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }
  function api(method, path, body) {
    var headers = { "Content-Type": "application/json" };
    var csrf = localStorage.getItem("mdg_csrf");
    if (csrf) headers["X-CSRF-Token"] = csrf;
    return fetch(path, { method: method, headers: headers, credentials: "same-origin", body: body ? JSON.stringify(body) : undefined })
      .then(function (r) {
        if (r.status === 401 && location.pathname !== "/login") { location.href = "/login"; throw new Error("unauthenticated"); }
        if (r.status === 204) return null;
        return r.text().then(function (text) {
          var data = text ? JSON.parse(text) : {};
          if (!r.ok) { var e = new Error((data.error && data.error.message) || r.status); e.status = r.status; e.code = data.error && data.error.code; throw e; }
          return data;
        });
      });
  }
  /* Sends a file as the raw request body (uploads of attachments). */
  function upload(path, file) {
    var headers = { "Content-Type": "application/octet-stream" };
    var csrf = localStorage.getItem("mdg_csrf");
    if (csrf) headers["X-CSRF-Token"] = csrf;
    return fetch(path, { method: "POST", headers: headers, credentials: "same-origin", body: file }).then(function (r) {
      return r.json().then(function (data) {
        if (!r.ok) { var e = new Error((data.error && data.error.message) || r.status); e.status = r.status; throw e; }
        return data;
      });
    });
  }
  /* The files a message carries: images shown, other files as download links. */
  function attachments(m, url) {
    var files = (m.meta && m.meta.attachments) || [];
    var box = el("div", { class: "files" });
    files.forEach(function (f) {
      var link = el("a", { href: url(f.id), target: "_blank", rel: "noopener", class: "file" });
      if (f.content_type.indexOf("image/") === 0) link.appendChild(el("img", { src: url(f.id), alt: f.name, loading: "lazy" }));
      else link.textContent = f.name + " (" + Math.max(1, Math.round(f.size / 1024)) + " KB)";
      box.appendChild(link);
    });
    return files.length ? box : null;
  }
  function loadStrings(lang) {
    return fetch("/assets/" + (lang === "en" ? "en" : "ja") + ".json").then(function (r) { return r.json(); }).then(function (s) {
      strings = s;
      document.documentElement.lang = lang === "en" ? "en" : "ja";
    });
  }
  function time(ms) { return new Date(ms).toLocaleString(document.documentElement.lang === "en" ? "en" : "ja-JP"); }
  /* Whether the signed-in agent's role may do something (the permissions /api/v1/me lists). */
  function can(me, permission) { return (me.permissions || []).indexOf(permission) >= 0; }
  window.MDG = { t: t, el: el, api: api, upload: upload, attachments: attachments, loadStrings: loadStrings, time: time, can: can };
})();
