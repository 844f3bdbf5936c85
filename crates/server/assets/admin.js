/* Admin: one page per area behind a navigation (#general, #brands, #agents, #channels, #hours, #bot,
 * #knowledge, #review, #replies, #routing, #harassment, #privacy, #webhooks, #audit). Values are shown in words of the agent's language, every
 * list has column headers, and everything made can be edited or deleted. */
(function () {
  "use strict";
  var M = window.MDG, t = M.t, el = M.el, api = M.api;
  var main, nav, me, channels = [], brands = [], current = null;
  var AREAS = ["general", "brands", "agents", "channels", "hours", "bot", "knowledge", "review", "replies", "routing", "harassment", "privacy", "webhooks", "audit"];
  var DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

  /* ---- helpers ---- */
  var seq = 0;
  function field(parent, label, input) {
    input.id = input.id || "f" + (++seq);
    var wrap = el("div", { class: "field" });
    wrap.appendChild(el("label", { for: input.id, class: "field-label" }, label));
    wrap.appendChild(input);
    parent.appendChild(wrap);
    return input;
  }
  function check(parent, label, checked) {
    var input = el("input", { type: "checkbox", id: "f" + (++seq) });
    input.checked = input.defaultChecked = !!checked;
    var wrap = el("div", { class: "field check" });
    wrap.appendChild(input);
    wrap.appendChild(el("label", { for: input.id }, label));
    parent.appendChild(wrap);
    return input;
  }
  function options(select, pairs, value) {
    select.textContent = "";
    pairs.forEach(function (p) {
      var o = el("option", { value: p[0] }, p[1]);
      if (p[0] === value) o.selected = true;
      select.appendChild(o);
    });
    return select;
  }
  function textarea(value, rows) { var a = el("textarea", { rows: String(rows || 2) }); a.value = value || ""; return a; }
  function button(label, onClick, cls) { return el("button", { type: "button", class: cls || "", on: { click: onClick } }, label); }
  function statusLine(parent) { var p = el("p", { class: "status", role: "status" }); parent.appendChild(p); return p; }
  function saved(msg) { return function () { msg.textContent = t("admin.saved"); }; }
  function failed(msg) { return function (err) { msg.textContent = err.message; }; }
  function lines(v) { return v.split("\n").map(function (x) { return x.trim(); }).filter(Boolean); }
  /* A table with column headers; `cells(row)` gives each row's cells (strings or nodes). */
  function table(caption, headers, rows, cells, empty) {
    if (!rows.length) return el("p", { class: "empty" }, empty || t("admin.none"));
    var tbl = el("table");
    tbl.appendChild(el("caption", { class: "visually-hidden" }, caption));
    var head = el("tr");
    headers.forEach(function (h) { head.appendChild(el("th", { scope: "col" }, h)); });
    var thead = el("thead");
    thead.appendChild(head);
    tbl.appendChild(thead);
    var body = el("tbody");
    rows.forEach(function (row) {
      var tr = el("tr");
      cells(row).forEach(function (c) {
        var td = el("td");
        if (c instanceof Node) td.appendChild(c); else td.textContent = c === null || c === undefined ? "" : String(c);
        tr.appendChild(td);
      });
      body.appendChild(tr);
    });
    tbl.appendChild(body);
    return tbl;
  }
  function page(title) {
    main.textContent = "";
    var h = el("h2", { id: "page-title", tabindex: "-1" }, title);
    main.appendChild(h);
    return h;
  }
  function card(title) {
    var s = el("section", { class: "card" });
    if (title) s.appendChild(el("h3", {}, title));
    main.appendChild(s);
    return s;
  }
  function roleName(r) { return t("admin.role." + r); }
  /* The roles one may give: the owner role only by an owner. */
  function roleChoices() {
    return ["owner", "admin", "supervisor", "agent", "analyst"].filter(function (r) {
      return r !== "owner" || M.can(me, "manage_owners");
    }).map(function (r) { return [r, roleName(r)]; });
  }
  function localeName(l) { return l === "en" ? "English" : "日本語"; }
  /* The channel the #channels, #hours and #bot pages work on, with a picker when there are several. */
  function channelPicker(render) {
    if (channels.length < 2) return;
    var pick = field(card(), t("admin.channel"), el("select", { id: "channel-pick" }));
    options(pick, channels.map(function (c) { return [c.id, c.name]; }), current && current.id);
    pick.addEventListener("change", function () { current = channels.filter(function (c) { return c.id === pick.value; })[0]; render(); });
  }
  function loadChannels() {
    return Promise.all([api("GET", "/api/v1/channels"), api("GET", "/api/v1/brands")]).then(function (r) {
      channels = r[0].channels;
      brands = r[1];
      current = channels.filter(function (c) { return current && c.id === current.id; })[0] || channels[0] || null;
    });
  }
  function brandName(id) {
    var b = brands.filter(function (x) { return x.id === id; })[0];
    return b ? b.name : t("brands.shared");
  }
  /* A brand picker for what may belong to one brand (articles, templates); none while the
   * workspace has no brands. */
  function brandField(form, value) {
    if (!brands.length) return null;
    var pairs = [["", t("brands.shared")]].concat(brands.map(function (b) { return [b.id, b.name]; }));
    return field(form, t("brands.brand"), options(el("select", { class: "brand-pick" }), pairs, value || ""));
  }
  /* Uploads an image as the raw body of a PUT (logos). */
  function putFile(path, file) {
    var headers = { "Content-Type": "application/octet-stream", "X-CSRF-Token": localStorage.getItem("mdg_csrf") || "" };
    return fetch(path, { method: "PUT", headers: headers, credentials: "same-origin", body: file }).then(function (r) {
      if (r.status !== 204) return r.json().then(function (d) { throw new Error(d.error.message); });
    });
  }

  /* ---- #general: the shop's name and logo ---- */
  function general() {
    page(t("admin.general"));
    var s = card(t("admin.shop"));
    api("GET", "/api/v1/workspace").then(function (w) {
      var form = el("form", { id: "workspace-form" });
      var name = field(form, t("admin.shop_name"), el("input", { value: w.name, required: "", maxlength: "100" }));
      form.appendChild(el("button", { type: "submit", class: "primary" }, t("admin.save")));
      s.appendChild(form);
      var msg = statusLine(s);
      form.addEventListener("submit", function (e) {
        e.preventDefault();
        api("PATCH", "/api/v1/workspace", { name: name.value }).then(saved(msg), failed(msg));
      });
      var logo = card(t("admin.logo"));
      var key = channels[0] && channels[0].public_key;
      var preview = el("img", { class: "logo-preview", alt: t("admin.logo"), width: "64", height: "64" });
      if (w.has_logo && key) { preview.src = "/help/" + key + "/logo?" + Date.now(); logo.appendChild(preview); }
      var file = field(logo, t("admin.logo_help"), el("input", { type: "file", accept: "image/png,image/jpeg,image/gif,image/webp" }));
      var lmsg = statusLine(logo);
      file.addEventListener("change", function () {
        if (!file.files[0]) return;
        putFile("/api/v1/workspace/logo", file.files[0])
          .then(function () {
            lmsg.textContent = t("admin.saved");
            if (key) { preview.src = "/help/" + key + "/logo?" + Date.now(); logo.insertBefore(preview, logo.children[1]); }
          }).catch(failed(lmsg));
      });
      s.appendChild(el("p", { class: "hint" }, t("admin.time_zone") + ": " + w.time_zone));
    });
  }

  /* ---- #brands: the shops one inbox answers for, and agents limited to some of them ---- */
  function brandsPage() {
    page(t("admin.area.brands"));
    main.appendChild(el("p", { class: "hint" }, t("brands.help")));
    var list = card();
    list.appendChild(table(t("admin.area.brands"), [t("brands.name"), t("admin.help_center"), t("brands.sender"), t("admin.channels"), t("admin.actions")], brands, function (b) {
      var actions = el("span");
      actions.appendChild(button(t("admin.edit"), function () { edit(b); }));
      actions.appendChild(button(t("admin.delete"), function () {
        if (confirm(t("brands.confirm_delete"))) api("DELETE", "/api/v1/brands/" + b.id).then(loadChannels).then(brandsPage, failed(msg));
      }, "danger"));
      var name = el("span", { class: "brand-name" });
      if (b.color) name.appendChild(el("span", { class: "swatch", "data-color": b.color, "aria-hidden": "true" }));
      name.appendChild(document.createTextNode(b.name));
      var help = el("a", { href: "/help/" + b.slug, target: "_blank", rel: "noopener" }, "/help/" + b.slug);
      var sender = b.sender_email ? (b.sender_name || b.name) + " <" + b.sender_email + ">" : "—";
      var owned = channels.filter(function (c) { return c.brand_id === b.id; }).map(function (c) { return c.name; }).join("、") || "—";
      return [name, help, sender, owned, actions];
    }, t("brands.none")));
    /* Inline styles are not allowed (CSP): swatches take their colour from script. */
    Array.prototype.forEach.call(list.querySelectorAll(".swatch"), function (sw) { sw.style.background = sw.getAttribute("data-color"); });
    var formCard = card(t("brands.add"));
    var form = el("form", { id: "brand-form" });
    var editing = null;
    var name = field(form, t("brands.name"), el("input", { required: "", maxlength: "100" }));
    var slug = field(form, t("brands.slug"), el("input", { required: "", pattern: "[a-z0-9][a-z0-9-]{1,39}", maxlength: "40" }));
    form.appendChild(el("p", { class: "hint" }, t("brands.slug_hint")));
    var color = field(form, t("brands.color"), el("input", { type: "color", value: "#2f6f8f" }));
    var senderName = field(form, t("brands.sender_name"), el("input", { maxlength: "100" }));
    var senderEmail = field(form, t("brands.sender_email"), el("input", { type: "email" }));
    form.appendChild(el("button", { type: "submit", class: "primary" }, t("admin.save")));
    form.appendChild(button(t("admin.cancel"), function () { edit(null); }));
    formCard.appendChild(form);
    var logoRow = el("div", { hidden: "" });
    var logo = field(logoRow, t("brands.logo"), el("input", { type: "file", accept: "image/png,image/jpeg,image/gif,image/webp" }));
    formCard.appendChild(logoRow);
    var msg = statusLine(formCard);
    function edit(b) {
      editing = b;
      formCard.querySelector("h3").textContent = b ? t("brands.edit") + ": " + b.name : t("brands.add");
      name.value = b ? b.name : ""; slug.value = b ? b.slug : ""; color.value = (b && b.color) || "#2f6f8f";
      senderName.value = (b && b.sender_name) || ""; senderEmail.value = (b && b.sender_email) || "";
      logoRow.hidden = !b;
      msg.textContent = "";
      name.focus();
    }
    logo.addEventListener("change", function () {
      if (editing && logo.files[0]) putFile("/api/v1/brands/" + editing.id + "/logo", logo.files[0]).then(saved(msg), failed(msg));
    });
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      var body = { name: name.value, slug: slug.value, color: color.value, sender_name: senderName.value || null, sender_email: senderEmail.value || null };
      (editing ? api("PUT", "/api/v1/brands/" + editing.id, body) : api("POST", "/api/v1/brands", body))
        .then(loadChannels).then(function () { brandsPage(); main.querySelector(".status").textContent = t("admin.saved"); }, failed(msg));
    });
    if (!brands.length) return;
    var limits = card(t("brands.limits"));
    limits.appendChild(el("p", { class: "hint" }, t("brands.limits_help")));
    api("GET", "/api/v1/agents").then(function (d) {
      var lform = el("form", { id: "brand-limits" });
      var who = field(lform, t("brands.agent"), options(el("select"), d.agents.map(function (a) { return [a.id, a.name + " (" + a.email + ")"]; }), d.agents[0] && d.agents[0].id));
      var boxes = brands.map(function (b) { return [b, check(lform, b.name, false)]; });
      function fill() {
        boxes.forEach(function (p) { p[1].checked = p[0].agent_ids.indexOf(who.value) >= 0; });
      }
      who.addEventListener("change", fill);
      fill();
      lform.appendChild(el("button", { type: "submit", class: "primary" }, t("admin.save")));
      limits.appendChild(lform);
      var lmsg = statusLine(limits);
      var limitsList = el("div");
      limits.appendChild(limitsList);
      function listLimits() {
        limitsList.textContent = "";
        limitsList.appendChild(table(t("brands.limits"), [t("brands.agent"), t("inbox.email"), t("admin.area.brands")], d.agents, function (a) {
          var mine = brands.filter(function (b) { return b.agent_ids.indexOf(a.id) >= 0; }).map(function (b) { return b.name; });
          return [a.name, a.email, mine.length ? mine.join("、") : t("brands.all")];
        }));
      }
      listLimits();
      lform.addEventListener("submit", function (e) {
        e.preventDefault();
        var chosen = boxes.filter(function (p) { return p[1].checked; }).map(function (p) { return p[0].id; });
        api("PUT", "/api/v1/agents/" + who.value + "/brands", { brand_ids: chosen }).then(loadChannels).then(function () {
          /* Fresh limits: the boxes' brands are the new list's. */
          boxes.forEach(function (p) { p[0] = brands.filter(function (b) { return b.id === p[0].id; })[0] || p[0]; });
          listLimits();
          lmsg.textContent = t("admin.saved");
        }, failed(lmsg));
      });
    });
  }

  /* A form channel: where it lives (link and iframe), and its fields, edited as a list. */
  function formCard(c) {
    var where = card(t("admin.kind.form") + ": " + c.name);
    var url = location.origin + "/forms/" + c.public_key;
    where.appendChild(el("p", { class: "hint" }, t("admin.form_embed_help")));
    where.appendChild(el("pre", { class: "embed", id: "form-embed" }, '<iframe src="' + url + '" title="' + c.form.title + '" width="100%" height="760" style="border:0"></iframe>'));
    where.appendChild(el("a", { href: url, target: "_blank", rel: "noopener", class: "preview-link" }, t("admin.preview")));
    if (!channels.some(function (x) { return x.kind === "email"; })) where.appendChild(el("p", { class: "hint warn", role: "note" }, t("admin.form_needs_email")));
    var edit = card(t("admin.form_fields"));
    var form = el("form", { id: "form-editor" });
    var title = field(form, t("admin.form_title"), el("input", { value: c.form.title, required: "", maxlength: "200" }));
    var thanks = field(form, t("admin.form_thanks"), textarea(c.form.thanks, 2));
    var rows = el("div", { class: "form-rows" });
    form.appendChild(rows);
    var KINDS = ["text", "email", "tel", "textarea", "select"].map(function (k) { return [k, t("admin.field." + k)]; });
    function row(f) {
      var box = el("fieldset", { class: "form-row" });
      box.appendChild(el("legend", {}, f.label || t("admin.form_new_field")));
      var label = field(box, t("admin.field_label"), el("input", { value: f.label, required: "", maxlength: "200", class: "field-label-input" }));
      var key = field(box, t("admin.field_key"), el("input", { value: f.key, required: "", pattern: "[a-z0-9_]{1,40}", class: "field-key" }));
      var kind = field(box, t("admin.field_type"), options(el("select", { class: "field-type" }), KINDS, f.type));
      var opts = field(box, t("admin.field_options"), el("input", { value: (f.options || []).join("、"), class: "field-options" }));
      var showOptions = function () { opts.parentNode.hidden = kind.value !== "select"; };
      kind.addEventListener("change", showOptions);
      showOptions();
      var required = check(box, t("admin.field_required"), f.required);
      box.appendChild(button(t("admin.delete"), function () { box.remove(); }, "danger"));
      box.read = function () {
        var out = { key: key.value.trim(), label: label.value.trim(), type: kind.value, required: required.checked };
        if (kind.value === "select") out.options = opts.value.split(/[,、]/).map(function (x) { return x.trim(); }).filter(Boolean);
        return out;
      };
      rows.appendChild(box);
    }
    c.form.fields.forEach(row);
    form.appendChild(button(t("admin.form_add_field"), function () { row({ key: "", label: "", type: "text", required: false }); }));
    form.appendChild(el("button", { type: "submit", class: "primary" }, t("admin.save")));
    edit.appendChild(form);
    var msg = statusLine(edit);
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      var fields = Array.prototype.map.call(rows.children, function (r) { return r.read(); });
      api("PUT", "/api/v1/channels/" + c.id + "/form", { title: title.value, thanks: thanks.value, fields: fields })
        .then(function () { msg.textContent = t("admin.saved"); return loadChannels(); }, failed(msg));
    });
  }

  /* ---- #agents ---- */
  function agents() {
    page(t("admin.agents"));
    var list = card();
    var inviteCard = card(t("admin.invite"));
    var invite = el("form", { id: "invite-form" });
    var inviteEmail = field(invite, t("inbox.email"), el("input", { type: "email", required: "" }));
    var inviteName = field(invite, t("admin.name"), el("input", { required: "" }));
    var inviteRole = field(invite, t("admin.role"), options(el("select"), roleChoices(), "agent"));
    invite.appendChild(el("p", { class: "hint" }, t("admin.invite_hint")));
    invite.appendChild(el("button", { type: "submit", class: "primary" }, t("admin.invite")));
    inviteCard.appendChild(invite);
    var inviteMsg = statusLine(inviteCard);
    var invited = el("div", { id: "invitations" });
    inviteCard.appendChild(invited);
    function loadInvitations() {
      api("GET", "/api/v1/agents/invitations").then(function (d) {
        invited.textContent = "";
        if (!d.invitations.length) return;
        invited.appendChild(el("h4", {}, t("admin.invitations")));
        invited.appendChild(table(t("admin.invitations"), [t("admin.name"), t("inbox.email"), t("admin.role"), t("admin.expires")], d.invitations, function (i) {
          return [i.name || "", i.email, roleName(i.role), M.time(i.expires_at)];
        }));
      });
    }
    invite.addEventListener("submit", function (e) {
      e.preventDefault();
      api("POST", "/api/v1/agents/invitations", { email: inviteEmail.value, name: inviteName.value, role: inviteRole.value })
        .then(function () { invite.reset(); inviteMsg.textContent = t("admin.invite_sent"); loadInvitations(); }, failed(inviteMsg));
    });
    loadInvitations();
    var formCard = card(t("admin.add_agent"));
    var form = el("form", { id: "agent-form" });
    var email = field(form, t("inbox.email"), el("input", { type: "email", required: "" }));
    var name = field(form, t("admin.name"), el("input", { required: "" }));
    var password = field(form, t("inbox.password"), el("input", { type: "password", minlength: "8", required: "", autocomplete: "new-password" }));
    var role = field(form, t("admin.role"), options(el("select"), roleChoices(), "agent"));
    form.appendChild(el("button", { type: "submit", class: "primary" }, t("admin.create")));
    formCard.appendChild(form);
    var msg = statusLine(formCard);
    function load() {
      api("GET", "/api/v1/agents").then(function (d) {
        list.textContent = "";
        list.appendChild(table(t("admin.agents"), [t("admin.name"), t("inbox.email"), t("admin.role"), t("admin.language"), t("admin.actions")], d.agents, function (a) {
          var actions = el("span");
          actions.appendChild(button(t("admin.edit"), function () { editAgent(a); }));
          if (a.id !== me.id) {
            actions.appendChild(button(a.disabled ? t("admin.enable") : t("admin.disable"), function () {
              api("POST", "/api/v1/agents/" + a.id + (a.disabled ? "/enable" : "/disable")).then(load, failed(msg));
            }));
            actions.appendChild(button(t("admin.delete"), function () {
              if (confirm(t("admin.confirm_delete_agent"))) api("DELETE", "/api/v1/agents/" + a.id).then(load, failed(msg));
            }, "danger"));
          }
          return [a.name, a.email, roleName(a.role) + (a.disabled ? " · " + t("admin.disabled") : ""), localeName(a.locale), actions];
        }));
      });
    }
    function editAgent(a) {
      var box = card(t("admin.edit") + ": " + a.email);
      var f = el("form", { class: "edit-agent" });
      var n = field(f, t("admin.name"), el("input", { value: a.name, required: "" }));
      var r = field(f, t("admin.role"), options(el("select"), roleChoices(), a.role));
      f.appendChild(el("button", { type: "submit", class: "primary" }, t("admin.save")));
      f.appendChild(button(t("admin.cancel"), function () { box.remove(); }));
      box.appendChild(f);
      var m = statusLine(box);
      f.addEventListener("submit", function (e) {
        e.preventDefault();
        api("PATCH", "/api/v1/agents/" + a.id, { name: n.value, role: r.value }).then(function () { box.remove(); load(); }, failed(m));
      });
      n.focus();
    }
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      api("POST", "/api/v1/agents", { email: email.value, name: name.value, password: password.value, role: role.value })
        .then(function () { form.reset(); msg.textContent = t("admin.saved"); load(); }, failed(msg));
    });
    load();
  }

  /* ---- #channels: new widget or e-mail channels; widget settings, embed code, identity verification ---- */
  function channelsPage() {
    page(t("admin.channels"));
    var create = card(t("admin.add_channel"));
    var cform = el("form", { id: "channel-create" });
    var cname = field(cform, t("admin.name"), el("input", { required: "" }));
    var ckind = field(cform, t("admin.kind"), options(el("select", { id: "channel-kind" }), [["widget", t("admin.kind.widget")], ["email", t("admin.kind.email")], ["line", t("admin.kind.line")], ["instagram", t("admin.kind.instagram")], ["form", t("admin.kind.form")], ["api", t("admin.kind.api")]], "widget"));
    var caddress = field(cform, t("admin.email_address"), el("input", { type: "email", id: "channel-address" }));
    var addressRow = caddress.parentNode;
    addressRow.hidden = true;
    /* LINE: the Messaging API channel's secret and access token from the LINE Developers console. */
    var lineBox = el("div", { id: "line-fields", hidden: "" });
    lineBox.appendChild(el("p", { class: "hint" }, t("admin.line_help")));
    var lsecret = field(lineBox, t("admin.line_secret"), el("input", { type: "password", autocomplete: "off", id: "line-secret" }));
    var ltoken = field(lineBox, t("admin.line_token"), el("input", { type: "password", autocomplete: "off", id: "line-token" }));
    cform.appendChild(lineBox);
    /* Instagram: the Meta app's secret, a verify token of the shop's choosing, the page token. */
    var igBox = el("div", { id: "instagram-fields", hidden: "" });
    igBox.appendChild(el("p", { class: "hint" }, t("admin.instagram_help")));
    var igSecret = field(igBox, t("admin.instagram_secret"), el("input", { type: "password", autocomplete: "off", id: "ig-secret" }));
    var igVerify = field(igBox, t("admin.instagram_verify"), el("input", { autocomplete: "off", id: "ig-verify" }));
    var igToken = field(igBox, t("admin.instagram_token"), el("input", { type: "password", autocomplete: "off", id: "ig-token" }));
    cform.appendChild(igBox);
    ckind.addEventListener("change", function () {
      addressRow.hidden = ckind.value !== "email"; caddress.required = ckind.value === "email";
      lineBox.hidden = ckind.value !== "line"; lsecret.required = ltoken.required = ckind.value === "line";
      igBox.hidden = ckind.value !== "instagram"; igSecret.required = igVerify.required = igToken.required = ckind.value === "instagram";
    });
    cform.appendChild(el("button", { type: "submit", class: "primary" }, t("admin.create")));
    create.appendChild(cform);
    var cmsg = statusLine(create);
    cform.addEventListener("submit", function (e) {
      e.preventDefault();
      var body = { name: cname.value, kind: ckind.value };
      if (ckind.value === "email") body.email_address = caddress.value;
      if (ckind.value === "line") body.line = { channel_secret: lsecret.value, channel_access_token: ltoken.value };
      if (ckind.value === "instagram") body.instagram = { app_secret: igSecret.value, verify_token: igVerify.value, access_token: igToken.value };
      var token = null;
      api("POST", "/api/v1/channels", body).then(function (c) { current = c; token = c.api_token || null; return loadChannels(); }).then(function () {
        channelsPage();
        if (token) {
          var shown = card(t("admin.api_token"));
          shown.appendChild(el("p", {}, t("admin.api_token_once")));
          shown.appendChild(el("p", { class: "secret", id: "api-token" }, token));
        }
      }, failed(cmsg));
    });
    var headers = [t("admin.name"), t("admin.kind"), t("admin.key"), t("admin.identity")].concat(brands.length ? [t("brands.brand")] : []);
    main.appendChild(table(t("admin.channels"), headers, channels, function (c) {
      var row = [c.name, t("admin.kind." + c.kind), c.email_address || (c.kind === "api" ? "—" : c.public_key), c.kind === "widget" ? (c.identity_verification ? t("admin.on") : t("admin.off")) : "—"];
      return brands.length ? row.concat([c.brand_id ? brandName(c.brand_id) : t("brands.no_brand")]) : row;
    }));
    if (!current) return;
    channelPicker(channelsPage);
    var c = current, st = c.settings;
    if (brands.length) {
      var bcard = card(t("brands.channel_brand"));
      var bform = el("form", { id: "channel-brand" });
      var pairs = [["", t("brands.no_brand")]].concat(brands.map(function (b) { return [b.id, b.name]; }));
      var bpick = field(bform, t("brands.brand"), options(el("select"), pairs, c.brand_id || ""));
      bform.appendChild(el("button", { type: "submit", class: "primary" }, t("admin.save")));
      bcard.appendChild(bform);
      var bmsg = statusLine(bcard);
      bform.addEventListener("submit", function (e) {
        e.preventDefault();
        api("PUT", "/api/v1/channels/" + c.id + "/brand", { brand_id: bpick.value || null }).then(loadChannels).then(saved(bmsg), failed(bmsg));
      });
    }
    if (c.kind === "api") {
      var apiCard = card(t("admin.kind.api") + ": " + c.name);
      apiCard.appendChild(el("p", { class: "hint" }, t("admin.api_help")));
      return;
    }
    if (c.kind === "form") { formCard(c); return; }
    if (c.kind === "instagram") {
      var igCard = card(t("admin.kind.instagram") + ": " + c.name);
      igCard.appendChild(el("p", { class: "hint" }, t("admin.instagram_webhook_help")));
      igCard.appendChild(el("pre", { class: "embed", id: "instagram-webhook" }, c.instagram.webhook_url));
      return;
    }
    if (c.kind === "line") {
      var lineCard = card(t("admin.kind.line") + ": " + c.name);
      lineCard.appendChild(el("p", { class: "hint" }, t("admin.line_webhook_help")));
      lineCard.appendChild(el("pre", { class: "embed", id: "line-webhook" }, c.line.webhook_url));
      return;
    }
    if (c.kind === "email") {
      var mail = card(t("admin.kind.email") + ": " + c.name);
      mail.appendChild(el("p", { class: "address" }, c.email_address));
      mail.appendChild(el("p", { class: "hint" }, t("admin.email_help")));
      mailboxCard(c);
      return;
    }
    var s = card(t("admin.widget") + ": " + c.name);
    var form = el("form", { "data-channel": c.id });
    var name = field(form, t("admin.name"), el("input", { value: c.name, required: "" }));
    var color = field(form, t("admin.color"), el("input", { type: "color", value: st.color }));
    var position = field(form, t("admin.position"), options(el("select"), [["right", t("admin.position.right")], ["left", t("admin.position.left")]], st.position));
    var prechat = field(form, t("admin.prechat"), options(el("select"), [["off", t("admin.prechat.off")], ["optional", t("admin.prechat.optional")], ["required", t("admin.prechat.required")]], st.prechat));
    var gja = field(form, t("admin.greeting_ja"), textarea(st.greeting_ja));
    var gen = field(form, t("admin.greeting_en"), textarea(st.greeting_en));
    var show = field(form, t("admin.show_on"), textarea(st.show_on.join("\n"), 3));
    var hide = field(form, t("admin.hide_on"), textarea(st.hide_on.join("\n"), 3));
    form.appendChild(el("button", { type: "submit", class: "primary" }, t("admin.save")));
    s.appendChild(form);
    var msg = statusLine(s);
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      api("PATCH", "/api/v1/channels/" + c.id, { name: name.value, settings: {
        color: color.value, position: position.value, prechat: prechat.value, greeting_ja: gja.value, greeting_en: gen.value,
        show_on: lines(show.value), hide_on: lines(hide.value)
      } }).then(function () { msg.textContent = t("admin.saved"); return loadChannels(); }, failed(msg));
    });
    var embed = card(t("admin.embed"));
    embed.appendChild(el("pre", { class: "embed" }, '<script src="' + location.origin + '/widget.js" data-channel="' + c.public_key + '" async></script>'));
    embed.appendChild(el("p", { class: "hint" }, t("admin.help_center") + ": " + location.origin + "/help/" + c.public_key));
    /* The widget as customers see it, with the saved settings (the hosted chat page). */
    embed.appendChild(el("a", { href: "/chat/" + c.public_key, target: "_blank", rel: "noopener", class: "preview-link" }, t("admin.preview")));
    var idv = card(t("admin.identity"));
    idv.appendChild(el("p", { class: "hint" }, t("admin.identity_help")));
    var shown = el("pre", { class: "secret", hidden: "" });
    var imsg = statusLine(idv);
    idv.appendChild(button(c.identity_verification ? t("admin.identity_rotate") : t("admin.identity_on"), function () {
      api("POST", "/api/v1/channels/" + c.id + "/identity-secret").then(function (d) {
        shown.textContent = d.secret;
        shown.removeAttribute("hidden");
        imsg.textContent = t("admin.identity_shown_once");
        return loadChannels();
      }, failed(imsg));
    }, "primary"));
    if (c.identity_verification) {
      idv.appendChild(button(t("admin.identity_off"), function () {
        api("DELETE", "/api/v1/channels/" + c.id + "/identity-secret").then(loadChannels).then(channelsPage, failed(imsg));
      }));
    }
    idv.appendChild(shown);
  }

  /* An e-mail channel's IMAP mailbox: connect (the server tries the login first) or disconnect. */
  function mailboxCard(c) {
    var box = card(t("admin.imap"));
    var m = c.imap;
    box.appendChild(el("p", { class: "hint" }, m ? t("admin.imap_connected").replace("{who}", m.user + "@" + m.host + ":" + m.port + " / " + m.folder) : t("admin.imap_help")));
    var form = el("form", { id: "imap-form" });
    var host = field(form, t("admin.imap_host"), el("input", { required: "", value: m ? m.host : "" }));
    var port = field(form, t("admin.imap_port"), el("input", { type: "number", min: "1", max: "65535", required: "", value: m ? String(m.port) : "993" }));
    var tls = field(form, t("admin.imap_tls"), options(el("select"), [["tls", "TLS (993)"], ["starttls", "STARTTLS (143)"], ["none", t("admin.imap_tls_none")]], m ? m.tls : "tls"));
    var user = field(form, t("admin.imap_user"), el("input", { required: "", autocomplete: "off", value: m ? m.user : "" }));
    var password = field(form, t("admin.imap_password"), el("input", { type: "password", required: "", autocomplete: "new-password" }));
    var folder = field(form, t("admin.imap_folder"), el("input", { required: "", value: m ? m.folder : "INBOX" }));
    form.appendChild(el("button", { type: "submit", class: "primary" }, t("admin.imap_connect")));
    box.appendChild(form);
    var msg = statusLine(box);
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      msg.textContent = t("admin.imap_trying");
      api("PUT", "/api/v1/channels/" + c.id + "/imap", { host: host.value, port: Number(port.value), tls: tls.value,
        user: user.value, password: password.value, folder: folder.value })
        .then(function (updated) { current = updated; return loadChannels(); }).then(channelsPage, failed(msg));
    });
    if (m) {
      box.appendChild(button(t("admin.imap_disconnect"), function () {
        api("DELETE", "/api/v1/channels/" + c.id + "/imap").then(loadChannels).then(channelsPage, failed(msg));
      }, "danger"));
    }
  }

  /* ---- #hours: a weekly grid with several periods a day, closed days, auto-replies ---- */
  function hours() {
    page(t("admin.hours"));
    if (!current) return;
    channelPicker(hours);
    var c = current;
    api("GET", "/api/v1/channels/" + c.id + "/automation").then(function (a) {
      var form = el("form", { "data-automation": c.id });
      var week = el("fieldset", { class: "week" });
      week.appendChild(el("legend", {}, t("admin.weekly")));
      var periods = {};
      DAYS.forEach(function (d) { periods[d] = []; });
      a.hours.weekly.forEach(function (s) { if (periods[s.day]) periods[s.day].push({ start: s.start, end: s.end }); });
      var grid = el("div", { class: "days" });
      week.appendChild(grid);
      function drawDay(d) {
        var row = el("div", { class: "day", "data-day": d });
        row.appendChild(el("span", { class: "day-name" }, t("admin.day." + d)));
        var spans = el("span", { class: "spans" });
        if (!periods[d].length) spans.appendChild(el("span", { class: "closed" }, t("admin.closed")));
        periods[d].forEach(function (p, i) {
          var wrap = el("span", { class: "period" });
          var from = el("input", { type: "time", value: p.start, "aria-label": t("admin.day." + d) + " " + t("admin.from") + " " + (i + 1), required: "" });
          var to = el("input", { type: "time", value: p.end, "aria-label": t("admin.day." + d) + " " + t("admin.to") + " " + (i + 1), required: "" });
          from.addEventListener("change", function () { p.start = from.value; });
          to.addEventListener("change", function () { p.end = to.value; });
          wrap.appendChild(from);
          wrap.appendChild(document.createTextNode(" – "));
          wrap.appendChild(to);
          wrap.appendChild(button(t("admin.remove"), function () { periods[d].splice(i, 1); redraw(); }, "small"));
          spans.appendChild(wrap);
        });
        row.appendChild(spans);
        row.appendChild(button(t("admin.add_period"), function () {
          var last = periods[d][periods[d].length - 1];
          periods[d].push(last ? { start: last.end, end: "20:00" } : { start: "09:00", end: "18:00" });
          redraw();
        }, "small add-period"));
        return row;
      }
      function redraw() { grid.textContent = ""; DAYS.forEach(function (d) { grid.appendChild(drawDay(d)); }); }
      redraw();
      form.appendChild(week);
      var holidays = check(form, t("admin.closed_on_holidays"), a.hours.closed_on_holidays);
      var closed = field(form, t("admin.closed_days"), textarea(a.hours.closed_days.join("\n"), 3));
      var locale = field(form, t("admin.reply_locale"), options(el("select"), [["ja", "日本語"], ["en", "English"]], a.locale));
      function reply(key, label) {
        var box = el("fieldset", { class: "reply" });
        box.appendChild(el("legend", {}, label));
        var on = check(box, t("admin.enabled"), a[key].enabled);
        var ja = field(box, t("admin.text_ja"), textarea(a[key].ja));
        var en = field(box, t("admin.text_en"), textarea(a[key].en));
        form.appendChild(box);
        return function () { return { enabled: on.checked, ja: ja.value, en: en.value }; };
      }
      var greeting = reply("greeting", t("admin.greeting"));
      var expectation = reply("expectation", t("admin.expectation"));
      var after = field(form, t("admin.expect_after_secs"), el("input", { type: "number", min: "1", value: String(a.expect_after_secs) }));
      var away = reply("away", t("admin.away"));
      var email = check(form, t("admin.notify_email"), a.notify_email);
      var sms = check(form, t("admin.notify_sms"), a.notify_sms);
      var notifyAfter = field(form, t("admin.notify_after_secs"), el("input", { type: "number", min: "0", value: String(a.notify_after_secs) }));
      var nps = check(form, t("admin.nps"), a.nps);
      form.appendChild(el("button", { type: "submit", class: "primary" }, t("admin.save")));
      var s = card(c.name);
      s.appendChild(form);
      var msg = statusLine(s);
      form.addEventListener("submit", function (e) {
        e.preventDefault();
        var weekly = [];
        DAYS.forEach(function (d) { periods[d].forEach(function (p) { weekly.push({ day: d, start: p.start, end: p.end }); }); });
        api("PUT", "/api/v1/channels/" + c.id + "/automation", {
          locale: locale.value,
          hours: { weekly: weekly, closed_on_holidays: holidays.checked, closed_days: lines(closed.value) },
          greeting: greeting(), expectation: expectation(), expect_after_secs: Number(after.value), away: away(),
          bot: a.bot, notify_email: email.checked, notify_sms: sms.checked, notify_after_secs: Number(notifyAfter.value),
          nps: nps.checked
        }).then(function (updated) { a = updated; msg.textContent = t("admin.saved"); }, failed(msg));
      });
    });
  }

  /* ---- #bot: on/off and the button scenario as a tree of editable nodes ---- */
  function bot() {
    page(t("admin.bot"));
    if (!current) return;
    channelPicker(bot);
    var c = current;
    Promise.all([
      api("GET", "/api/v1/channels/" + c.id + "/automation"),
      api("GET", "/api/v1/channels/" + c.id + "/scenario"),
      api("GET", "/api/v1/channels/" + c.id + "/scenario/clicks"),
      api("GET", "/api/v1/articles")
    ]).then(function (r) {
      var automation = r[0], scenario = r[1], articles = r[3].articles;
      var clicks = {};
      r[2].forEach(function (x) { clicks[x.node_id] = x.clicks; });
      var onCard = card(c.name);
      var on = check(onCard, t("admin.bot_on"), automation.bot);
      var omsg = statusLine(onCard);
      on.addEventListener("change", function () {
        automation.bot = on.checked;
        api("PUT", "/api/v1/channels/" + c.id + "/automation", automation).then(saved(omsg), failed(omsg));
      });
      var tree = card(t("admin.scenario"));
      tree.appendChild(el("p", { class: "hint" }, t("admin.scenario_intro")));
      var holder = el("div", { class: "tree" });
      tree.appendChild(holder);
      var msg;
      function nodeIds() { return scenario.nodes.map(function (n) { return n.id; }); }
      function drawNode(n, depth, seen) {
        var box = el("fieldset", { class: "node", "data-node": n.id });
        box.style.marginLeft = Math.min(depth, 6) * 20 + "px";
        box.appendChild(el("legend", {}, n.id + (clicks[n.id] ? " · " + t("admin.clicks") + " " + clicks[n.id] : "")));
        var ja = field(box, t("admin.text_ja"), textarea(n.text_ja));
        ja.addEventListener("input", function () { n.text_ja = ja.value; });
        var en = field(box, t("admin.text_en"), textarea(n.text_en));
        en.addEventListener("input", function () { n.text_en = en.value; });
        var art = field(box, t("admin.node_article"), options(el("select"), [["", t("admin.no_article")]].concat(articles.map(function (a) { return [a.id, a.title]; })), n.article_id || ""));
        art.addEventListener("change", function () { n.article_id = art.value || null; });
        var ask = check(box, t("admin.node_ask_email"), n.ask_email);
        ask.addEventListener("change", function () { n.ask_email = ask.checked; });
        var hand = check(box, t("admin.node_handover"), n.handover);
        hand.addEventListener("change", function () { n.handover = hand.checked; });
        n.choices.forEach(function (ch, i) {
          var row = el("div", { class: "choice-row" });
          var lj = field(row, t("admin.choice_ja"), el("input", { value: ch.label_ja }));
          lj.addEventListener("input", function () { ch.label_ja = lj.value; });
          var le = field(row, t("admin.choice_en"), el("input", { value: ch.label_en || "" }));
          le.addEventListener("input", function () { ch.label_en = le.value; });
          var next = field(row, t("admin.choice_next"), options(el("select"), nodeIds().filter(function (id) { return id !== n.id; }).map(function (id) { return [id, id]; }), ch.next));
          next.addEventListener("change", function () { ch.next = next.value; draw(); });
          row.appendChild(button(t("admin.remove"), function () { n.choices.splice(i, 1); draw(); }, "small"));
          box.appendChild(row);
        });
        box.appendChild(button(t("admin.add_choice"), function () {
          var id = "node" + (scenario.nodes.length + 1);
          while (nodeIds().indexOf(id) >= 0) id += "x";
          scenario.nodes.push({ id: id, text_ja: "", text_en: "", article_id: null, ask_email: false, handover: false, choices: [] });
          n.choices.push({ label_ja: t("admin.new_choice"), label_en: "", next: id });
          draw();
        }, "small"));
        if (depth > 0) box.appendChild(button(t("admin.delete_node"), function () {
          scenario.nodes = scenario.nodes.filter(function (x) { return x !== n; });
          scenario.nodes.forEach(function (x) { x.choices = x.choices.filter(function (ch) { return ch.next !== n.id; }); });
          draw();
        }, "small danger"));
        holder.appendChild(box);
        seen[n.id] = true;
        n.choices.forEach(function (ch) {
          var child = scenario.nodes.filter(function (x) { return x.id === ch.next; })[0];
          if (child && !seen[child.id]) drawNode(child, depth + 1, seen);
        });
      }
      function draw() {
        holder.textContent = "";
        if (!scenario.nodes.length) {
          holder.appendChild(el("p", { class: "empty" }, t("admin.no_scenario")));
          holder.appendChild(button(t("admin.start_scenario"), function () {
            scenario.nodes.push({ id: "root", text_ja: t("admin.root_text"), text_en: "", article_id: null, ask_email: false, handover: false, choices: [] });
            draw();
          }, "primary"));
          return;
        }
        var seen = {};
        drawNode(scenario.nodes[0], 0, seen);
        scenario.nodes.forEach(function (n) { if (!seen[n.id]) drawNode(n, 1, seen); });
        json.value = JSON.stringify(scenario, null, 2);
      }
      var advanced = el("details", { class: "advanced" });
      advanced.appendChild(el("summary", {}, t("admin.json")));
      var json = field(advanced, t("admin.scenario_help"), el("textarea", { rows: "10", spellcheck: "false" }));
      advanced.appendChild(button(t("admin.apply_json"), function () {
        try { scenario = JSON.parse(json.value); draw(); } catch (err) { msg.textContent = err.message; }
      }));
      tree.appendChild(button(t("admin.save"), function () {
        api("PUT", "/api/v1/channels/" + c.id + "/scenario", scenario).then(saved(msg), failed(msg));
      }, "primary save-scenario"));
      msg = statusLine(tree);
      tree.appendChild(advanced);
      draw();
    });
  }

  /* ---- #knowledge: articles and synonyms ---- */
  function knowledge() {
    page(t("admin.articles"));
    var list = card();
    var formCard = card(t("admin.article_edit"));
    var form = el("form", { id: "article-form" });
    var id = null;
    var title = field(form, t("admin.article_title"), el("input", { required: "", maxlength: "200" }));
    var category = field(form, t("admin.category"), el("input"));
    var locale = field(form, t("admin.article_locale"), options(el("select"), [["ja", "日本語"], ["en", "English"]], "ja"));
    var status = field(form, t("admin.status"), options(el("select"), [["draft", t("admin.status.draft")], ["published", t("admin.status.published")]], "draft"));
    var alternatives = field(form, t("admin.alternatives"), textarea("", 3));
    var body = field(form, t("admin.article_body"), el("textarea", { rows: "8", required: "" }));
    var brand = brandField(form, "");
    form.appendChild(el("button", { type: "submit", class: "primary" }, t("admin.save")));
    form.appendChild(button(t("admin.new_article"), function () { edit(null); }));
    formCard.appendChild(form);
    var msg = statusLine(formCard);
    function edit(a) {
      id = a ? a.id : null;
      title.value = a ? a.title : ""; category.value = a ? a.category : ""; locale.value = a ? a.locale : "ja";
      status.value = a ? a.status : "draft"; alternatives.value = a ? a.alternatives.join("\n") : ""; body.value = a ? a.body : "";
      if (brand) brand.value = (a && a.brand_id) || "";
      title.focus();
    }
    function load() {
      Promise.all([api("GET", "/api/v1/articles"), api("GET", "/api/v1/bot/rates?days=90")]).then(function (r) {
        var votes = {};
        r[1].articles.forEach(function (v) { votes[v.article_id] = v; });
        list.textContent = "";
        var headers = [t("admin.category"), t("admin.article_title"), t("admin.article_locale"), t("admin.status"), t("admin.helpful_votes")].concat(brands.length ? [t("brands.brand")] : [], [t("admin.actions")]);
        list.appendChild(table(t("admin.articles"), headers, r[0].articles, function (a) {
          var v = votes[a.id];
          var actions = el("span");
          actions.appendChild(button(t("admin.edit"), function () { edit(a); }));
          actions.appendChild(button(t("admin.delete"), function () { if (confirm(t("admin.confirm_delete"))) api("DELETE", "/api/v1/articles/" + a.id).then(load); }, "danger"));
          return [a.category, a.title, localeName(a.locale), t("admin.status." + a.status), v ? v.helpful + " / " + (v.helpful + v.not_helpful) : "—"]
            .concat(brands.length ? [brandName(a.brand_id)] : [], [actions]);
        }, t("admin.no_articles")));
      });
    }
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      var payload = { title: title.value, category: category.value, locale: locale.value, status: status.value, body: body.value, alternatives: lines(alternatives.value), brand_id: brand && brand.value ? brand.value : null };
      (id ? api("PUT", "/api/v1/articles/" + id, payload) : api("POST", "/api/v1/articles", payload))
        .then(function () { edit(null); msg.textContent = t("admin.saved"); load(); }, failed(msg));
    });
    load();
    var syn = card(t("admin.synonyms"));
    var sform = el("form");
    var text = field(sform, t("admin.synonyms_help"), textarea("", 5));
    sform.appendChild(el("button", { type: "submit", class: "primary" }, t("admin.save")));
    syn.appendChild(sform);
    var smsg = statusLine(syn);
    api("GET", "/api/v1/synonyms").then(function (d) { text.value = d.groups.map(function (g) { return g.join(", "); }).join("\n"); });
    sform.addEventListener("submit", function (e) {
      e.preventDefault();
      var groups = lines(text.value).map(function (l) { return l.split(/[,、]/).map(function (w) { return w.trim(); }).filter(Boolean); }).filter(function (g) { return g.length > 1; });
      api("PUT", "/api/v1/synonyms", { groups: groups }).then(saved(smsg), failed(smsg));
    });
  }

  /* ---- #review: the bot's quality loop ---- */
  function review() {
    page(t("admin.bot_review"));
    var rates = card(t("admin.rates_30"));
    var turns = card(t("admin.turns"));
    function pct(v) { return v === null || v === undefined ? "—" : Math.round(v * 100) + "%"; }
    function load() {
      api("GET", "/api/v1/bot/rates?days=30").then(function (r) {
        rates.textContent = "";
        rates.appendChild(el("h3", {}, t("admin.rates_30")));
        var dl = el("dl", { class: "rates" });
        [["accuracy", r.accuracy], ["resolution", r.resolution], ["satisfaction", r.satisfaction], ["helpful", r.helpful]].forEach(function (p) {
          dl.appendChild(el("dt", {}, t("admin." + p[0])));
          dl.appendChild(el("dd", {}, pct(p[1])));
        });
        rates.appendChild(dl);
        var withData = r.days.filter(function (d) { return d.asked > 0; });
        if (!withData.length) { rates.appendChild(el("p", { class: "empty" }, t("admin.no_turns_yet"))); return; }
        var chart = el("div", { class: "chart", role: "img", "aria-label": t("admin.resolution") + " " + withData.map(function (d) { return d.date + " " + pct(d.resolution); }).join(", ") });
        withData.forEach(function (d) {
          var col = el("span", { class: "col" });
          var bar = el("span", { class: "bar", title: d.date + " " + pct(d.resolution) });
          bar.style.height = Math.round((d.resolution || 0) * 80 + 2) + "px";
          col.appendChild(el("span", { class: "pct" }, pct(d.resolution)));
          col.appendChild(bar);
          col.appendChild(el("span", { class: "date" }, d.date.slice(5)));
          chart.appendChild(col);
        });
        rates.appendChild(chart);
      });
      Promise.all([api("GET", "/api/v1/bot/turns"), api("GET", "/api/v1/articles")]).then(function (res) {
        var articles = res[1].articles;
        turns.textContent = "";
        turns.appendChild(el("h3", {}, t("admin.turns")));
        turns.appendChild(table(t("admin.turns"), [t("admin.when"), t("admin.question"), t("admin.shown"), t("admin.outcome"), t("admin.review"), t("admin.actions")], res[0].turns, function (turn) {
          var td = el("span");
          td.appendChild(button(t("admin.correct"), function () { api("PATCH", "/api/v1/bot/turns/" + turn.id, { review: "correct" }).then(load); }));
          var pick = el("select", { "aria-label": t("admin.right_article") });
          pick.appendChild(el("option", { value: "" }, t("admin.wrong") + "…"));
          articles.forEach(function (a) { pick.appendChild(el("option", { value: a.id }, a.title)); });
          pick.addEventListener("change", function () {
            var body = { review: "wrong" };
            if (pick.value) body.correct_article_id = pick.value;
            api("PATCH", "/api/v1/bot/turns/" + turn.id, body).then(load);
          });
          td.appendChild(pick);
          return [M.time(turn.created_at), turn.query, (turn.shown[0] || {}).title || "—", t("admin.outcome." + turn.outcome),
            turn.review ? t("admin.review." + turn.review) : "", td];
        }, t("admin.no_turns_yet")));
      });
    }
    load();
  }

  /* ---- #replies: tags and templates ---- */
  function replies() {
    page(t("admin.replies"));
    var tags = card(t("admin.tags"));
    var tlist = el("div");
    tags.appendChild(tlist);
    var tform = el("form", { id: "tag-form" });
    var tname = field(tform, t("admin.name"), el("input", { required: "", maxlength: "50" }));
    tform.appendChild(el("button", { type: "submit", class: "primary" }, t("admin.create")));
    tags.appendChild(tform);
    var tmsg = statusLine(tags);
    function loadTags() {
      api("GET", "/api/v1/tags").then(function (d) {
        tlist.textContent = "";
        tlist.appendChild(table(t("admin.tags"), [t("admin.name"), t("admin.tag_uses"), t("admin.actions")], d.tags, function (x) {
          return [x.name, x.conversations, button(t("admin.delete"), function () { api("DELETE", "/api/v1/tags/" + x.id).then(loadTags); }, "danger")];
        }));
      });
    }
    tform.addEventListener("submit", function (e) {
      e.preventDefault();
      api("POST", "/api/v1/tags", { name: tname.value }).then(function () { tform.reset(); loadTags(); }, failed(tmsg));
    });
    loadTags();
    var tpl = card(t("admin.templates"));
    var plist = el("div");
    tpl.appendChild(plist);
    var pform = el("form", { id: "template-form" });
    var editing = null;
    var pname = field(pform, t("admin.name"), el("input", { required: "" }));
    var pbody = field(pform, t("admin.body"), el("textarea", { rows: "3", required: "" }));
    var pbrand = brandField(pform, "");
    pform.appendChild(el("button", { type: "submit", class: "primary" }, t("admin.save")));
    pform.appendChild(button(t("admin.cancel"), function () { editing = null; pform.reset(); }));
    tpl.appendChild(pform);
    var pmsg = statusLine(tpl);
    function loadTemplates() {
      api("GET", "/api/v1/templates").then(function (d) {
        plist.textContent = "";
        var headers = [t("admin.name"), t("admin.template_body")].concat(brands.length ? [t("brands.brand")] : [], [t("admin.actions")]);
        plist.appendChild(table(t("admin.templates"), headers, d.templates, function (x) {
          var actions = el("span");
          actions.appendChild(button(t("admin.edit"), function () {
            editing = x.id; pname.value = x.name; pbody.value = x.body;
            if (pbrand) pbrand.value = x.brand_id || "";
            pname.focus();
          }));
          actions.appendChild(button(t("admin.delete"), function () { api("DELETE", "/api/v1/templates/" + x.id).then(loadTemplates); }, "danger"));
          return [x.name, x.body].concat(brands.length ? [brandName(x.brand_id)] : [], [actions]);
        }));
      });
    }
    pform.addEventListener("submit", function (e) {
      e.preventDefault();
      var body = { name: pname.value, body: pbody.value, brand_id: pbrand && pbrand.value ? pbrand.value : null };
      (editing ? api("PATCH", "/api/v1/templates/" + editing, body) : api("POST", "/api/v1/templates", body))
        .then(function () { editing = null; pform.reset(); pmsg.textContent = t("admin.saved"); loadTemplates(); }, failed(pmsg));
    });
    loadTemplates();
  }

  /* ---- #routing: who sees what, teams, agents' capacity, categories, ordered rules ---- */
  function routing() {
    page(t("admin.area.routing"));
    var scopeCard = card(t("routing.scope"));
    var teamsCard = card(t("routing.teams"));
    var agentsCard = card(t("routing.capacity"));
    var slaCard = card(t("sla.policies"));
    var categoriesCard = card(t("classify.categories"));
    var rulesCard = card(t("routing.rules"));
    var formCard = card(t("routing.new_rule"));
    Promise.all([api("GET", "/api/v1/routing/settings"), api("GET", "/api/v1/agents"), api("GET", "/api/v1/templates"),
      api("GET", "/api/v1/sla/policies"), api("GET", "/api/v1/classification")]).then(function (r) {
      var agentsList = r[1].agents, templates = r[2].templates, policies = r[3], categories = r[4].categories;
      /* Categories, one per line as "name: keyword, keyword"; the last catches the rest. */
      var method = el("p", { class: "hint", id: "classifier-method" });
      function showMethod(c) {
        method.textContent = c.method === "model" ? t("classify.by_model").replace("{n}", c.examples) : t("classify.by_keywords");
      }
      showMethod(r[4].classifier);
      categoriesCard.appendChild(method);
      var cform = el("form", { id: "categories-form" });
      var ctext = field(cform, t("classify.lines"), el("textarea", { rows: "9" }));
      function asLines(list) { return list.map(function (c) { return c.name + (c.keywords.length ? ": " + c.keywords.join(", ") : ""); }).join("\n"); }
      ctext.value = asLines(categories);
      cform.appendChild(el("p", { class: "hint" }, t("classify.hint")));
      cform.appendChild(el("button", { type: "submit", class: "primary" }, t("admin.save")));
      cform.appendChild(button(t("classify.defaults"), function () {
        api("PUT", "/api/v1/classification", { categories: null }).then(savedCategories, failed(cmsg));
      }));
      categoriesCard.appendChild(cform);
      var cmsg = statusLine(categoriesCard);
      function savedCategories(c) {
        categories = c.categories; ctext.value = asLines(categories); showMethod(c.classifier);
        options(catSel, [["", t("routing.any")]].concat(categories.map(function (x) { return [x.name, x.name]; })), "");
        cmsg.textContent = t("admin.saved");
      }
      cform.addEventListener("submit", function (e) {
        e.preventDefault();
        var list = lines(ctext.value).map(function (line) {
          var at = line.search(/[:：]/);
          var name = (at < 0 ? line : line.slice(0, at)).trim();
          var words = at < 0 ? [] : line.slice(at + 1).split(/[,、]/).map(function (x) { return x.trim(); }).filter(Boolean);
          return { name: name, keywords: words };
        });
        api("PUT", "/api/v1/classification", { categories: list }).then(savedCategories, failed(cmsg));
      });
      /* SLA policies: business-hour minutes per priority, and a warning. */
      var slaList = el("div");
      slaCard.appendChild(slaList);
      var PRIOS = ["urgent", "high", "normal", "low"];
      function mins(v) { return v === null || v === undefined ? "—" : v + t("sla.minutes"); }
      function loadPolicies() {
        return api("GET", "/api/v1/sla/policies").then(function (list) {
          policies = list;
          slaList.textContent = "";
          slaList.appendChild(table(t("sla.policies"), [t("admin.name")].concat(PRIOS.map(function (p) { return t("inbox.priority." + p); }), [t("sla.warn")]), list, function (x) {
            return [x.name].concat(PRIOS.map(function (p) {
              var tg = x.policy[p] || {};
              return t("sla.first") + " " + mins(tg.first_response_mins) + " / " + t("sla.next") + " " + mins(tg.next_response_mins) + " / " + t("sla.resolution") + " " + mins(tg.resolution_mins);
            }), [x.policy.warn_before_mins ? x.policy.warn_before_mins + t("sla.minutes") + (x.policy.warn_email ? " · " + t("sla.by_email") : "") : "—"]);
          }, t("sla.none")));
        });
      }
      var pform = el("form", { id: "sla-form" });
      var pname = field(pform, t("admin.name"), el("input", { required: "", maxlength: "100" }));
      var inputs = {};
      PRIOS.forEach(function (p) {
        inputs[p] = [
          field(pform, t("inbox.priority." + p) + " · " + t("sla.first_mins"), el("input", { type: "number", min: "1", max: "525600" })),
          field(pform, t("inbox.priority." + p) + " · " + t("sla.next_mins"), el("input", { type: "number", min: "1", max: "525600" })),
          field(pform, t("inbox.priority." + p) + " · " + t("sla.resolution_mins"), el("input", { type: "number", min: "1", max: "525600" }))
        ];
      });
      var warn = field(pform, t("sla.warn_mins"), el("input", { type: "number", min: "0", max: "1440", value: "10" }));
      var warnEmail = check(pform, t("sla.warn_email"), false);
      pform.appendChild(el("p", { class: "hint" }, t("sla.hint")));
      pform.appendChild(el("button", { type: "submit", class: "primary" }, t("admin.create")));
      slaCard.appendChild(pform);
      var pmsg = statusLine(slaCard);
      pform.addEventListener("submit", function (e) {
        e.preventDefault();
        var policy = { warn_before_mins: Number(warn.value || 0), warn_email: warnEmail.checked };
        PRIOS.forEach(function (p) {
          var n = function (i) { var v = inputs[p][i].value; return v ? Number(v) : null; };
          policy[p] = { first_response_mins: n(0), next_response_mins: n(1), resolution_mins: n(2) };
        });
        api("POST", "/api/v1/sla/policies", { name: pname.value, policy: policy })
          .then(function () { pform.reset(); pmsg.textContent = t("admin.saved"); loadAll(); }, failed(pmsg));
      });
      function agentName(id) { var a = agentsList.filter(function (x) { return x.id === id; })[0]; return a ? a.name : id; }
      var scope = field(scopeCard, t("routing.scope"), options(el("select", { id: "agent-scope" }),
        [["all", t("routing.scope.all")], ["teams", t("routing.scope.teams")]], r[0].agent_scope));
      var silence = field(scopeCard, t("routing.reassign_after"), el("input", { type: "number", min: "1", max: "1440", id: "reassign-after",
        placeholder: t("routing.never"), value: r[0].reassign_after_mins === null ? "" : String(r[0].reassign_after_mins) }));
      scopeCard.appendChild(el("p", { class: "hint" }, t("routing.reassign_hint")));
      var smsg = statusLine(scopeCard);
      function saveSettings() {
        api("PUT", "/api/v1/routing/settings", { agent_scope: scope.value, reassign_after_mins: silence.value === "" ? null : Number(silence.value) })
          .then(saved(smsg), failed(smsg));
      }
      scope.addEventListener("change", saveSettings);
      silence.addEventListener("change", saveSettings);

      var teamList = el("div");
      teamsCard.appendChild(teamList);
      var tform = el("form", { id: "team-form" });
      var editing = null;
      var tname = field(tform, t("admin.name"), el("input", { required: "", maxlength: "50" }));
      var boxes = el("fieldset", { class: "members" });
      boxes.appendChild(el("legend", {}, t("routing.members")));
      var checks = agentsList.map(function (a) { return [a.id, check(boxes, a.name, false)]; });
      tform.appendChild(boxes);
      tform.appendChild(el("button", { type: "submit", class: "primary" }, t("admin.save")));
      tform.appendChild(button(t("admin.cancel"), function () { editing = null; tform.reset(); }));
      teamsCard.appendChild(tform);
      var tmsg = statusLine(teamsCard);
      var teams = [];
      function loadTeams() {
        return api("GET", "/api/v1/teams").then(function (list) {
          teams = list;
          teamList.textContent = "";
          teamList.appendChild(table(t("routing.teams"), [t("admin.name"), t("routing.members"), t("admin.actions")], list, function (x) {
            var actions = el("span", { class: "actions" });
            actions.appendChild(button(t("admin.edit"), function () {
              editing = x.id; tname.value = x.name;
              checks.forEach(function (c) { c[1].checked = x.members.indexOf(c[0]) >= 0; });
              tname.focus();
            }));
            actions.appendChild(button(t("admin.delete"), function () { api("DELETE", "/api/v1/teams/" + x.id).then(loadAll); }, "danger"));
            return [x.name, x.members.map(agentName).join("、") || "—", actions];
          }, t("routing.no_teams")));
        });
      }
      tform.addEventListener("submit", function (e) {
        e.preventDefault();
        var body = { name: tname.value, members: checks.filter(function (c) { return c[1].checked; }).map(function (c) { return c[0]; }) };
        (editing ? api("PUT", "/api/v1/teams/" + editing, body) : api("POST", "/api/v1/teams", body))
          .then(function () { editing = null; tform.reset(); tmsg.textContent = t("admin.saved"); loadAll(); }, failed(tmsg));
      });

      Promise.all(agentsList.map(function (a) { return api("GET", "/api/v1/agents/" + a.id + "/routing"); })).then(function (rs) {
        agentsCard.appendChild(table(t("routing.capacity"), [t("admin.name"), t("routing.capacity_col"), t("routing.away"), t("routing.online")], agentsList, function (a) {
          var i = agentsList.indexOf(a), st = rs[i];
          var cap = el("input", { type: "number", min: "0", max: "1000", "aria-label": t("routing.capacity_col") + " " + a.name, value: st.capacity === null ? "" : String(st.capacity), placeholder: t("routing.unlimited") });
          var away = el("input", { type: "checkbox", "aria-label": t("routing.away") + " " + a.name });
          away.checked = st.away;
          function save() { api("PUT", "/api/v1/agents/" + a.id + "/routing", { capacity: cap.value === "" ? null : Number(cap.value), away: away.checked }); }
          cap.addEventListener("change", save);
          away.addEventListener("change", save);
          return [a.name, cap, away, st.online ? t("routing.online_yes") : t("routing.online_no")];
        }));
      });

      var ruleList = el("div");
      rulesCard.appendChild(ruleList);
      function describe(rule) {
        var c = rule.conditions || {}, parts = [t("routing.when." + rule.when)];
        if (c.words && c.words.length) parts.push(t("routing.words") + ": " + c.words.join("・"));
        if (c.channel_ids && c.channel_ids.length) parts.push(t("routing.channel") + ": " + c.channel_ids.map(function (id) { var ch = channels.filter(function (x) { return x.id === id; })[0]; return ch ? ch.name : id; }).join("・"));
        if (c.in_hours === true) parts.push(t("routing.in_hours")); else if (c.in_hours === false) parts.push(t("routing.out_of_hours"));
        if (c.language) parts.push(t("routing.language") + ": " + c.language);
        if (c.categories && c.categories.length) parts.push(t("classify.category") + ": " + c.categories.join("・"));
        if (c.flagged) parts.push(t("routing.flagged"));
        if (c.complaint) parts.push(t("routing.complaint"));
        return parts.join(" · ");
      }
      function doing(rule) {
        var a = rule.actions || {}, parts = [];
        if (a.team_id) { var tm = teams.filter(function (x) { return x.id === a.team_id; })[0]; parts.push(t("routing.team") + ": " + (tm ? tm.name : a.team_id)); }
        if (a.assign) parts.push(t("routing.assign." + a.assign));
        if (a.agent_id) parts.push(t("routing.agent") + ": " + agentName(a.agent_id));
        if (a.priority) parts.push(t("inbox.priority") + ": " + t("inbox.priority." + a.priority));
        if (a.tags && a.tags.length) parts.push("#" + a.tags.join(" #"));
        if (a.template_id) { var tp = templates.filter(function (x) { return x.id === a.template_id; })[0]; parts.push(t("routing.template") + ": " + (tp ? tp.name : a.template_id)); }
        if (a.sla_policy_id) { var sp = policies.filter(function (x) { return x.id === a.sla_policy_id; })[0]; parts.push("SLA: " + (sp ? sp.name : a.sla_policy_id)); }
        return parts.join(" · ");
      }
      function loadRules() {
        api("GET", "/api/v1/routing/rules").then(function (rules) {
          ruleList.textContent = "";
          ruleList.appendChild(table(t("routing.rules"), [t("routing.order"), t("admin.name"), t("routing.conditions"), t("routing.actions"), t("routing.enabled"), t("admin.actions")], rules, function (x) {
            var i = rules.indexOf(x);
            function put(changes) {
              var body = { name: x.name, enabled: x.enabled, position: x.position, rule: x.rule };
              Object.keys(changes).forEach(function (k) { body[k] = changes[k]; });
              return api("PUT", "/api/v1/routing/rules/" + x.id, body);
            }
            /* Moving swaps places with the neighbour. */
            function move(j) {
              var other = rules[j];
              Promise.all([put({ position: other.position }), api("PUT", "/api/v1/routing/rules/" + other.id,
                { name: other.name, enabled: other.enabled, position: x.position, rule: other.rule })]).then(loadRules);
            }
            var on = el("input", { type: "checkbox", "aria-label": t("routing.enabled") + " " + x.name });
            on.checked = x.enabled;
            on.addEventListener("change", function () { put({ enabled: on.checked }).then(loadRules); });
            var actions = el("span", { class: "actions" });
            if (i > 0) actions.appendChild(button("↑", function () { move(i - 1); }));
            if (i < rules.length - 1) actions.appendChild(button("↓", function () { move(i + 1); }));
            actions.appendChild(button(t("admin.delete"), function () { api("DELETE", "/api/v1/routing/rules/" + x.id).then(loadRules); }, "danger"));
            return [String(i + 1), x.name, describe(x.rule), doing(x.rule), on, actions];
          }, t("routing.no_rules")));
        });
      }
      var rform = el("form", { id: "rule-form" });
      var rname = field(rform, t("admin.name"), el("input", { required: "", maxlength: "100" }));
      var when = field(rform, t("routing.when"), options(el("select"), [["created", t("routing.when.created")], ["customer_message", t("routing.when.customer_message")]], "created"));
      var words = field(rform, t("routing.words_input"), el("input", { placeholder: "返品, 交換" }));
      var channel = field(rform, t("routing.channel"), options(el("select"), [["", t("routing.any")]].concat(channels.map(function (c) { return [c.id, c.name]; })), ""));
      var hoursSel = field(rform, t("routing.hours"), options(el("select"), [["", t("routing.any")], ["in", t("routing.in_hours")], ["out", t("routing.out_of_hours")]], ""));
      var lang = field(rform, t("routing.language"), options(el("select"), [["", t("routing.any")], ["ja", "日本語"], ["en", "English"]], ""));
      var catSel = field(rform, t("classify.category"), options(el("select"), [["", t("routing.any")]].concat(categories.map(function (x) { return [x.name, x.name]; })), ""));
      var flagged = check(rform, t("routing.flagged"), false);
      var complaint = check(rform, t("routing.complaint"), false);
      var teamSel = field(rform, t("routing.team"), el("select"));
      var assign = field(rform, t("routing.assign"), options(el("select"), [["", t("routing.assign.none")], ["round_robin", t("routing.assign.round_robin")], ["least_busy", t("routing.assign.least_busy")]], ""));
      var agentSel = field(rform, t("routing.agent"), options(el("select"), [["", t("routing.any")]].concat(agentsList.map(function (a) { return [a.id, a.name]; })), ""));
      var prio = field(rform, t("inbox.priority"), options(el("select"), [["", t("routing.unchanged")]].concat(["low", "normal", "high", "urgent"].map(function (p) { return [p, t("inbox.priority." + p)]; })), ""));
      var tagsIn = field(rform, t("routing.tags_input"), el("input", {}));
      var tpl = field(rform, t("routing.template"), options(el("select"), [["", t("routing.none")]].concat(templates.map(function (x) { return [x.id, x.name]; })), ""));
      var slaSel = field(rform, t("sla.apply"), el("select"));
      rform.appendChild(el("button", { type: "submit", class: "primary" }, t("admin.create")));
      formCard.appendChild(rform);
      var rmsg = statusLine(formCard);
      function list(v) { return v.split(/[,、]/).map(function (x) { return x.trim(); }).filter(Boolean); }
      rform.addEventListener("submit", function (e) {
        e.preventDefault();
        var conditions = {}, actions = {};
        if (list(words.value).length) conditions.words = list(words.value);
        if (channel.value) conditions.channel_ids = [channel.value];
        if (hoursSel.value) conditions.in_hours = hoursSel.value === "in";
        if (lang.value) conditions.language = lang.value;
        if (catSel.value) conditions.categories = [catSel.value];
        if (flagged.checked) conditions.flagged = true;
        if (complaint.checked) conditions.complaint = true;
        if (teamSel.value) actions.team_id = teamSel.value;
        if (assign.value) actions.assign = assign.value;
        if (agentSel.value) actions.agent_id = agentSel.value;
        if (prio.value) actions.priority = prio.value;
        if (list(tagsIn.value).length) actions.tags = list(tagsIn.value);
        if (tpl.value) actions.template_id = tpl.value;
        if (slaSel.value) actions.sla_policy_id = slaSel.value;
        api("POST", "/api/v1/routing/rules", { name: rname.value, rule: { when: when.value, conditions: conditions, actions: actions } })
          .then(function () { rform.reset(); rmsg.textContent = t("admin.saved"); loadRules(); }, failed(rmsg));
      });
      function loadAll() {
        Promise.all([loadTeams(), loadPolicies()]).then(function () {
          options(teamSel, [["", t("routing.unchanged")]].concat(teams.map(function (x) { return [x.id, x.name]; })), "");
          options(slaSel, [["", t("routing.none")]].concat(policies.map(function (x) { return [x.id, x.name]; })), "");
          loadRules();
        });
      }
      loadAll();
    });
  }

  /* ---- #webhooks: signed outgoing webhooks, their delivery log, a notice when one switched off ---- */
  function webhooks() {
    page(t("admin.area.webhooks"));
    var listCard = card(t("webhooks.list"));
    var formCard = card(t("webhooks.new"));
    var logCard = card(t("webhooks.log"));
    var EVENTS = ["conversation.created", "conversation.updated", "message.created", "contact.updated"];
    var list = el("div");
    listCard.appendChild(list);
    var log = el("div", { id: "webhook-log" });
    logCard.appendChild(log);
    function showLog(hook) {
      api("GET", "/api/v1/webhooks/" + hook.id + "/attempts").then(function (r) {
        log.textContent = "";
        log.appendChild(el("p", { class: "hint" }, hook.url));
        log.appendChild(table(t("webhooks.log"), [t("webhooks.time"), t("webhooks.event"), t("webhooks.result"), t("webhooks.duration")], r.attempts, function (a) {
          return [M.time(a.created_at), a.event_type, a.ok ? String(a.status_code) : (a.status_code ? a.status_code + " · " : "") + (a.error || ""), a.duration_ms + " ms"];
        }, t("webhooks.no_attempts")));
      });
    }
    function load() {
      api("GET", "/api/v1/webhooks").then(function (hooks) {
        list.textContent = "";
        hooks.filter(function (h) { return h.disabled_reason; }).forEach(function (h) {
          list.appendChild(el("p", { class: "notice", role: "alert" }, t("webhooks.disabled").replace("{url}", h.url).replace("{why}", h.disabled_reason)));
        });
        list.appendChild(table(t("webhooks.list"), ["URL", t("webhooks.events"), t("routing.enabled"), t("admin.actions")], hooks, function (h) {
          var actions = el("span", { class: "actions" });
          actions.appendChild(button(t("webhooks.show_log"), function () { showLog(h); }));
          actions.appendChild(button(h.enabled ? t("webhooks.turn_off") : t("webhooks.turn_on"), function () {
            api("PUT", "/api/v1/webhooks/" + h.id, { url: h.url, events: h.events, include_private: h.include_private, enabled: !h.enabled }).then(load);
          }));
          actions.appendChild(button(t("admin.delete"), function () { api("DELETE", "/api/v1/webhooks/" + h.id).then(load); }, "danger"));
          return [el("span", { class: "url" }, h.url), h.events.join(", ") + (h.include_private ? " · " + t("webhooks.with_notes") : ""), h.enabled ? "✓" : "—", actions];
        }, t("webhooks.none")));
      });
    }
    var form = el("form", { id: "webhook-form" });
    var url = field(form, "URL", el("input", { type: "url", required: "", maxlength: "2000", placeholder: "https://example.jp/hooks/madoguchi" }));
    var boxes = EVENTS.map(function (e) { return [e, check(form, e, e !== "conversation.updated")]; });
    var notes = check(form, t("webhooks.include_private"), false);
    form.appendChild(el("p", { class: "hint" }, t("webhooks.hint")));
    form.appendChild(el("button", { type: "submit", class: "primary" }, t("admin.create")));
    formCard.appendChild(form);
    var msg = statusLine(formCard);
    var secretBox = el("p", { class: "secret", id: "webhook-secret" });
    formCard.appendChild(secretBox);
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      var events = boxes.filter(function (b) { return b[1].checked; }).map(function (b) { return b[0]; });
      api("POST", "/api/v1/webhooks", { url: url.value, events: events, include_private: notes.checked }).then(function (hook) {
        form.reset();
        msg.textContent = t("admin.saved");
        secretBox.textContent = t("webhooks.secret").replace("{secret}", hook.secret);
        load();
      }, failed(msg));
    });
    load();
  }

  /* ---- #privacy: what is masked in customers' messages, and how long conversations are kept ---- */
  function privacy() {
    page(t("admin.area.privacy"));
    var maskCard = card(t("privacy.masking"));
    var keepCard = card(t("privacy.retention"));
    api("GET", "/api/v1/privacy/masking").then(function (rules) {
      var form = el("form", { id: "masking-form" });
      var boxes = ["card", "my_number", "password"].map(function (k) { return [k, check(form, t("privacy.mask." + k), rules[k])]; });
      form.appendChild(el("button", { type: "submit", class: "primary" }, t("admin.save")));
      maskCard.appendChild(form);
      var msg = statusLine(maskCard);
      form.addEventListener("submit", function (e) {
        e.preventDefault();
        var body = {};
        boxes.forEach(function (b) { body[b[0]] = b[1].checked; });
        api("PUT", "/api/v1/privacy/masking", body).then(saved(msg), failed(msg));
      });
    });
    api("GET", "/api/v1/privacy/retention").then(function (r) {
      var form = el("form", { id: "retention-form" });
      function days(label, value) {
        return field(form, label, el("input", { type: "number", min: "1", max: "3650", value: value ? String(value) : "", placeholder: t("privacy.forever") }));
      }
      var conv = days(t("privacy.conversations_days"), r.resolved_conversations_days);
      var removal = field(form, t("privacy.removal"), options(el("select"), [["delete", t("privacy.removal.delete")], ["redact", t("privacy.removal.redact")]], r.removal));
      var files = days(t("privacy.attachments_days"), r.attachments_days);
      form.appendChild(el("p", { class: "hint" }, t("privacy.retention_hint")));
      form.appendChild(el("button", { type: "submit", class: "primary" }, t("admin.save")));
      keepCard.appendChild(form);
      var msg = statusLine(keepCard);
      form.addEventListener("submit", function (e) {
        e.preventDefault();
        var n = function (input) { return input.value ? Number(input.value) : null; };
        api("PUT", "/api/v1/privacy/retention", { resolved_conversations_days: n(conv), removal: removal.value, attachments_days: n(files) }).then(saved(msg), failed(msg));
      });
    });
  }

  /* ---- #audit: the audit log, searchable, newest first, with the chain check and CSV ---- */
  function audit() {
    page(t("admin.area.audit"));
    var chainCard = card();
    var filterCard = card(t("audit.filter"));
    var listCard = card();
    var form = el("form", { id: "audit-form", class: "inline-form" });
    var actor = field(form, t("audit.actor"), el("input", { type: "text", maxlength: "200", placeholder: "agent:…" }));
    var action = field(form, t("audit.action"), el("input", { type: "text", maxlength: "100", placeholder: "contact." }));
    var target = field(form, t("audit.target"), el("input", { type: "text", maxlength: "200" }));
    form.appendChild(el("button", { type: "submit", class: "primary" }, t("audit.search")));
    var csv = el("a", { class: "csv", download: "" }, t("audit.csv"));
    form.appendChild(csv);
    filterCard.appendChild(form);
    var rows = [], names = {};
    /* `agent:ID` as the agent's name (the id stays in the tooltip). */
    function who(text) {
      var name = text.indexOf("agent:") === 0 ? names[text.slice(6)] : null;
      return name ? el("span", { title: text, class: "nowrap" }, name) : el("span", { class: "id" }, text);
    }
    function query(before) {
      var q = [];
      [["actor", actor], ["action", action], ["target", target]].forEach(function (f) {
        if (f[1].value.trim()) q.push(f[0] + "=" + encodeURIComponent(f[1].value.trim()));
      });
      if (before) q.push("before_seq=" + before);
      return q;
    }
    function render(r) {
      chainCard.textContent = "";
      var ok = r.chain.verified;
      chainCard.appendChild(el("p", { class: ok ? "notice ok" : "notice", role: ok ? "status" : "alert", id: "audit-chain" },
        ok ? t("audit.intact").replace("{n}", r.chain.events) : t("audit.broken").replace("{seq}", r.chain.first_broken_seq)));
      chainCard.appendChild(el("p", { class: "hint" }, t("audit.verify_hint") + " madoguchi audit verify --workspace " + me.workspace_id));
      rows = rows.concat(r.events);
      listCard.textContent = "";
      listCard.appendChild(table(t("admin.area.audit"), ["#", t("audit.time"), t("audit.actor"), t("audit.action"), t("audit.target"), t("audit.detail")], rows, function (e) {
        return [String(e.seq), el("span", { class: "nowrap" }, M.time(e.created_at)), who(e.actor), el("span", { class: "nowrap" }, e.action), who(e.target), el("code", { class: "detail" }, e.detail)];
      }, t("audit.none")));
      if (r.next_before_seq) {
        listCard.appendChild(button(t("audit.more"), function () { load(r.next_before_seq); }));
      }
    }
    function load(before) {
      if (!before) rows = [];
      var q = query(before);
      csv.setAttribute("href", "/api/v1/audit?" + query().concat(["format=csv", "limit=500"]).join("&"));
      api("GET", "/api/v1/audit" + (q.length ? "?" + q.join("&") : "")).then(render);
    }
    form.addEventListener("submit", function (e) { e.preventDefault(); load(); });
    api("GET", "/api/v1/agents").then(function (d) {
      d.agents.forEach(function (a) { names[a.id] = a.name; });
    }).then(function () { load(); }, function () { load(); });
  }

  /* ---- #harassment: the policy and guideline, the review queue, blocked senders, counts ---- */
  function categoryName(c) { return t("harassment.category." + c); }
  function harassment() {
    page(t("admin.area.harassment"));
    var policyCard = card(t("harassment.policy"));
    var queue = card(t("harassment.queue"));
    var blocked = card(t("harassment.blocked"));
    var counts = card(t("harassment.counts"));
    api("GET", "/api/v1/harassment/policy").then(function (p) {
      var form = el("form", { id: "harassment-form" });
      var guideline = field(form, t("harassment.guideline"), textarea(p.guideline, 8));
      guideline.setAttribute("maxlength", "20000");
      form.appendChild(el("p", { class: "hint" }, t("harassment.guideline_hint")));
      var mask = check(form, t("harassment.mask"), p.mask);
      var replyOn = check(form, t("harassment.reply_on"), p.reply.enabled);
      var replyJa = field(form, t("harassment.reply") + "（日本語）", textarea(p.reply.ja, 3));
      var replyEn = field(form, t("harassment.reply") + " (English)", textarea(p.reply.en, 3));
      var severity = field(form, t("harassment.end_at_severity"), options(el("select"),
        [["0", t("harassment.never")], ["1", "1"], ["2", "2"], ["3", "3"]], String(p.end_at_severity)));
      var after = field(form, t("harassment.end_after"), el("input", { type: "number", min: "0", max: "100", value: String(p.end_after) }));
      var days = field(form, t("harassment.block_days"), el("input", { type: "number", min: "0", max: "3650", value: String(p.block_days) }));
      var add = field(form, t("harassment.add_terms"), textarea(p.add_terms.join("\n"), 3));
      var suppress = field(form, t("harassment.suppress_terms"), textarea(p.suppress_terms.join("\n"), 3));
      form.appendChild(el("button", { type: "submit", class: "primary" }, t("admin.save")));
      policyCard.appendChild(form);
      var msg = statusLine(policyCard);
      form.addEventListener("submit", function (e) {
        e.preventDefault();
        api("PUT", "/api/v1/harassment/policy", {
          mask: mask.checked, reply: { enabled: replyOn.checked, ja: replyJa.value, en: replyEn.value },
          end_at_severity: Number(severity.value), end_after: Number(after.value), block_days: Number(days.value),
          add_terms: lines(add.value), suppress_terms: lines(suppress.value), guideline: guideline.value
        }).then(saved(msg), failed(msg));
      });
    });
    function flagText(m) {
      var f = m.flag || {};
      return (f.categories || []).map(categoryName).join("・") + (f.severity ? " · " + t("harassment.severity") + " " + f.severity : "") +
        (f.source === "report" ? " · " + t("harassment.reported") + ": " + (f.reasons || []).join(" ") : "");
    }
    function loadQueue() {
      api("GET", "/api/v1/harassment/reviews?all=true&limit=50").then(function (items) {
        queue.textContent = "";
        queue.appendChild(el("h3", {}, t("harassment.queue")));
        queue.appendChild(table(t("harassment.queue"), [t("admin.when"), t("harassment.customer"), t("harassment.flag"), t("harassment.text"), t("harassment.decision"), t("admin.actions")], items, function (item) {
          var m = item.message;
          var text = el("span", { class: "masked-text" }, m.masked ? t("harassment.hidden") : m.body);
          var actions = el("span", { class: "actions" });
          if (m.masked) actions.appendChild(button(t("harassment.reveal"), function () {
            api("POST", "/api/v1/messages/" + m.id + "/reveal").then(function (r) { text.textContent = r.body; });
          }));
          ["confirmed", "dismissed"].forEach(function (d) {
            if (m.flag_decision !== d) actions.appendChild(button(t("harassment.decision." + d), function () {
              api("POST", "/api/v1/harassment/reviews/" + m.id, { decision: d }).then(loadQueue);
            }, d === "confirmed" ? "danger" : ""));
          });
          actions.appendChild(el("a", { href: "/api/v1/conversations/" + m.conversation_id + "/evidence?format=html", target: "_blank", rel: "noopener" }, t("harassment.evidence")));
          return [M.time(m.created_at), item.contact_name || t("inbox.visitor") + " " + item.contact_id.slice(-6), flagText(m), text,
            m.flag_decision ? t("harassment.decision." + m.flag_decision) : t("harassment.pending"), actions];
        }, t("harassment.queue_empty")));
      });
    }
    function loadBlocks() {
      api("GET", "/api/v1/harassment/blocks").then(function (blocks) {
        blocked.textContent = "";
        blocked.appendChild(el("h3", {}, t("harassment.blocked")));
        blocked.appendChild(table(t("harassment.blocked"), [t("harassment.who"), t("harassment.reason"), t("harassment.until"), t("admin.actions")], blocks, function (b) {
          var who = t("harassment.kind." + b.kind) + ": " + (b.contact_name || (b.kind === "visitor" ? b.value.slice(0, 10) + "…" : b.value));
          return [who, b.reason, b.until_at ? M.time(b.until_at) : t("harassment.until_lifted"),
            button(t("harassment.unblock"), function () { api("DELETE", "/api/v1/harassment/blocks/" + b.id).then(loadBlocks); })];
        }, t("harassment.none_blocked")));
        var form = el("form", { id: "block-form", class: "inline" });
        var kind = field(form, t("harassment.kind"), options(el("select"), ["email", "ip"].map(function (k) { return [k, t("harassment.kind." + k)]; }), "email"));
        var value = field(form, t("harassment.value"), el("input", { required: "", maxlength: "254" }));
        var reason = field(form, t("harassment.reason"), el("input", { required: "", maxlength: "500" }));
        var days = field(form, t("harassment.days"), el("input", { type: "number", min: "1", max: "3650", placeholder: t("harassment.until_lifted") }));
        form.appendChild(el("button", { type: "submit", class: "primary" }, t("harassment.block")));
        blocked.appendChild(form);
        var msg = statusLine(blocked);
        form.addEventListener("submit", function (e) {
          e.preventDefault();
          var body = { kind: kind.value, value: value.value, reason: reason.value };
          if (days.value) body.days = Number(days.value);
          api("POST", "/api/v1/harassment/blocks", body).then(loadBlocks, failed(msg));
        });
      });
    }
    api("GET", "/api/v1/harassment/stats?days=30").then(function (st) {
      var dates = Object.keys(st.days).sort().reverse();
      var cats = Object.keys(st.totals).sort();
      counts.appendChild(el("p", {}, t("harassment.pending_count").replace("{n}", st.pending)));
      counts.appendChild(table(t("harassment.counts"), [t("harassment.day")].concat(cats.map(categoryName)), dates, function (d) {
        return [d].concat(cats.map(function (c) { return st.days[d][c] || 0; }));
      }, t("harassment.no_flags")));
    });
    loadQueue();
    loadBlocks();
  }

  var PAGES = { general: general, brands: brandsPage, agents: agents, channels: channelsPage, hours: hours, bot: bot, knowledge: knowledge, review: review, replies: replies, routing: routing, harassment: harassment, privacy: privacy, webhooks: webhooks, audit: audit };
  function show() {
    var area = location.hash.slice(1);
    if (AREAS.indexOf(area) < 0) area = "general";
    Array.prototype.forEach.call(nav.querySelectorAll("a"), function (a) {
      if (a.getAttribute("href") === "#" + area) a.setAttribute("aria-current", "page"); else a.removeAttribute("aria-current");
    });
    PAGES[area]();
    var title = document.getElementById("page-title");
    document.title = title.textContent + " · Madoguchi";
    if (show.moved) title.focus();
    show.moved = true;
  }

  api("GET", "/api/v1/me").then(function (who) { me = who; return M.loadStrings(who.locale); }).then(function () {
    var app = document.getElementById("app");
    app.removeAttribute("aria-busy");
    app.className = "admin";
    var top = el("header", { class: "topbar" });
    top.appendChild(el("h1", {}, "Madoguchi · " + t("admin.title")));
    top.appendChild(el("a", { href: "/inbox" }, t("admin.back")));
    document.body.insertBefore(top, app);
    if (!M.can(me, "change_settings")) {
      app.appendChild(el("p", { class: "empty", role: "alert" }, t("admin.admins_only")));
      return;
    }
    nav = el("nav", { class: "admin-nav", "aria-label": t("admin.menu") });
    var ul = el("ul");
    AREAS.forEach(function (a) { var li = el("li"); li.appendChild(el("a", { href: "#" + a }, t("admin.area." + a))); ul.appendChild(li); });
    nav.appendChild(ul);
    main = el("div", { class: "admin-page" });
    app.appendChild(nav);
    app.appendChild(main);
    window.addEventListener("hashchange", show);
    loadChannels().then(show);
  });
})();
