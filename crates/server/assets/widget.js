/* Madoguchi chat widget: <script src="…/widget.js" data-channel="KEY" async></script>
 * One script, isolated in a shadow DOM; talks only to the server it was loaded from.
 * Text is always inserted with textContent (never HTML).
 * A signed-in customer: data-user-id, data-user-hash (HMAC-SHA256 of the id with the channel's
 * identity secret, made by the shop's server), data-user-name, data-user-email.
 * A page view stores nothing on the server: the contact is made at the first message, and the
 * WebSocket opens only once the visitor has a conversation. */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || !script.dataset.channel) return;
  var key = script.dataset.channel;
  var base = new URL(script.src).origin;
  var wsBase = base.replace(/^http/, "ws");
  /* The page's own language first (a Japanese page in an English browser stays Japanese). */
  var wantedLang = script.dataset.locale || document.documentElement.lang || navigator.language || "ja";
  var lang = String(wantedLang).toLowerCase().indexOf("en") === 0 ? "en" : "ja";
  var data = script.dataset;
  var user = data.userId && data.userHash ? { id: data.userId, hash: data.userHash, name: data.userName || undefined, email: data.userEmail || undefined } : undefined;
  var storeKey = "mdg_visitor_" + key;
  var outboxKey = "mdg_outbox_" + key;
  var T = {};
  var state = { scenario: [], node: null, answered: {}, readSent: {}, token: null, contact: null, prechat: "off", conversations: [], current: null, messages: {}, lastSeq: {}, unread: 0, open: false, ws: null, retry: 0 };

  function t(name) { return T["widget." + name] || name; }
  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text !== undefined) node.textContent = text;
    return node;
  }
  function api(method, path, body) {
    var headers = { "Content-Type": "application/json" };
    if (state.token) headers["X-Visitor-Token"] = state.token;
    return fetch(base + path, { method: method, headers: headers, body: body ? JSON.stringify(body) : undefined })
      .then(function (r) {
        if (r.status === 204) return null;
        return r.json().then(function (data) { if (!r.ok) { var e = new Error(r.status); e.status = r.status; e.data = data; throw e; } return data; });
      });
  }
  function newClientId() {
    var bytes = new Uint8Array(12);
    crypto.getRandomValues(bytes);
    return "w" + Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }
  function saveToken(token) {
    state.token = token;
    try { localStorage.setItem(storeKey, token); } catch (e) { /* storage may be blocked */ }
    document.cookie = storeKey + "=" + encodeURIComponent(token) + "; path=/; max-age=31536000; SameSite=Lax";
  }
  function loadToken() {
    try { var v = localStorage.getItem(storeKey); if (v) return v; } catch (e) { /* ignore */ }
    var m = document.cookie.match(new RegExp("(?:^|; )" + storeKey + "=([^;]*)"));
    return m ? decodeURIComponent(m[1]) : null;
  }
  /* Messages not yet acknowledged; kept in memory too where the browser blocks site storage. */
  var memoryOutbox = [];
  function outbox() {
    try { var v = localStorage.getItem(outboxKey); if (v !== null) return JSON.parse(v); } catch (e) { /* blocked */ }
    return memoryOutbox.slice();
  }
  function setOutbox(items) {
    memoryOutbox = items.slice();
    try { localStorage.setItem(outboxKey, JSON.stringify(items)); } catch (e) { /* blocked: memory only */ }
  }

  /* ---- DOM ---- */
  var host = el("div", { id: "madoguchi-widget" });
  var root = host.attachShadow({ mode: "open" });
  var css =
    ":host{all:initial}*{box-sizing:border-box;font-family:system-ui,-apple-system,'Hiragino Sans','Noto Sans JP',sans-serif}" +
    ".launcher{position:fixed;bottom:20px;width:56px;height:56px;border-radius:50%;border:0;color:#fff;display:flex;align-items:center;justify-content:center;cursor:pointer;box-shadow:0 4px 14px rgba(0,0,0,.25);z-index:2147483000}" +
    ".badge{position:absolute;top:-4px;right:-4px;min-width:20px;height:20px;border-radius:10px;background:#d1242f;color:#fff;font-size:12px;line-height:20px;padding:0 5px}" +
    ".badge[hidden]{display:none}.panel{position:fixed;bottom:88px;width:360px;max-width:calc(100vw - 24px);height:520px;max-height:calc(100vh - 110px);background:#fff;color:#1f2328;border-radius:14px;box-shadow:0 8px 30px rgba(0,0,0,.25);display:flex;flex-direction:column;overflow:hidden;z-index:2147483000}" +
    ".panel[hidden]{display:none}header{color:#fff;padding:14px 16px;display:flex;align-items:center;gap:8px}header h2{font-size:16px;margin:0;flex:1}" +
    "header button{background:transparent;border:0;color:#fff;font-size:18px;cursor:pointer}.greeting{font-size:13px;padding:10px 16px;background:#f6f8fa;margin:0}" +
    ".body{flex:1;overflow-y:auto;padding:12px}.list button.conv{display:block;width:100%;text-align:left;border:1px solid #d0d7de;background:#fff;border-radius:8px;padding:8px 10px;margin:0 0 8px;cursor:pointer;font-size:13px}" +
    ".primary{color:#fff;border:0;border-radius:8px;padding:9px 14px;cursor:pointer;font-size:14px}.msg{max-width:80%;margin:0 0 8px;padding:8px 11px;border-radius:12px;font-size:14px;white-space:pre-wrap;word-wrap:break-word}" +
    ".msg.contact{margin-left:auto;color:#fff}.msg.agent,.msg.bot,.msg.system{background:#f0f2f5}.msg.pending{opacity:.6}.who{display:block;font-size:11px;color:#57606a;margin-bottom:2px}.msg.contact .who{color:inherit;font-weight:600}" +
    ".attach{background:none;border:0;color:#57606a;cursor:pointer;padding:0 2px}.files img{display:block;max-width:100%;max-height:220px;border-radius:8px;margin-top:4px}.files a{color:inherit}.upload-error{color:#a40e26;font-size:12px;margin:0;padding:0 12px}.upload-error:empty{display:none}" +
    "form.composer{display:flex;gap:6px;border-top:1px solid #d0d7de;padding:8px}textarea{flex:1;resize:none;height:44px;border:1px solid #d0d7de;border-radius:8px;padding:8px;font-size:16px}" +
    "[hidden]{display:none!important}" +
    /* Phones: the panel takes the whole screen (16 px inputs keep iOS from zooming in). */
    "@media (max-width:480px){.panel{inset:0!important;width:100%;max-width:none;height:100%;max-height:none;border-radius:0}.notify input{font-size:16px}.launcher[aria-expanded=true]{display:none}}" +
    ".notify{border-top:1px solid #d0d7de;padding:8px 12px;font-size:12px}.notify summary{cursor:pointer}.notify input{width:100%;margin:4px 0;padding:6px;border:1px solid #d0d7de;border-radius:6px}" +
    ".article{display:block;margin-top:6px;color:inherit;font-weight:600}.choices{display:flex;flex-wrap:wrap;gap:6px;margin-top:8px}.choice{border:1px solid #8c959f;background:#fff;border-radius:14px;padding:4px 12px;cursor:pointer;font-size:13px}" +
    ".avatar{display:inline-flex;align-items:center;justify-content:center;width:18px;height:18px;border-radius:50%;color:#fff;font-size:10px;font-weight:700;margin-right:4px;vertical-align:middle}" +
    ".read{font-size:11px;color:#57606a;text-align:right;margin:-4px 0 8px}.typing{font-size:12px;color:#57606a;margin:0;padding:0 12px;min-height:16px}" +
    ".peek{position:fixed;bottom:88px;max-width:280px;background:#fff;color:#1f2328;border:1px solid #d0d7de;border-radius:12px;box-shadow:0 4px 14px rgba(0,0,0,.2);padding:10px 12px;text-align:left;cursor:pointer;z-index:2147483000;font-size:13px}.peek strong{display:block;font-size:12px;margin-bottom:2px}" +
    ".prechat{border-top:1px solid #d0d7de;padding:8px 12px;font-size:12px}.prechat .intro{margin:0 0 4px}.prechat input{display:block;width:100%;margin:4px 0;padding:6px;border:1px solid #d0d7de;border-radius:6px;font-size:16px}.prechat .error{color:#a40e26;margin:2px 0 0}.prechat .error:empty{display:none}" +
    ".past{font-size:13px;margin:14px 0 8px}.none{font-size:13px}.offline{background:#fff8c5;font-size:12px;padding:6px 12px;margin:0}.offline[hidden]{display:none}.back{background:none;border:0;color:inherit;cursor:pointer;font-size:13px;padding:0 0 8px}";
  if (root.adoptedStyleSheets !== undefined && typeof CSSStyleSheet === "function" && CSSStyleSheet.prototype.replaceSync) {
    var sheet = new CSSStyleSheet();
    sheet.replaceSync(css);
    root.adoptedStyleSheets = [sheet];
  } else {
    root.appendChild(el("style", {}, css));
  }
  /* Icons drawn as SVG: emoji render as empty boxes where no emoji font is installed. */
  function icon(d, size) {
    var ns = "http://www.w3.org/2000/svg";
    var svg = document.createElementNS(ns, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("width", String(size));
    svg.setAttribute("height", String(size));
    svg.setAttribute("aria-hidden", "true");
    var path = document.createElementNS(ns, "path");
    path.setAttribute("fill", "currentColor");
    path.setAttribute("d", d);
    svg.appendChild(path);
    return svg;
  }
  var launcher = el("button", { class: "launcher", type: "button", "aria-expanded": "false" });
  launcher.appendChild(icon("M12 3C6.5 3 2 6.6 2 11c0 2.4 1.3 4.5 3.4 6L4.5 21l4.3-2.4c1 .3 2.1.4 3.2.4 5.5 0 10-3.6 10-8s-4.5-8-10-8z", 28));
  var badge = el("span", { class: "badge", hidden: "" }, "0");
  launcher.appendChild(badge);
  var panel = el("section", { class: "panel", hidden: "", role: "dialog" });
  var header = el("header");
  var title = el("h2");
  var closeBtn = el("button", { type: "button", class: "close" }, "×");
  header.appendChild(title);
  header.appendChild(closeBtn);
  var greeting = el("p", { class: "greeting" });
  var offline = el("p", { class: "offline", hidden: "" });
  var body = el("div", { class: "body", "aria-live": "polite" });
  var typing = el("p", { class: "typing", "aria-live": "polite" });
  var peek = el("button", { type: "button", class: "peek", hidden: "" });
  /* The pre-chat form: name and e-mail address before a new conversation's first message. */
  var prechat = el("div", { class: "prechat", hidden: "" });
  var prechatIntro = el("p", { class: "intro" });
  var nameInput = el("input", { type: "text", autocomplete: "name", class: "prechat-name" });
  var prechatEmail = el("input", { type: "email", autocomplete: "email", class: "prechat-email" });
  var prechatError = el("p", { class: "error", role: "alert" });
  [prechatIntro, nameInput, prechatEmail, prechatError].forEach(function (n) { prechat.appendChild(n); });
  var composer = el("form", { class: "composer" });
  var input = el("textarea", { rows: "2" });
  var sendBtn = el("button", { type: "submit", class: "primary send" });
  var fileInput = el("input", { type: "file", accept: "image/png,image/jpeg,image/gif,image/webp,application/pdf", hidden: "" });
  var attachBtn = el("button", { type: "button", class: "attach" });
  attachBtn.appendChild(icon("M16.5 6.5v10a4.5 4.5 0 0 1-9 0V5a3 3 0 0 1 6 0v10.5a1.5 1.5 0 0 1-3 0V6.5H9v9a3 3 0 0 0 6 0V5a4.5 4.5 0 0 0-9 0v11.5a6 6 0 0 0 12 0v-10z", 22));
  composer.appendChild(attachBtn);
  composer.appendChild(fileInput);
  composer.appendChild(input);
  composer.appendChild(sendBtn);
  var notify = el("details", { class: "notify" });
  var notifySummary = el("summary");
  var emailInput = el("input", { type: "email", autocomplete: "email" });
  var phoneInput = el("input", { type: "tel", autocomplete: "tel" });
  var notifySave = el("button", { type: "button", class: "primary" });
  var notifyDone = el("p", { role: "status" });
  [notifySummary, emailInput, phoneInput, notifySave, notifyDone].forEach(function (n) { notify.appendChild(n); });
  [header, greeting, offline, body, typing, prechat, composer, notify].forEach(function (n) { panel.appendChild(n); });
  root.appendChild(peek);
  root.appendChild(launcher);
  root.appendChild(panel);

  function applySettings(settings) {
    var side = settings.position === "left" ? "left" : "right";
    launcher.style[side] = "20px";
    panel.style[side] = "20px";
    peek.style[side] = "20px";
    [launcher, header, sendBtn, notifySave].forEach(function (n) { n.style.background = settings.color; });
    title.textContent = t("title");
    greeting.textContent = lang === "en" ? settings.greeting_en : settings.greeting_ja;
    launcher.setAttribute("aria-label", t("open"));
    closeBtn.setAttribute("aria-label", t("close"));
    panel.setAttribute("aria-label", t("title"));
    input.setAttribute("placeholder", t("placeholder"));
    input.setAttribute("aria-label", t("placeholder"));
    attachBtn.setAttribute("aria-label", t("attach"));
    attachBtn.setAttribute("title", t("attach"));
    sendBtn.textContent = t("send");
    offline.textContent = t("offline");
    notifySummary.textContent = t("notify_title");
    emailInput.setAttribute("placeholder", t("email"));
    emailInput.setAttribute("aria-label", t("email"));
    phoneInput.setAttribute("placeholder", t("phone"));
    phoneInput.setAttribute("aria-label", t("phone"));
    notifySave.textContent = t("save");
    prechatIntro.textContent = t("prechat_intro");
    nameInput.setAttribute("placeholder", t("your_name"));
    nameInput.setAttribute("aria-label", t("your_name"));
    prechatEmail.setAttribute("placeholder", t("email"));
    prechatEmail.setAttribute("aria-label", t("email"));
    if (settings.prechat === "required") prechatEmail.setAttribute("required", "");
    state.prechat = settings.prechat || "off";
    state.color = settings.color;
  }

  /* ---- rendering ---- */
  function setUnread(n) {
    state.unread = n;
    badge.textContent = String(n);
    if (n > 0) badge.removeAttribute("hidden"); else badge.setAttribute("hidden", "");
  }
  function renderList() {
    state.current = null;
    body.textContent = "";
    composer.setAttribute("hidden", "");
    prechat.setAttribute("hidden", "");
    var list = el("div", { class: "list" });
    var start = el("button", { type: "button", class: "primary new" }, t("new_conversation"));
    start.style.background = state.color;
    start.addEventListener("click", function () { openThread(null); });
    list.appendChild(start);
    list.appendChild(el("h3", { class: "past" }, t("past_conversations")));
    if (!state.conversations.length) list.appendChild(el("p", { class: "none" }, t("no_conversations")));
    state.conversations.forEach(function (c) {
      var label = new Date(c.last_activity_at).toLocaleString(lang === "en" ? "en" : "ja-JP") + (c.status === "resolved" ? " · " + t("status.resolved") : "");
      var b = el("button", { type: "button", class: "conv", "data-id": c.id }, label);
      b.addEventListener("click", function () { openThread(c.id); });
      list.appendChild(b);
    });
    body.appendChild(list);
  }
  function bubble(m, pending) {
    var who = { contact: t("you"), bot: t("bot"), system: t("automatic") }[m.sender_kind] || m.sender_name || t("staff");
    var div = el("div", { class: "msg " + m.sender_kind + (pending ? " pending" : "") });
    if (m.sender_kind === "contact") div.style.background = state.color;
    var label = el("span", { class: "who" });
    /* Staff are shown with their name and an initial, so the customer knows who answers. */
    if (m.sender_kind === "agent") {
      var badge = el("span", { class: "avatar", "aria-hidden": "true" }, (m.sender_name || t("staff")).charAt(0));
      badge.style.background = state.color;
      label.appendChild(badge);
    }
    label.appendChild(document.createTextNode(pending ? who + " · " + t("pending") : who));
    div.appendChild(label);
    var files = (m.meta && m.meta.attachments) || [];
    if (files.length) div.appendChild(fileList(files)); else div.appendChild(document.createTextNode(m.body));
    if (m.seq) div.setAttribute("data-seq", String(m.seq));
    if (m.meta) botExtras(div, m);
    return div;
  }
  /* Files come with the visitor token in a header (a cross-site <img> would carry no
   * credentials), so they are fetched and shown from blob URLs. */
  var fileUrls = {};
  function fileList(files) {
    var box = el("div", { class: "files" });
    files.forEach(function (f) {
      var image = f.content_type.indexOf("image/") === 0;
      var link = el("a", { href: "#", class: "file", download: f.name }, image ? "" : f.name);
      box.appendChild(link);
      var loaded = fileUrls[f.id] || (fileUrls[f.id] = fetch(base + "/widget/v1/attachments/" + f.id, { headers: { "X-Visitor-Token": state.token } })
        .then(function (r) { if (!r.ok) throw new Error(r.status); return r.blob(); })
        .then(function (blob) { return URL.createObjectURL(blob); }));
      loaded.then(function (url) {
        link.setAttribute("href", url);
        if (image) link.appendChild(el("img", { src: url, alt: f.name }));
      }, function () { delete fileUrls[f.id]; link.textContent = f.name; });
    });
    return box;
  }
  /* An answer the bot already got (its reply to 「はい／いいえ」 is in the thread), e.g. before a reload. */
  function answeredBefore(m) {
    return !!m.meta.turn_id && (state.messages[m.conversation_id] || []).some(function (x) {
      return x.meta && x.meta.kind === "bot_feedback" && x.meta.turn_id === m.meta.turn_id;
    });
  }
  /* Article links and answer buttons of a bot message. */
  function botExtras(div, m) {
    (m.meta.articles || []).forEach(function (a) {
      var link = el("a", { href: a.url, target: "_blank", rel: "noopener", class: "article" }, a.title);
      div.appendChild(link);
    });
    var survey = m.meta.kind === "rating" || m.meta.kind === "nps";
    var key = m.meta.turn_id || (survey ? m.meta.kind + "-" + m.id : null);
    if (!key || state.answered[key] || answeredBefore(m)) return;
    var row = el("div", { class: "choices" });
    (m.meta.buttons || []).forEach(function (b) {
      var button = el("button", { type: "button", class: "choice", "data-value": b.value }, b.label);
      button.addEventListener("click", function () {
        state.answered[key] = true;
        row.remove();
        var path = "/widget/v1/conversations/" + m.conversation_id;
        var sent = survey
          ? api("POST", path + "/" + m.meta.kind, { score: Number(b.value) })
          : api("POST", path + "/bot-feedback", { turn_id: m.meta.turn_id, resolved: b.value === "yes" });
        sent.catch(function () { state.answered[key] = false; });
      });
      row.appendChild(button);
    });
    div.appendChild(row);
  }
  function renderThread() {
    body.textContent = "";
    var back = el("button", { type: "button", class: "back" }, "← " + t("back"));
    back.addEventListener("click", function () { refreshList().then(renderList); });
    body.appendChild(back);
    var thread = el("div", { class: "thread" });
    if (!state.current && state.scenario.length) thread.appendChild(scenarioNode());
    /* 既読 under the customer's newest message once staff have read that far. */
    var list = state.messages[state.current] || [];
    var mine = list.filter(function (m) { return m.sender_kind === "contact"; });
    var newest = mine.length ? mine[mine.length - 1].seq : null;
    var conv = state.conversations.filter(function (c) { return c.id === state.current; })[0];
    list.forEach(function (m) {
      thread.appendChild(bubble(m, false));
      if (m.seq === newest && conv && conv.agent_read_seq >= newest) thread.appendChild(el("p", { class: "read" }, t("read")));
    });
    outbox().forEach(function (item) {
      if (item.conversation === state.current) thread.appendChild(bubble({ sender_kind: "contact", body: item.body }, true));
    });
    body.appendChild(thread);
    markRead();
    if (!state.current && needsPrechat()) prechat.removeAttribute("hidden"); else prechat.setAttribute("hidden", "");
    if (state.current) attachBtn.removeAttribute("hidden"); else attachBtn.setAttribute("hidden", "");
    composer.removeAttribute("hidden");
    body.scrollTop = body.scrollHeight;
  }
  /* The bot's button tree, shown while a new conversation has no message yet. */
  function scenarioNode() {
    var node = state.scenario.filter(function (n) { return n.id === state.node; })[0] || state.scenario[0];
    var div = el("div", { class: "msg bot scenario", "data-node": node.id });
    div.appendChild(el("span", { class: "who" }, t("bot")));
    div.appendChild(document.createTextNode(node.text));
    if (node.article) div.appendChild(el("a", { href: node.article.url, target: "_blank", rel: "noopener", class: "article" }, node.article.title));
    if (node.ask_email) notify.setAttribute("open", "");
    var row = el("div", { class: "choices" });
    node.choices.forEach(function (c) {
      var b = el("button", { type: "button", class: "choice", "data-next": c.next }, c.label);
      b.addEventListener("click", function () {
        state.node = c.next;
        fetch(base + "/widget/v1/channels/" + encodeURIComponent(key) + "/scenario/" + encodeURIComponent(c.next), { method: "POST" });
        renderThread();
      });
      row.appendChild(b);
    });
    div.appendChild(row);
    return div;
  }
  function addMessage(conversationId, m) {
    var list = state.messages[conversationId] || (state.messages[conversationId] = []);
    if (list.some(function (x) { return x.seq === m.seq; })) return false;
    list.push(m);
    list.sort(function (a, b) { return a.seq - b.seq; });
    state.lastSeq[conversationId] = Math.max(state.lastSeq[conversationId] || 0, m.seq);
    return true;
  }

  /* ---- data ---- */
  function refreshList() {
    return api("GET", "/widget/v1/conversations").then(function (d) { state.conversations = d.conversations; });
  }
  function openThread(id) {
    state.current = id;
    if (!id) { renderThread(); input.focus(); return Promise.resolve(); }
    return api("GET", "/widget/v1/conversations/" + id + "/messages?after_seq=" + (state.lastSeq[id] || 0)).then(function (d) {
      d.messages.forEach(function (m) { addMessage(id, m); });
      renderThread();
      input.focus();
    });
  }
  function flushOutbox() {
    var items = outbox();
    if (!items.length || state.flushing) return Promise.resolve();
    state.flushing = true;
    var item = items[0];
    var request = item.conversation
      ? api("POST", "/widget/v1/conversations/" + item.conversation + "/messages", { body: item.body, client_id: item.client_id })
      : api("POST", "/widget/v1/conversations", { body: item.body, client_id: item.client_id, scenario_node: item.scenario_node || null, contact: item.contact || undefined, locale: lang });
    return request.then(function (d) {
      var conversationId = item.conversation || d.conversation.id;
      if (!item.conversation) {
        state.conversations.unshift(d.conversation);
        if (item.contact) state.contact = Object.assign({}, state.contact, item.contact);
        if (state.current === null) state.current = conversationId;
        if (!state.ws) connect();
        var rest = outbox().slice(1).map(function (o) { if (!o.conversation) o.conversation = conversationId; return o; });
        setOutbox(rest);
      } else {
        setOutbox(outbox().slice(1));
      }
      addMessage(conversationId, d.message);
      offline.setAttribute("hidden", "");
      state.flushing = false;
      if (state.current === conversationId) renderThread();
      return flushOutbox();
    }, function (err) {
      state.flushing = false;
      if (err.status && err.status >= 400 && err.status < 500 && err.status !== 429) {
        setOutbox(outbox().slice(1)); // rejected for good (e.g. too long): drop it, keep the rest going
        return flushOutbox();
      }
      offline.removeAttribute("hidden");
    });
  }
  /* The pre-chat form shows until the visitor's name and e-mail address are known. */
  function needsPrechat() {
    var known = state.contact || {};
    return state.prechat !== "off" && !(known.name && known.email);
  }
  /* Details for a new conversation: what the visitor typed, else what the shop's page says
   * (for a signed-in user only once the server verified them). */
  function newContactDetails() {
    var details = {};
    var shop = state.shopDetails ? data : {};
    var name = nameInput.value.trim() || (shop.userName || "");
    var email = prechatEmail.value.trim() || (shop.userEmail || "");
    var known = state.contact || {};
    if (name && !known.name) details.name = name;
    if (email && !known.email) details.email = email;
    return Object.keys(details).length ? details : null;
  }
  function send(text) {
    var items = outbox();
    var item = { conversation: state.current, body: text, client_id: newClientId(), scenario_node: state.current ? null : state.node };
    if (!state.current) item.contact = newContactDetails();
    items.push(item);
    setOutbox(items);
    renderThread();
    return flushOutbox();
  }

  var uploadError = el("p", { class: "upload-error", role: "alert" });
  panel.insertBefore(uploadError, composer);
  attachBtn.addEventListener("click", function () { fileInput.click(); });
  fileInput.addEventListener("change", function () {
    var file = fileInput.files[0];
    var id = state.current;
    if (!file || !id) return;
    uploadError.textContent = "";
    var path = "/widget/v1/conversations/" + id + "/attachments?name=" + encodeURIComponent(file.name) + "&client_id=" + newClientId();
    fetch(base + path, { method: "POST", headers: { "Content-Type": "application/octet-stream", "X-Visitor-Token": state.token }, body: file })
      .then(function (r) { return r.json().then(function (d) { if (!r.ok) throw new Error((d.error && d.error.message) || r.status); return d; }); })
      .then(function (m) { if (addMessage(id, m) && state.current === id) renderThread(); },
        function (err) { uploadError.textContent = err.message; })
      .finally(function () { fileInput.value = ""; });
  });

  /* What the visitor has seen of the open conversation (only while the panel is open in view). */
  function markRead() {
    var id = state.current, list = state.messages[id] || [];
    if (!id || !state.open || document.hidden || !list.length) return;
    var seq = list[list.length - 1].seq;
    if (seq <= (state.readSent[id] || 0)) return;
    state.readSent[id] = seq;
    api("POST", "/widget/v1/conversations/" + id + "/read", { seq: seq }).catch(function () { state.readSent[id] = 0; });
  }
  document.addEventListener("visibilitychange", markRead);
  function showTyping(name) {
    typing.textContent = t("agent_typing").replace("{name}", name || t("staff"));
    clearTimeout(state.typingTimer);
    state.typingTimer = setTimeout(function () { typing.textContent = ""; }, 6000);
  }
  function sendTyping() {
    var now = Date.now();
    if (!state.ws || state.ws.readyState !== 1 || !state.current || now - (state.typedAt || 0) < 3000) return;
    state.typedAt = now;
    state.ws.send(JSON.stringify({ type: "typing", conversation_id: state.current }));
  }
  /* While the panel is closed, a new reply shows as a small card above the launcher. */
  function preview(m) {
    peek.textContent = "";
    peek.appendChild(el("strong", {}, m.sender_name || t(m.sender_kind === "bot" ? "bot" : "staff")));
    peek.appendChild(el("span", {}, m.body.length > 90 ? m.body.slice(0, 90) + "…" : m.body));
    peek.removeAttribute("hidden");
  }

  /* ---- live updates ---- */
  function connect() {
    var ws = new WebSocket(wsBase + "/widget/v1/ws?visitor_token=" + encodeURIComponent(state.token));
    state.ws = ws;
    ws.onopen = function () {
      state.retry = 0;
      Object.keys(state.lastSeq).forEach(function (id) {
        ws.send(JSON.stringify({ type: "resume", conversation_id: id, after_seq: state.lastSeq[id] }));
      });
      flushOutbox();
    };
    ws.onmessage = function (event) {
      var frame = JSON.parse(event.data);
      if (frame.type === "typing") {
        if (state.open && state.current === frame.conversation_id) showTyping(frame.name);
        return;
      }
      if (frame.type === "conversation.updated") {
        state.conversations = state.conversations.map(function (c) { return c.id === frame.conversation_id ? frame.conversation : c; });
        if (state.open && state.current === frame.conversation_id) renderThread();
        return;
      }
      if (frame.type !== "message.created") return;
      var m = frame.message;
      var isNew = addMessage(frame.conversation_id, m);
      if (!isNew) return;
      if (m.sender_kind !== "contact") typing.textContent = "";
      if (state.open && state.current === frame.conversation_id) renderThread();
      else if (!state.open && m.sender_kind !== "contact") { setUnread(state.unread + 1); state.current = frame.conversation_id; preview(m); }
    };
    ws.onclose = function () {
      state.ws = null;
      if (!state.conversations.length) return;
      state.retry = Math.min(state.retry + 1, 6);
      setTimeout(connect, 500 * Math.pow(2, state.retry - 1));
    };
  }

  /* ---- events ---- */
  function closePanel() {
    state.open = false;
    panel.setAttribute("hidden", "");
    launcher.setAttribute("aria-expanded", "false");
    launcher.focus();
  }
  peek.addEventListener("click", function () { launcher.click(); });
  launcher.addEventListener("click", function () {
    peek.setAttribute("hidden", "");
    if (state.open) { closePanel(); return; }
    state.open = true;
    launcher.setAttribute("aria-expanded", "true");
    panel.removeAttribute("hidden");
    setUnread(0);
    /* Focus moves into the dialog (its close button until the content is drawn). */
    closeBtn.focus();
    if (state.current) openThread(state.current); else refreshList().then(renderList);
  });
  closeBtn.addEventListener("click", closePanel);
  panel.addEventListener("keydown", function (e) { if (e.key === "Escape") { e.preventDefault(); closePanel(); } });
  composer.addEventListener("submit", function (e) {
    e.preventDefault();
    var text = input.value;
    if (!text.trim()) return;
    var missing = state.prechat === "required" && !prechatEmail.value.trim() && !(state.shopDetails && data.userEmail);
    if (!state.current && needsPrechat() && (missing || !prechatEmail.checkValidity())) {
      prechatError.textContent = t("email_required");
      prechatEmail.focus();
      return;
    }
    prechatError.textContent = "";
    input.value = "";
    send(text);
  });
  input.addEventListener("input", sendTyping);
  input.addEventListener("keydown", function (e) {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) { e.preventDefault(); composer.requestSubmit(); }
  });
  notifySave.addEventListener("click", function () {
    var patch = {};
    if (emailInput.value.trim()) patch.email = emailInput.value.trim();
    if (phoneInput.value.trim()) patch.phone = phoneInput.value.trim();
    api("PATCH", "/widget/v1/contact", patch).then(function () { notifyDone.textContent = t("saved"); },
      function (err) { notifyDone.textContent = (err.data && err.data.error && err.data.error.message) || String(err); });
  });
  window.addEventListener("online", function () { flushOutbox(); });
  setInterval(function () { if (outbox().length) flushOutbox(); }, 5000);

  /* ---- start ---- */
  fetch(base + "/widget/v1/channels/" + encodeURIComponent(key) + "?locale=" + lang + "&path=" + encodeURIComponent(location.pathname))
    .then(function (r) { return r.json(); })
    .then(function (config) {
      if (!config.show) return;
      T = config.strings;
      state.scenario = config.scenario || [];
      /* Offer only the ways a reply can really reach the visitor. */
      var reach = config.notify || {};
      if (!reach.email) emailInput.setAttribute("hidden", "");
      if (!reach.sms) phoneInput.setAttribute("hidden", "");
      if (!reach.email && !reach.sms) notify.setAttribute("hidden", "");
      applySettings(config.settings);
      return api("POST", "/widget/v1/session", { channel_key: key, visitor_token: loadToken() || undefined, user: user }).then(function (session) {
        saveToken(session.visitor_token);
        state.conversations = session.conversations;
        state.contact = session.contact;
        state.shopDetails = !user || session.user_verified;
        /* Shown once it works: a launcher clicked before the session exists would open nothing. */
        document.body.appendChild(host);
        if (state.conversations.length) connect();
        flushOutbox();
        if (script.dataset.open === "auto") {
          var wanted = new URLSearchParams(location.search).get("conversation");
          state.open = true;
          panel.removeAttribute("hidden");
          if (wanted && state.conversations.some(function (c) { return c.id === wanted; })) openThread(wanted); else renderList();
        }
      });
    })
    .catch(function (err) { if (window.console) console.warn("madoguchi widget:", err); });
})();
