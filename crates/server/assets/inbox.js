/* The agent inbox: filtered conversation list with counts, the conversation with reply box and
 * private notes, templates on "/", assignment/status/priority/tags, the contact panel, live
 * updates over the workspace WebSocket, and keyboard navigation. Rows show unread messages,
 * waiting time and the assignee; the customer's typing shows under the messages; new customer
 * messages raise the tab title's count, a sound and (when allowed) a desktop notification. */
(function () {
  "use strict";
  var M = window.MDG, t = M.t, el = M.el, api = M.api;
  var S = {
    me: null, agents: [], channels: [], templates: [], conversations: [], counts: {},
    filter: { status: "open", assignee: "all", tag: "", channel: "", team: "", brand: "", sort: "", q: "" }, brands: [],
    selected: 0, current: null, messages: [], contact: null, mode: "reply", popup: null, popupIndex: 0
  };
  var ui = {};

  function byId(list, id) { return list.filter(function (x) { return x.id === id; })[0]; }
  /* A round badge with a person's initial (an avatar without pictures to upload). */
  function avatar(name, cls) {
    var span = el("span", { class: "avatar " + (cls || ""), "aria-hidden": "true" }, (name || "?").trim().charAt(0).toUpperCase());
    return span;
  }
  /* "5分待ち" from a time in the past. */
  function waited(since) {
    var minutes = Math.max(0, Math.floor((Date.now() - since) / 60000));
    if (minutes < 60) return t("inbox.waiting_minutes").replace("{n}", minutes);
    var hours = Math.floor(minutes / 60);
    return hours < 48 ? t("inbox.waiting_hours").replace("{n}", hours) : t("inbox.waiting_days").replace("{n}", Math.floor(hours / 24));
  }
  function contactLabel(c) { return c && c.name ? c.name : t("inbox.visitor") + " " + (c ? c.id.slice(-6) : ""); }

  /* ---- layout ---- */
  function build() {
    var app = document.getElementById("app");
    app.removeAttribute("aria-busy");
    var top = el("header", { class: "topbar" });
    top.appendChild(el("h1", {}, "Madoguchi · " + t("inbox.title")));
    var lang = el("select", { "aria-label": t("inbox.language"), id: "language" });
    [["ja", "日本語"], ["en", "English"]].forEach(function (l) {
      var o = el("option", { value: l[0] }, l[1]);
      if (S.me.locale === l[0]) o.selected = true;
      lang.appendChild(o);
    });
    lang.addEventListener("change", function () { api("PATCH", "/api/v1/me", { locale: lang.value }).then(function () { location.reload(); }); });
    top.appendChild(lang);
    top.appendChild(el("a", { href: "/account?security" }, t("inbox.security")));
    if (MDG.can(S.me, "read_reports")) top.appendChild(el("a", { href: "/reports" }, t("inbox.reports")));
    if (MDG.can(S.me, "change_settings")) top.appendChild(el("a", { href: "/admin" }, t("inbox.admin")));
    /* Away: routing hands this agent nothing new. */
    var away = el("input", { type: "checkbox", id: "away" });
    away.checked = !!S.routing.away;
    away.addEventListener("change", function () {
      api("PUT", "/api/v1/agents/" + S.me.id + "/routing", { capacity: S.routing.capacity, away: away.checked }).then(function (r) { S.routing = r; });
    });
    var awayLabel = el("label", { for: "away", class: "away" });
    awayLabel.appendChild(away);
    awayLabel.appendChild(document.createTextNode(" " + t("inbox.away")));
    top.appendChild(awayLabel);
    top.appendChild(el("span", {}, S.me.name));
    top.appendChild(el("button", { type: "button", on: { click: logout } }, t("inbox.logout")));
    document.body.insertBefore(top, app);

    var layout = el("div", { class: "layout" });
    ui.filters = el("nav", { class: "filters", "aria-label": t("inbox.status") });
    ui.list = el("section", { class: "list", role: "listbox", "aria-label": t("inbox.title"), id: "conversation-list" });
    ui.thread = el("section", { class: "thread", "aria-label": t("inbox.select") });
    ui.side = el("aside", { class: "side", "aria-label": t("inbox.contact") });
    [ui.filters, ui.list, ui.thread, ui.side].forEach(function (n) { layout.appendChild(n); });
    app.appendChild(layout);
    buildFilters();
    buildThread();
  }

  function buildFilters() {
    var f = ui.filters;
    f.textContent = "";
    if (S.channels.some(function (c) { return c.kind === "email"; })) {
      f.appendChild(el("button", { type: "button", class: "primary compose", id: "compose", on: { click: compose } }, t("inbox.compose")));
    }
    f.appendChild(el("h2", {}, t("inbox.status")));
    ["open", "pending", "snoozed", "resolved", "spam", "blocked"].forEach(function (status) {
      var label = t("inbox.status." + status) + " (" + (S.counts[status] || 0) + ")";
      f.appendChild(el("button", { type: "button", "data-status": status, "aria-pressed": String(S.filter.status === status),
        on: { click: function () { S.filter.status = status; refresh(); } } }, label));
    });
    f.appendChild(el("h2", {}, t("inbox.assignee")));
    [["all", "inbox.all"], ["me", "inbox.mine"], ["none", "inbox.unassigned"]].forEach(function (a) {
      f.appendChild(el("button", { type: "button", "data-assignee": a[0], "aria-pressed": String(S.filter.assignee === a[0]),
        on: { click: function () { S.filter.assignee = a[0]; refresh(); } } }, t(a[1])));
    });
    var tag = el("input", { type: "search", "aria-label": t("inbox.tag_filter"), placeholder: t("inbox.tag_filter"), value: S.filter.tag });
    tag.addEventListener("change", function () { S.filter.tag = tag.value.trim(); refresh(); });
    var channel = el("select", { "aria-label": t("inbox.channel_filter") });
    channel.appendChild(el("option", { value: "" }, t("inbox.all")));
    S.channels.forEach(function (c) {
      var o = el("option", { value: c.id }, c.name);
      if (S.filter.channel === c.id) o.selected = true;
      channel.appendChild(o);
    });
    channel.addEventListener("change", function () { S.filter.channel = channel.value; refresh(); });
    var team = el("select", { "aria-label": t("inbox.team_filter") });
    team.appendChild(el("option", { value: "" }, t("inbox.all")));
    S.teams.forEach(function (x) {
      var o = el("option", { value: x.id }, x.name);
      if (S.filter.team === x.id) o.selected = true;
      team.appendChild(o);
    });
    team.addEventListener("change", function () { S.filter.team = team.value; refresh(); });
    var brand = el("select", { "aria-label": t("brands.brand"), id: "brand-filter" });
    brand.appendChild(el("option", { value: "" }, t("brands.all")));
    S.brands.forEach(function (b) {
      var o = el("option", { value: b.id }, b.name);
      if (S.filter.brand === b.id) o.selected = true;
      brand.appendChild(o);
    });
    brand.addEventListener("change", function () { S.filter.brand = brand.value; refresh(); });
    var search = el("input", { type: "search", id: "search", "aria-label": t("inbox.search_help"), title: t("inbox.search_help"), placeholder: t("inbox.search"), value: S.filter.q });
    search.addEventListener("change", function () { S.filter.q = search.value.trim(); refresh(); });
    f.appendChild(el("h2", {}, t("inbox.tags")));
    f.appendChild(tag);
    f.appendChild(el("h2", {}, t("inbox.channel_filter")));
    f.appendChild(channel);
    if (S.teams.length) { f.appendChild(el("h2", {}, t("inbox.team_filter"))); f.appendChild(team); }
    if (S.brands.length) { f.appendChild(el("h2", {}, t("brands.brand"))); f.appendChild(brand); }
    var sort = el("select", { "aria-label": t("inbox.sort") });
    [["", t("inbox.sort.activity")], ["sla", t("inbox.sort.sla")]].forEach(function (o) {
      var opt = el("option", { value: o[0] }, o[1]);
      if (S.filter.sort === o[0]) opt.selected = true;
      sort.appendChild(opt);
    });
    sort.addEventListener("change", function () { S.filter.sort = sort.value; refresh(); });
    f.appendChild(el("h2", {}, t("inbox.sort")));
    f.appendChild(sort);
    f.appendChild(search);
  }

  /* Writing to a customer by e-mail: a new conversation, opened once it is sent. */
  function compose() {
    var dialog = el("dialog", { class: "compose-dialog", "aria-labelledby": "compose-title" });
    var form = el("form", { method: "dialog", id: "compose-form" });
    form.appendChild(el("h2", { id: "compose-title" }, t("inbox.compose")));
    function row(label, input) {
      input.id = "compose-" + label;
      form.appendChild(el("label", { for: input.id }, t("inbox.compose." + label)));
      form.appendChild(input);
      return input;
    }
    var from = row("from", el("select"));
    S.channels.filter(function (c) { return c.kind === "email"; }).forEach(function (c) {
      from.appendChild(el("option", { value: c.id }, c.name + " <" + c.email_address + ">"));
    });
    var to = row("to", el("input", { type: "email", required: "" }));
    var name = row("name", el("input", {}));
    var subject = row("subject", el("input", { required: "", maxlength: "200" }));
    var body = row("body", el("textarea", { required: "", rows: "8" }));
    var msg = el("p", { class: "error", role: "alert" });
    form.appendChild(msg);
    var actions = el("div", { class: "actions" });
    actions.appendChild(el("button", { type: "submit", class: "primary" }, t("inbox.compose.send")));
    actions.appendChild(el("button", { type: "button", on: { click: function () { dialog.close(); } } }, t("inbox.compose.cancel")));
    form.appendChild(actions);
    dialog.appendChild(form);
    dialog.addEventListener("close", function () { dialog.remove(); });
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      var request = { channel_id: from.value, to: to.value, subject: subject.value, body: body.value };
      if (name.value.trim()) request.name = name.value.trim();
      api("POST", "/api/v1/conversations", request).then(function (sent) {
        dialog.close();
        S.filter.status = "open";
        refresh();
        open(sent.conversation.id);
      }, function (err) { msg.textContent = err.message; });
    });
    document.body.appendChild(dialog);
    dialog.showModal();
    to.focus();
  }

  function buildThread() {
    ui.messages = el("div", { class: "messages", id: "messages", "aria-live": "polite" });
    ui.composer = el("form", { class: "composer", id: "composer" });
    var modes = el("div", { class: "modes", role: "group" });
    ui.replyMode = el("button", { type: "button", "aria-pressed": "true", id: "mode-reply", on: { click: function () { setMode("reply"); } } }, t("inbox.reply"));
    ui.noteMode = el("button", { type: "button", "aria-pressed": "false", id: "mode-note", on: { click: function () { setMode("note"); } } }, t("inbox.note"));
    modes.appendChild(ui.replyMode);
    modes.appendChild(ui.noteMode);
    ui.input = el("textarea", { id: "reply", "aria-label": t("inbox.reply_placeholder"), placeholder: t("inbox.reply_placeholder") });
    ui.send = el("button", { type: "submit", class: "primary", id: "send" }, t("inbox.send"));
    ui.file = el("input", { type: "file", id: "attach-file", accept: "image/png,image/jpeg,image/gif,image/webp,application/pdf", hidden: "" });
    ui.file.addEventListener("change", sendFile);
    ui.attach = el("button", { type: "button", id: "attach", on: { click: function () { ui.file.click(); } } }, t("inbox.attach"));
    ui.composer.appendChild(modes);
    ui.composer.appendChild(ui.input);
    ui.composer.appendChild(ui.send);
    ui.composer.appendChild(ui.attach);
    ui.composer.appendChild(ui.file);
    ui.uploadError = el("span", { class: "error", role: "alert" });
    ui.composer.appendChild(ui.uploadError);
    ui.composer.addEventListener("submit", function (e) { e.preventDefault(); sendMessage(); });
    ui.input.addEventListener("input", updatePopup);
    ui.input.addEventListener("keydown", composerKeys);
    ui.typing = el("p", { class: "typing", "aria-live": "polite" });
    ui.input.addEventListener("input", sendTyping);
    ui.thread.appendChild(ui.messages);
    ui.thread.appendChild(ui.typing);
    ui.thread.appendChild(ui.composer);
    /* Single-key shortcuts can be switched off (WCAG 2.1.4); the choice is kept per browser. */
    var hint = el("p", { class: "hint" }, t("inbox.keyboard") + " ");
    var toggle = el("label", { class: "shortcuts" });
    ui.shortcuts = el("input", { type: "checkbox", id: "shortcuts" });
    ui.shortcuts.checked = localStorage.getItem("mdg_shortcuts") !== "off";
    ui.shortcuts.addEventListener("change", function () { localStorage.setItem("mdg_shortcuts", ui.shortcuts.checked ? "on" : "off"); });
    toggle.appendChild(ui.shortcuts);
    toggle.appendChild(document.createTextNode(" " + t("inbox.shortcuts_on")));
    hint.appendChild(toggle);
    var sound = el("label", { class: "shortcuts" });
    var soundBox = el("input", { type: "checkbox", id: "sound" });
    soundBox.checked = localStorage.getItem("mdg_sound") !== "off";
    soundBox.addEventListener("change", function () { localStorage.setItem("mdg_sound", soundBox.checked ? "on" : "off"); });
    sound.appendChild(soundBox);
    sound.appendChild(document.createTextNode(" " + t("inbox.sound_on")));
    hint.appendChild(sound);
    if (window.Notification && Notification.permission === "default") {
      hint.appendChild(el("button", { type: "button", class: "link", id: "desktop-alerts", on: { click: function (e) {
        Notification.requestPermission().then(function () { e.target.remove(); });
      } } }, t("inbox.desktop_alerts")));
    }
    ui.thread.appendChild(hint);
    renderThread();
  }

  function setMode(mode) {
    S.mode = mode;
    ui.replyMode.setAttribute("aria-pressed", String(mode === "reply"));
    ui.noteMode.setAttribute("aria-pressed", String(mode === "note"));
    ui.composer.classList.toggle("note-mode", mode === "note");
    var ph = t(mode === "note" ? "inbox.note_placeholder" : "inbox.reply_placeholder");
    ui.input.setAttribute("placeholder", ph);
    ui.input.setAttribute("aria-label", ph);
  }

  /* ---- list ---- */
  function query() {
    var f = S.filter, p = ["status=" + f.status, "assignee=" + f.assignee];
    if (f.tag) p.push("tag=" + encodeURIComponent(f.tag));
    if (f.channel) p.push("channel=" + encodeURIComponent(f.channel));
    if (f.team) p.push("team=" + encodeURIComponent(f.team));
    if (f.brand) p.push("brand=" + encodeURIComponent(f.brand));
    if (f.sort) p.push("sort=" + f.sort);
    if (f.q) p.push("q=" + encodeURIComponent(f.q));
    return "/api/v1/conversations?" + p.join("&");
  }
  /* With words in the search box the list shows search hits over all history instead. */
  function searchQuery() {
    var f = S.filter, p = ["q=" + encodeURIComponent(f.q), "limit=50"];
    if (f.tag) p.push("tag=" + encodeURIComponent(f.tag));
    if (f.channel) p.push("channel=" + encodeURIComponent(f.channel));
    if (f.brand) p.push("brand=" + encodeURIComponent(f.brand));
    if (f.assignee === "mine") p.push("assignee=" + encodeURIComponent(S.me.id));
    if (f.assignee === "unassigned") p.push("assignee=none");
    return "/api/v1/search?" + p.join("&");
  }
  function refresh() {
    if (S.filter.q) {
      return api("GET", searchQuery()).then(function (d) {
        S.results = d.hits;
        buildFilters();
        renderList();
      }, function (err) { S.results = []; S.searchError = err.message; renderList(); });
    }
    S.results = null;
    return api("GET", query()).then(function (d) {
      S.conversations = d.conversations;
      S.counts = d.counts;
      buildFilters();
      renderList();
    });
  }
  var refreshTimer = null;
  function refreshSoon() { clearTimeout(refreshTimer); refreshTimer = setTimeout(refresh, 150); }

  /* A snippet from the server: escaped text with <mark> around the matches, rebuilt as nodes. */
  function snippetNode(html) {
    var node = el("div", { class: "snippet" });
    var unescape = function (s) {
      return s.replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&quot;/g, "\"").replace(/&#39;/g, "'").replace(/&amp;/g, "&");
    };
    html.split(/(<mark>[^<]*<\/mark>)/).forEach(function (part) {
      var marked = /^<mark>([^<]*)<\/mark>$/.exec(part);
      if (marked) node.appendChild(el("mark", {}, unescape(marked[1])));
      else if (part) node.appendChild(document.createTextNode(unescape(part)));
    });
    return node;
  }
  function renderResults() {
    /* Hits are a region of buttons with a status line above them (a listbox holds options only). */
    ui.list.setAttribute("role", "region");
    ui.list.appendChild(el("p", { class: "search-note", role: "status" },
      S.searchError || t(S.results.length ? "inbox.search_hits" : "inbox.search_none").replace("{n}", S.results.length)));
    S.searchError = null;
    S.results.forEach(function (h) {
      var item = el("button", { type: "button", class: "item result", "data-id": h.conversation_id,
        "aria-current": String(!!S.current && S.current.id === h.conversation_id),
        on: { click: function () { open(h.conversation_id).then(function () { showMessage(h.seq); }); } } });
      var head = el("span", { class: "row-head" });
      head.appendChild(el("strong", {}, h.subject || t("inbox.sender." + (h.private ? "note" : h.sender_kind || "contact"))));
      item.appendChild(head);
      item.appendChild(snippetNode(h.snippet));
      item.appendChild(el("div", { class: "meta" }, t("inbox.status." + h.status) + " · " + M.time(h.created_at)));
      ui.list.appendChild(item);
    });
  }
  /* Opened from a search hit: the matching message, in view and marked for a moment. */
  function showMessage(seq) {
    var node = seq && ui.messages.querySelector('[data-seq="' + seq + '"]');
    if (!node) return;
    node.scrollIntoView({ block: "center" });
    node.classList.add("found");
    setTimeout(function () { node.classList.remove("found"); }, 3000);
  }

  function renderList() {
    ui.list.textContent = "";
    if (S.results) { renderResults(); return; }
    /* A listbox holds only options: the empty state is a labelled region with its message. */
    ui.list.setAttribute("role", S.conversations.length ? "listbox" : "region");
    if (!S.conversations.length) { ui.list.appendChild(el("p", { class: "empty" }, t("inbox.empty"))); return; }
    S.selected = Math.min(S.selected, S.conversations.length - 1);
    S.conversations.forEach(function (c, i) {
      var assignee = c.assignee_id ? byId(S.agents, c.assignee_id) : null;
      var item = el("button", { type: "button", class: "item", role: "option", "data-id": c.id,
        "aria-selected": String(S.current ? S.current.id === c.id : i === S.selected),
        on: { click: function () { S.selected = i; open(c.id); } } });
      var head = el("span", { class: "row-head" });
      head.appendChild(el("strong", {}, c.contact_name || c.contact_email || t("inbox.guest") + " " + c.contact_id.slice(-6)));
      if (c.unread > 0) head.appendChild(el("span", { class: "unread", "aria-label": t("inbox.unread").replace("{n}", c.unread) }, String(c.unread)));
      if (assignee) { var a = avatar(assignee.name, "small"); a.setAttribute("title", assignee.name); head.appendChild(a); }
      item.appendChild(head);
      if (c.subject) item.appendChild(el("div", { class: "subject" }, c.subject));
      if (c.preview) item.appendChild(el("div", { class: "preview" }, c.preview));
      else if (c.masked) item.appendChild(el("div", { class: "preview masked-preview" }, t("harassment.hidden")));
      var channel = byId(S.channels, c.channel_id);
      var brand = c.brand_id && byId(S.brands, c.brand_id);
      if (brand) head.appendChild(el("span", { class: "brand-badge" }, brand.name));
      item.appendChild(el("div", { class: "meta" }, (channel ? channel.name + " · " : "") + t("inbox.status." + c.status) + " · " + M.time(c.last_activity_at) +
        (assignee ? " · " + assignee.name : "") + (c.tags.length ? " · #" + c.tags.join(" #") : "")));
      var sla = slaLeft(c);
      if (sla) item.appendChild(el("div", { class: "sla" + (sla.late ? " late" : "") }, sla.text));
      if (c.waiting_since_at && ["resolved", "spam", "blocked"].indexOf(c.status) < 0) item.appendChild(el("div", { class: "waiting" }, waited(c.waiting_since_at)));
      ui.list.appendChild(item);
    });
  }

  /* The nearest SLA deadline still open: time left, or how late. */
  function slaLeft(c) {
    var open = ["resolved", "spam", "blocked"].indexOf(c.status) < 0;
    var due = !c.first_agent_response_at && c.sla_first_due_at ? ["first", c.sla_first_due_at]
      : open && c.sla_next_due_at ? ["next", c.sla_next_due_at]
      : open && c.sla_resolution_due_at ? ["resolution", c.sla_resolution_due_at] : null;
    if (!due) return null;
    var minutes = Math.round((due[1] - Date.now()) / 60000);
    var what = t("inbox.sla." + due[0]);
    return minutes >= 0
      ? { late: false, text: t("inbox.sla.left").replace("{what}", what).replace("{n}", minutes) }
      : { late: true, text: t("inbox.sla.late").replace("{what}", what).replace("{n}", -minutes) };
  }

  /* ---- conversation ---- */
  /* A conversation is drawn only once its messages and its own contact are loaded; when
     another one was opened meanwhile, the late answers are dropped. */
  function open(id) {
    var ticket = (S.opening = (S.opening || 0) + 1);
    return api("GET", "/api/v1/conversations/" + id).then(function (conversation) {
      return Promise.all([
        api("GET", "/api/v1/conversations/" + id + "/messages"),
        api("GET", "/api/v1/contacts/" + conversation.contact_id),
        conversation.status === "blocked" ? api("GET", "/api/v1/harassment/blocks") : Promise.resolve([])
      ]).then(function (r) {
        if (ticket !== S.opening) return;
        S.current = conversation;
        S.messages = r[0].messages;
        S.contact = r[1];
        S.blocks = r[2];
        renderList();
        renderThread();
        renderSide();
        markRead();
      });
    });
  }
  /* The current conversation's customer (never another conversation's). */
  function currentContact() {
    var loaded = S.contact && S.current && S.contact.contact.id === S.current.contact_id;
    return loaded ? S.contact.contact : { id: S.current ? S.current.contact_id : "" };
  }

  function messageNode(m) {
    var kind = m.private ? "note" : m.sender_kind;
    var node = el("div", { class: "msg " + kind, "data-seq": String(m.seq) });
    var who = m.sender_kind === "contact" ? contactLabel(currentContact())
      : m.sender_kind === "agent" ? (m.sender_name || (byId(S.agents, m.sender_id) || {}).name || "")
      : t("inbox.sender." + m.sender_kind);
    node.appendChild(el("span", { class: "who" }, (m.private ? t("inbox.note") + " · " : "") + who + " · " + M.time(m.created_at)));
    var mail = m.meta && m.meta.email;
    /* Why a mail looks like spam or phishing, or came from a machine: each flag with its reason. */
    if (mail && mail.flags && mail.flags.length) {
      var warn = el("div", { class: "mail-flags" + (mail.spam ? " spam" : ""), role: "note" });
      warn.appendChild(el("strong", {}, t(mail.spam ? "inbox.mail.spam" : "inbox.mail.automatic")));
      var reasons = el("ul");
      mail.flags.forEach(function (f) { reasons.appendChild(el("li", {}, t("inbox.mail.flag." + f.code) + ": " + f.reason)); });
      warn.appendChild(reasons);
      node.appendChild(warn);
    }
    if (m.masked) { node.classList.add("masked"); node.appendChild(maskNode(m)); return node; }
    var files = M.attachments(m, function (id) { return "/api/v1/attachments/" + id; });
    if (files) node.appendChild(files); else node.appendChild(document.createTextNode(m.body));
    if (m.sender_kind === "contact") node.appendChild(reportNode(m));
    if (mail && mail.full_text) {
      var whole = el("details", { class: "mail-full" });
      whole.appendChild(el("summary", {}, t("inbox.mail.full_text")));
      whole.appendChild(el("pre", {}, mail.full_text));
      node.appendChild(whole);
    }
    if (mail && mail.skipped_files && mail.skipped_files.length) {
      node.appendChild(el("p", { class: "mail-skipped" }, t("inbox.mail.skipped").replace("{files}", mail.skipped_files.join(", "))));
    }
    /* The articles the bot offered, as links to the help center. */
    ((m.meta && m.meta.articles) || []).forEach(function (a) {
      node.appendChild(el("a", { href: a.url, target: "_blank", rel: "noopener", class: "article" }, a.title));
    });
    /* What became of it at the provider (LINE, Instagram): sent, being retried, or failed with the reason. */
    if (m.delivery) {
      var state = { class: "delivery " + m.delivery };
      if (m.delivery === "failed") state.role = "alert";
      var channel = S.current && byId(S.channels, S.current.channel_id);
      var provider = channel ? t("admin.kind." + channel.kind) : "";
      node.appendChild(el("p", state, t("inbox.delivery." + m.delivery).replace("{provider}", provider) + (m.delivery_detail && m.delivery !== "sent" ? ": " + m.delivery_detail : "")));
    }
    return node;
  }
  /* ---- harassment: masked messages, reveals (logged), reports ---- */
  function flagLine(flag) {
    return (flag.categories || []).map(function (c) { return t("harassment.category." + c); }).join("・");
  }
  /* A flagged message: hidden behind its category until the agent reveals it on purpose. */
  function maskNode(m) {
    var box = el("div", { class: "mask", role: "group", "aria-label": t("harassment.hidden") });
    box.appendChild(el("strong", {}, t("harassment.masked_as").replace("{categories}", flagLine(m.flag || {}))));
    box.appendChild(el("div", { class: "blurred", "aria-hidden": "true" }, "▒▒▒▒▒▒ ▒▒▒▒ ▒▒▒▒▒▒▒"));
    var actions = el("div", { class: "mask-actions" });
    actions.appendChild(el("button", { type: "button", class: "reveal", on: { click: function () {
      api("POST", "/api/v1/messages/" + m.id + "/reveal").then(function (r) {
        box.textContent = "";
        box.classList.add("revealed");
        box.appendChild(el("p", { class: "revealed-text" }, r.body));
        var f = m.flag || {};
        box.appendChild(el("p", { class: "hint" }, t("harassment.why") + ": " + (f.reasons || []).join("、")));
      });
    } } }, t("harassment.reveal")));
    actions.appendChild(el("a", { href: "/guideline", target: "_blank", rel: "noopener" }, t("harassment.guideline_link")));
    box.appendChild(actions);
    return box;
  }
  /* Reporting a customer's message by hand (a reason, then it is masked and queued). */
  function reportNode(m) {
    var d = el("details", { class: "report" });
    d.appendChild(el("summary", {}, t("harassment.report")));
    var reason = el("input", { "aria-label": t("harassment.report_reason"), placeholder: t("harassment.report_reason"), maxlength: "500" });
    d.appendChild(reason);
    d.appendChild(el("button", { type: "button", on: { click: function () {
      if (!reason.value.trim()) { reason.focus(); return; }
      api("POST", "/api/v1/messages/" + m.id + "/report", { reason: reason.value }).then(function (view) {
        S.messages = S.messages.map(function (x) { return x.id === view.id ? view : x; });
        renderThread();
      });
    } } }, t("harassment.report_send")));
    return d;
  }
  /* For supervisors: the case's evidence, and blocking the sender of this conversation. */
  function supervisorTools(c) {
    var box = el("details", { class: "supervisor" });
    box.appendChild(el("summary", {}, t("harassment.supervisor")));
    box.appendChild(el("a", { href: "/api/v1/conversations/" + c.id + "/evidence?format=html", target: "_blank", rel: "noopener" }, t("harassment.evidence")));
    if (c.status === "blocked") return box;
    var reason = el("input", { id: "block-reason", maxlength: "500" });
    box.appendChild(el("label", { for: "block-reason" }, t("harassment.reason")));
    box.appendChild(reason);
    var days = el("input", { id: "block-days", type: "number", min: "1", max: "3650", value: "30" });
    box.appendChild(el("label", { for: "block-days" }, t("harassment.days")));
    box.appendChild(days);
    var msg = el("p", { class: "status", role: "status" });
    box.appendChild(el("button", { type: "button", class: "danger", id: "block-sender", on: { click: function () {
      if (!reason.value.trim()) { reason.focus(); return; }
      var body = { kind: "contact", conversation_id: c.id, reason: reason.value };
      if (days.value) body.days = Number(days.value);
      api("POST", "/api/v1/harassment/blocks", body).then(function () { open(c.id); }, function (e) { msg.textContent = e.message; });
    } } }, t("harassment.block_sender")));
    box.appendChild(msg);
    return box;
  }
  /* Who is blocked in the open conversation, why and until when. */
  function blockBanner() {
    var c = S.current;
    var block = (S.blocks || []).filter(function (b) { return b.conversation_id === c.id || (b.kind === "contact" && b.value === c.contact_id); })[0];
    var text = block
      ? t("harassment.blocked_banner").replace("{reason}", block.reason).replace("{until}", block.until_at ? M.time(block.until_at) : t("harassment.until_lifted"))
      : t("harassment.blocked_banner_other");
    return el("p", { class: "blocked-banner", role: "status" }, text);
  }
  function renderThread() {
    ui.messages.textContent = "";
    ui.composer.hidden = !S.current;
    if (!S.current) { ui.messages.appendChild(el("p", { class: "empty" }, t("inbox.select"))); return; }
    if (S.current.subject) ui.messages.appendChild(el("h2", { class: "subject" }, S.current.subject));
    if (S.current.status === "blocked") ui.messages.appendChild(blockBanner());
    S.messages.forEach(function (m) { ui.messages.appendChild(messageNode(m)); });
    ui.messages.scrollTop = ui.messages.scrollHeight;
  }
  function addMessage(m) {
    if (S.messages.some(function (x) { return x.seq === m.seq; })) return;
    S.messages.push(m);
    S.messages.sort(function (a, b) { return a.seq - b.seq; });
    if (m.sender_kind === "contact") hideTyping();
    renderThread();
    markRead();
  }
  /* What this agent has seen of the open conversation (only while the tab is in view). */
  function markRead() {
    if (!S.current || !S.messages.length || document.hidden) return;
    var seq = S.messages[S.messages.length - 1].seq;
    if (seq <= (S.current.agent_read_seq || 0) || seq <= (S.readSent || 0) && S.readFor === S.current.id) return;
    S.readSent = seq;
    S.readFor = S.current.id;
    api("POST", "/api/v1/conversations/" + S.current.id + "/read", { seq: seq }).catch(function () { S.readSent = 0; });
  }
  document.addEventListener("visibilitychange", function () { if (!document.hidden) { markRead(); S.alerts = 0; updateTitle(); } });

  /* ---- typing ---- */
  function showTyping(text) {
    ui.typing.textContent = text;
    clearTimeout(S.typingTimer);
    S.typingTimer = setTimeout(hideTyping, 6000);
  }
  function hideTyping() { if (ui.typing) ui.typing.textContent = ""; }
  function sendTyping() {
    var now = Date.now();
    if (!S.ws || S.ws.readyState !== 1 || !S.current || S.mode === "note" || now - (S.typedAt || 0) < 3000) return;
    S.typedAt = now;
    S.ws.send(JSON.stringify({ type: "typing", conversation_id: S.current.id }));
  }

  /* ---- alerts: tab title, sound, desktop notification ---- */
  function updateTitle() { document.title = (S.alerts ? "(" + S.alerts + ") " : "") + t("inbox.title") + " · Madoguchi"; }
  function alertNew(frame) {
    var m = frame.message;
    if (m.sender_kind !== "contact" || (!document.hidden && S.current && S.current.id === frame.conversation_id)) return;
    if (document.hidden) { S.alerts = (S.alerts || 0) + 1; updateTitle(); }
    if (localStorage.getItem("mdg_sound") !== "off") beep();
    if (window.Notification && Notification.permission === "granted" && document.hidden) {
      var n = new Notification(t("inbox.new_message"), { body: m.masked ? t("harassment.hidden") : m.body.slice(0, 120), tag: frame.conversation_id });
      n.onclick = function () { window.focus(); open(frame.conversation_id); n.close(); };
    }
  }
  var audio = null;
  function beep() {
    try {
      audio = audio || new (window.AudioContext || window.webkitAudioContext)();
      var osc = audio.createOscillator(), gain = audio.createGain();
      osc.frequency.value = 880;
      gain.gain.setValueAtTime(0.08, audio.currentTime);
      gain.gain.exponentialRampToValueAtTime(0.001, audio.currentTime + 0.25);
      osc.connect(gain); gain.connect(audio.destination);
      osc.start(); osc.stop(audio.currentTime + 0.25);
    } catch (e) { /* no audio here */ }
  }

  function select(label, id, options, value, onChange) {
    var wrap = el("label", { for: id }, label);
    var s = el("select", { id: id });
    options.forEach(function (o) {
      var opt = el("option", { value: o[0] }, o[1]);
      if (o[0] === value) opt.selected = true;
      s.appendChild(opt);
    });
    s.addEventListener("change", function () { onChange(s.value); });
    return [wrap, s];
  }
  function renderSide() {
    var side = ui.side, c = S.current;
    side.textContent = "";
    if (!c) return;
    var brand = c.brand_id && byId(S.brands, c.brand_id);
    if (brand) side.appendChild(el("p", { class: "brand-line" }, t("brands.brand") + ": " + brand.name));
    var status = select(t("inbox.status"), "status", ["open", "pending", "snoozed", "resolved", "spam", "blocked"].map(function (s) { return [s, t("inbox.status." + s)]; }),
      c.status, function (v) { if (v === "snoozed") showSnooze(); else patch({ status: v }); });
    var assignee = select(t("inbox.assignee"), "assignee", [["", t("inbox.nobody")]].concat(S.agents.map(function (a) { return [a.id, a.name]; })),
      c.assignee_id || "", function (v) { patch({ assignee_id: v || null }); });
    var team = select(t("inbox.team"), "team", [["", t("inbox.no_team")]].concat(S.teams.map(function (x) { return [x.id, x.name]; })),
      c.team_id || "", function (v) { patch({ team_id: v || null }); });
    /* The category the classifier chose (how sure, and how); an agent's choice teaches it. */
    var known = S.categories.indexOf(c.category) >= 0 || !c.category ? S.categories : S.categories.concat([c.category]);
    var category = select(t("inbox.category"), "category", [["", t("inbox.no_category")]].concat(known.map(function (x) { return [x, x]; })),
      c.category || "", function (v) { if (v) patch({ category: v }); });
    var how = el("p", { class: "category-source", id: "category-source" });
    if (c.category_source === "agent") how.textContent = t("inbox.category_by_agent");
    else if (c.category_source) how.textContent = t("inbox.category_by_" + c.category_source).replace("{pct}", Math.round((c.category_confidence || 0) * 100));
    category.push(how);
    var priority = select(t("inbox.priority"), "priority", ["low", "normal", "high", "urgent"].map(function (p) { return [p, t("inbox.priority." + p)]; }),
      c.priority, function (v) { patch({ priority: v }); });
    var tagsLabel = el("label", { for: "tags" }, t("inbox.tags"));
    var tags = el("input", { id: "tags", value: c.tags.join(", ") });
    tags.addEventListener("change", function () {
      patch({ tags: tags.value.split(/[,、]/).map(function (x) { return x.trim(); }).filter(Boolean) });
    });
    status.concat(assignee, team, category, priority, [tagsLabel, tags]).forEach(function (n) { side.appendChild(n); });
    /* Snooze until a time: the conversation reopens by itself then (or when the customer writes). */
    var snooze = el("div", { class: "snooze", id: "snooze", hidden: "" });
    var when = el("input", { type: "datetime-local", id: "snooze-until" });
    snooze.appendChild(el("label", { for: "snooze-until" }, t("inbox.snooze_until")));
    snooze.appendChild(when);
    snooze.appendChild(el("button", { type: "button", id: "snooze-save", on: { click: function () {
      var until = new Date(when.value).getTime();
      if (!until) return;
      patch({ status: "snoozed", snoozed_until: until }).catch(function (err) { when.setCustomValidity(err.message); when.reportValidity(); });
    } } }, t("inbox.snooze")));
    side.appendChild(snooze);
    if (c.status === "snoozed" && c.snoozed_until) side.appendChild(el("p", { class: "snoozed" }, t("inbox.snoozed_until").replace("{when}", M.time(c.snoozed_until))));
    function showSnooze() {
      var d = new Date(); d.setDate(d.getDate() + 1); d.setHours(9, 0, 0, 0);
      var pad = function (n) { return ("0" + n).slice(-2); };
      when.value = d.getFullYear() + "-" + pad(d.getMonth() + 1) + "-" + pad(d.getDate()) + "T09:00";
      snooze.removeAttribute("hidden");
      when.focus();
    }
    side.appendChild(el("button", { type: "button", class: "primary", id: "resolve", on: { click: resolve } }, t("inbox.resolve")));
    /* The whole transcript, for records and handovers. */
    var exports = el("p", { class: "exports" });
    exports.appendChild(el("a", { href: "/api/v1/conversations/" + c.id + "/transcript", download: "" }, t("inbox.transcript")));
    exports.appendChild(document.createTextNode(" · "));
    exports.appendChild(el("a", { href: "/api/v1/conversations/" + c.id + "/transcript?format=csv", download: "" }, "CSV"));
    side.appendChild(exports);
    if (MDG.can(S.me, "handle_harassment")) side.appendChild(supervisorTools(c));
    if (!S.contact) return;
    var p = S.contact;
    side.appendChild(el("h2", {}, t("inbox.contact")));
    var contactForm = el("form", { id: "contact-form" });
    [["name", "inbox.name", "text"], ["email", "inbox.email", "email"], ["phone", "inbox.phone", "tel"]].forEach(function (f) {
      contactForm.appendChild(el("label", { for: "contact-" + f[0] }, t(f[1])));
      var input = el("input", { id: "contact-" + f[0], type: f[2], value: p.contact[f[0]] || "" });
      input.addEventListener("change", function () {
        var body = {};
        body[f[0]] = input.value;
        api("PATCH", "/api/v1/contacts/" + p.contact.id, body).then(function (contact) { p.contact = contact; }, function (err) { input.setCustomValidity(err.message); input.reportValidity(); });
      });
      contactForm.appendChild(input);
    });
    side.appendChild(contactForm);
    side.appendChild(el("h2", {}, t("inbox.identities")));
    var ids = el("ul");
    p.identities.forEach(function (i) { ids.appendChild(el("li", {}, i.kind + (i.value ? ": " + i.value : ""))); });
    side.appendChild(ids);
    shopData(side, p.contact.shop || { attributes: {}, orders: [] });
    side.appendChild(el("h2", {}, t("inbox.history")));
    var history = el("ul", { id: "history" });
    p.conversations.forEach(function (h) {
      var li = el("li");
      li.appendChild(el("a", { href: "#" + h.id, on: { click: function (e) { e.preventDefault(); open(h.id); } } },
        (h.subject ? h.subject + " · " : "") + M.time(h.created_at) + " · " + t("inbox.status." + h.status)));
      history.appendChild(li);
    });
    side.appendChild(history);
    dataRights(side, p.contact);
  }
  /* What the shop's systems sent about the customer: attributes and recent orders. */
  function shopData(side, shop) {
    var names = Object.keys(shop.attributes || {});
    if (names.length) {
      side.appendChild(el("h2", {}, t("inbox.shop_attributes")));
      var dl = el("dl", { class: "shop-attributes" });
      names.forEach(function (n) { dl.appendChild(el("dt", {}, n)); dl.appendChild(el("dd", {}, shop.attributes[n])); });
      side.appendChild(dl);
    }
    if (!(shop.orders || []).length) return;
    side.appendChild(el("h2", {}, t("inbox.orders")));
    var list = el("ul", { class: "orders", id: "orders" });
    shop.orders.forEach(function (o) {
      var li = el("li");
      var head = "#" + o.id + " · " + o.placed_at + (o.total ? " · " + o.total : "") + (o.status ? " · " + o.status : "");
      /* Only http(s) links are stored. */
      li.appendChild(o.url ? el("a", { href: o.url, target: "_blank", rel: "noopener noreferrer" }, head) : el("strong", {}, head));
      if (o.items && o.items.length) li.appendChild(el("div", { class: "items" }, o.items.join("、")));
      list.appendChild(li);
    });
    side.appendChild(list);
  }
  /* A customer's data rights, for the roles that may: everything held as a file, or erased. */
  function dataRights(side, contact) {
    var mayExport = MDG.can(S.me, "export_data"), mayErase = MDG.can(S.me, "erase_data");
    if ((!mayExport && !mayErase) || contact.erased_at) return;
    side.appendChild(el("h2", {}, t("inbox.data_rights")));
    var box = el("p", { class: "exports", id: "data-rights" });
    if (mayExport) {
      var base = "/api/v1/contacts/" + contact.id + "/export";
      box.appendChild(el("a", { href: base, download: "" }, t("inbox.export_json")));
      box.appendChild(document.createTextNode(" · "));
      box.appendChild(el("a", { href: base + "?format=html", target: "_blank", rel: "noopener" }, t("inbox.export_html")));
    }
    side.appendChild(box);
    if (mayErase) {
      var erase = el("button", { type: "button", class: "danger", id: "erase-contact" }, t("inbox.erase"));
      erase.addEventListener("click", function () {
        if (!confirm(t("inbox.erase_confirm"))) return;
        api("DELETE", "/api/v1/contacts/" + contact.id).then(function () {
          if (S.current) open(S.current.id);
        }, function (err) { alert(err.message); });
      });
      side.appendChild(erase);
    }
  }
  function patch(body) {
    return api("PATCH", "/api/v1/conversations/" + S.current.id, body).then(function (c) {
      S.current = c;
      renderSide();
      refreshSoon();
    });
  }
  function resolve() { if (S.current) patch({ status: "resolved" }); }

  /* ---- composer and templates ---- */
  function render(template) {
    var customer = currentContact();
    var contact = customer.name || t("inbox.unnamed_customer");
    return template.replace(/\{\{\s*contact\.name\s*\}\}/g, contact).replace(/\{\{\s*agent\.name\s*\}\}/g, S.me.name);
  }
  function updatePopup() {
    var v = ui.input.value;
    if (v.charAt(0) !== "/" || v.indexOf("\n") >= 0) { closePopup(); return; }
    var q = v.slice(1).toLowerCase();
    var mine = S.current ? S.current.brand_id : null;
    var matches = S.templates.filter(function (tp) { return !tp.brand_id || tp.brand_id === mine; }).filter(function (tp) { return tp.name.toLowerCase().indexOf(q) >= 0 || tp.body.toLowerCase().indexOf(q) >= 0; });
    closePopup();
    var pop = el("div", { class: "templates-pop", role: matches.length ? "listbox" : "status", id: "templates", "aria-label": t("inbox.templates") });
    if (!matches.length) pop.appendChild(el("p", { class: "empty" }, t("inbox.no_templates")));
    S.popupIndex = 0;
    matches.forEach(function (tp, i) {
      pop.appendChild(el("button", { type: "button", role: "option", "data-name": tp.name, "aria-selected": String(i === 0),
        on: { click: function () { applyTemplate(tp); } } }, tp.name + " — " + tp.body.slice(0, 40)));
    });
    S.popup = { node: pop, matches: matches };
    ui.composer.appendChild(pop);
  }
  function closePopup() { if (S.popup) { S.popup.node.remove(); S.popup = null; } }
  function applyTemplate(tp) { ui.input.value = render(tp.body); closePopup(); ui.input.focus(); }
  function composerKeys(e) {
    if (S.popup && S.popup.matches.length) {
      var buttons = S.popup.node.querySelectorAll("button");
      if (e.key === "ArrowDown" || e.key === "ArrowUp") {
        e.preventDefault();
        S.popupIndex = (S.popupIndex + (e.key === "ArrowDown" ? 1 : -1) + buttons.length) % buttons.length;
        buttons.forEach(function (b, i) { b.setAttribute("aria-selected", String(i === S.popupIndex)); });
        return;
      }
      if (e.key === "Enter" && !e.isComposing) { e.preventDefault(); applyTemplate(S.popup.matches[S.popupIndex]); return; }
    }
    if (e.key === "Escape") { closePopup(); ui.input.blur(); return; }
    if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) { e.preventDefault(); sendMessage(); }
  }
  function newClientId() {
    var b = new Uint8Array(12);
    crypto.getRandomValues(b);
    return "i" + Array.prototype.map.call(b, function (x) { return ("0" + x.toString(16)).slice(-2); }).join("");
  }
  function sendMessage() {
    var body = ui.input.value;
    if (!S.current || !body.trim()) return;
    ui.send.disabled = true;
    api("POST", "/api/v1/conversations/" + S.current.id + "/messages", { body: body, private: S.mode === "note", client_id: newClientId() })
      .then(function (d) { ui.input.value = ""; addMessage(d.message); S.current = d.conversation; refreshSoon(); })
      .finally(function () { ui.send.disabled = false; });
  }

  /* An image or PDF as a reply (or, in note mode, a note). */
  function sendFile() {
    var file = ui.file.files[0];
    if (!S.current || !file) return;
    ui.uploadError.textContent = "";
    var path = "/api/v1/conversations/" + S.current.id + "/attachments?name=" + encodeURIComponent(file.name) +
      "&private=" + (S.mode === "note") + "&client_id=" + newClientId();
    M.upload(path, file).then(function (m) { addMessage(m); refreshSoon(); },
      function (err) { ui.uploadError.textContent = err.message; })
      .finally(function () { ui.file.value = ""; });
  }

  /* ---- keyboard ---- */
  document.addEventListener("keydown", function (e) {
    var tag = (e.target.tagName || "").toLowerCase();
    if (tag === "input" || tag === "textarea" || tag === "select" || e.ctrlKey || e.metaKey || e.altKey) return;
    if (ui.shortcuts && !ui.shortcuts.checked) return;
    if (e.key === "j" || e.key === "k") {
      e.preventDefault();
      S.selected = Math.max(0, Math.min(S.conversations.length - 1, S.selected + (e.key === "j" ? 1 : -1)));
      var items = ui.list.querySelectorAll(".item");
      items.forEach(function (it, i) { it.setAttribute("aria-selected", String(i === S.selected)); });
      if (items[S.selected]) items[S.selected].focus();
    } else if (e.key === "Enter" && S.conversations[S.selected] && tag !== "button") {
      open(S.conversations[S.selected].id);
    } else if (e.key === "r" && S.current) { e.preventDefault(); setMode("reply"); ui.input.focus(); }
    else if (e.key === "n" && S.current) { e.preventDefault(); setMode("note"); ui.input.focus(); }
    else if (e.key === "e" && S.current) { e.preventDefault(); resolve(); }
  });

  /* ---- live ---- */
  function connect() {
    var ws = new WebSocket(location.origin.replace(/^http/, "ws") + "/api/v1/ws");
    ws.onopen = function () {
      if (S.current && S.messages.length) {
        ws.send(JSON.stringify({ type: "resume", conversation_id: S.current.id, after_seq: S.messages[S.messages.length - 1].seq }));
      }
    };
    S.ws = ws;
    ws.onmessage = function (event) {
      var f = JSON.parse(event.data);
      if (f.type === "typing") {
        if (S.current && f.conversation_id === S.current.id && f.sender_id !== S.me.id) {
          showTyping(f.sender_kind === "contact" ? t("inbox.customer_typing") : t("inbox.agent_typing").replace("{name}", f.name || ""));
        }
        return;
      }
      if (f.type === "message.created") alertNew(f);
      if (f.type === "message.created" && S.current && f.conversation_id === S.current.id) addMessage(f.message);
      if (f.type === "conversation.updated" && S.current && f.conversation_id === S.current.id) { S.current = f.conversation; renderSide(); }
      if (f.type === "message.updated" && S.current && f.conversation_id === S.current.id) {
        S.messages = S.messages.map(function (m) { return m.seq === f.message.seq ? f.message : m; });
        renderThread();
      }
      refreshSoon();
    };
    ws.onclose = function () { setTimeout(connect, 1000); };
  }

  function logout() {
    api("POST", "/api/v1/auth/logout").finally(function () { localStorage.removeItem("mdg_csrf"); location.href = "/login"; });
  }

  api("GET", "/api/v1/me").then(function (me) {
    S.me = me;
    return M.loadStrings(me.locale);
  }).then(function () {
    return Promise.all([api("GET", "/api/v1/agents"), api("GET", "/api/v1/channels"), api("GET", "/api/v1/templates"),
      api("GET", "/api/v1/teams"), api("GET", "/api/v1/agents/" + S.me.id + "/routing"), api("GET", "/api/v1/classification"),
      api("GET", "/api/v1/brands")]);
  }).then(function (r) {
    S.agents = r[0].agents;
    S.channels = r[1].channels;
    S.templates = r[2].templates;
    S.teams = r[3];
    S.routing = r[4];
    S.categories = r[5].categories.map(function (c) { return c.name; });
    S.brands = r[6];
    build();
    connect();
    /* A link from elsewhere (a report's drill-down) opens its conversation: #conversation=ID. */
    var linked = /^#conversation=([0-9a-f-]{36})$/.exec(location.hash);
    return refresh().then(function () { if (linked) return open(linked[1]); });
  });
})();
