/* Admin pages: agents, channels (widget settings and the embed snippet), tags, templates. */
(function () {
  "use strict";
  var M = window.MDG, t = M.t, el = M.el, api = M.api;
  var app;

  function section(id, title) {
    var s = el("section", { class: "card", id: id, "aria-labelledby": id + "-title" });
    s.appendChild(el("h2", { id: id + "-title" }, title));
    app.appendChild(s);
    return s;
  }
  function field(form, label, input) {
    var id = "f-" + Math.random().toString(36).slice(2);
    input.id = id;
    var wrap = el("div");
    wrap.appendChild(el("label", { for: id, class: "field-label" }, label));
    wrap.appendChild(input);
    form.appendChild(wrap);
    return input;
  }
  function status(node, text) { node.textContent = text; }

  function agents() {
    var s = section("agents", t("admin.agents"));
    var table = el("table");
    s.appendChild(table);
    var form = el("form");
    var email = field(form, t("inbox.email"), el("input", { type: "email", required: "" }));
    var name = field(form, t("admin.name"), el("input", { required: "" }));
    var password = field(form, t("inbox.password"), el("input", { type: "password", minlength: "8", required: "" }));
    var role = field(form, t("admin.role"), el("select"));
    ["agent", "admin"].forEach(function (r) { role.appendChild(el("option", { value: r }, r)); });
    form.appendChild(el("button", { type: "submit", class: "primary" }, t("admin.create")));
    var msg = el("p", { role: "status" });
    s.appendChild(form);
    s.appendChild(msg);
    function load() {
      api("GET", "/api/v1/agents").then(function (d) {
        table.textContent = "";
        d.agents.forEach(function (a) {
          var tr = el("tr");
          [a.name, a.email, a.role, a.locale].forEach(function (v) { tr.appendChild(el("td", {}, v)); });
          table.appendChild(tr);
        });
      });
    }
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      api("POST", "/api/v1/agents", { email: email.value, name: name.value, password: password.value, role: role.value })
        .then(function () { form.reset(); status(msg, t("admin.saved")); load(); }, function (err) { status(msg, err.message); });
    });
    load();
  }

  function channelCard(parent, c) {
    var form = el("form", { "data-channel": c.id });
    var st = c.settings;
    var name = field(form, t("admin.name"), el("input", { value: c.name }));
    var color = field(form, t("admin.color"), el("input", { type: "color", value: st.color }));
    var position = field(form, t("admin.position"), el("select"));
    ["right", "left"].forEach(function (p) { var o = el("option", { value: p }, p); if (st.position === p) o.selected = true; position.appendChild(o); });
    var gja = field(form, t("admin.greeting_ja"), el("textarea", { rows: "2", cols: "40" }));
    gja.value = st.greeting_ja;
    var gen = field(form, t("admin.greeting_en"), el("textarea", { rows: "2", cols: "40" }));
    gen.value = st.greeting_en;
    var show = field(form, t("admin.show_on"), el("textarea", { rows: "3", cols: "30" }));
    show.value = st.show_on.join("\n");
    var hide = field(form, t("admin.hide_on"), el("textarea", { rows: "3", cols: "30" }));
    hide.value = st.hide_on.join("\n");
    form.appendChild(el("button", { type: "submit", class: "primary" }, t("admin.save")));
    var msg = el("p", { role: "status" });
    var lines = function (v) { return v.split("\n").map(function (x) { return x.trim(); }).filter(Boolean); };
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      api("PATCH", "/api/v1/channels/" + c.id, { name: name.value, settings: {
        color: color.value, position: position.value, greeting_ja: gja.value, greeting_en: gen.value, show_on: lines(show.value), hide_on: lines(hide.value)
      } }).then(function () { status(msg, t("admin.saved")); }, function (err) { status(msg, err.message); });
    });
    parent.appendChild(el("h3", {}, c.name));
    parent.appendChild(el("p", {}, t("admin.embed")));
    parent.appendChild(el("pre", { class: "embed" }, '<script src="' + location.origin + '/widget.js" data-channel="' + c.public_key + '" async></script>'));
    parent.appendChild(form);
    parent.appendChild(msg);
    automationForm(parent, c);
    scenarioForm(parent, c);
  }

  /* The bot's button tree as JSON, with clicks per node. */
  function scenarioForm(parent, c) {
    var box = el("details", { class: "scenario" });
    box.appendChild(el("summary", {}, t("admin.scenario")));
    parent.appendChild(box);
    var form = el("form", { "data-scenario": c.id });
    var text = field(form, t("admin.scenario_help"), el("textarea", { rows: "12", cols: "80", spellcheck: "false" }));
    form.appendChild(el("button", { type: "submit", class: "primary" }, t("admin.save")));
    var msg = el("p", { role: "status" });
    var clicks = el("table");
    box.appendChild(form);
    box.appendChild(msg);
    box.appendChild(clicks);
    api("GET", "/api/v1/channels/" + c.id + "/scenario").then(function (sc) { text.value = JSON.stringify(sc, null, 2); });
    api("GET", "/api/v1/channels/" + c.id + "/scenario/clicks").then(function (rows) {
      rows.forEach(function (r) { var tr = el("tr"); tr.appendChild(el("td", {}, r.node_id)); tr.appendChild(el("td", {}, String(r.clicks))); clicks.appendChild(tr); });
    });
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      var parsed;
      try { parsed = JSON.parse(text.value); } catch (err) { status(msg, err.message); return; }
      api("PUT", "/api/v1/channels/" + c.id + "/scenario", parsed).then(function () { status(msg, t("admin.saved")); }, function (err) { status(msg, err.message); });
    });
  }

  /* Business hours, auto-replies and notifications of a channel. */
  function automationForm(parent, c) {
    var box = el("details", { class: "automation" });
    box.appendChild(el("summary", {}, t("admin.automation")));
    parent.appendChild(box);
    api("GET", "/api/v1/channels/" + c.id + "/automation").then(function (a) {
      var form = el("form", { "data-automation": c.id });
      var locale = field(form, t("admin.locale"), el("select"));
      ["ja", "en"].forEach(function (l) { var o = el("option", { value: l }, l); if (a.locale === l) o.selected = true; locale.appendChild(o); });
      var weekly = field(form, t("admin.weekly"), el("textarea", { rows: "5", cols: "24" }));
      weekly.value = a.hours.weekly.map(function (s) { return s.day + " " + s.start + "-" + s.end; }).join("\n");
      var holidays = field(form, t("admin.closed_on_holidays"), el("input", { type: "checkbox" }));
      holidays.checked = a.hours.closed_on_holidays;
      var closed = field(form, t("admin.closed_days"), el("textarea", { rows: "3", cols: "14" }));
      closed.value = a.hours.closed_days.join("\n");
      function reply(key, label) {
        var on = field(form, label + " — " + t("admin.enabled"), el("input", { type: "checkbox" }));
        on.checked = a[key].enabled;
        var ja = field(form, label + " (ja)", el("textarea", { rows: "2", cols: "40" }));
        ja.value = a[key].ja;
        var en = field(form, label + " (en)", el("textarea", { rows: "2", cols: "40" }));
        en.value = a[key].en;
        return function () { return { enabled: on.checked, ja: ja.value, en: en.value }; };
      }
      var greeting = reply("greeting", t("admin.greeting"));
      var expectation = reply("expectation", t("admin.expectation"));
      var after = field(form, t("admin.expect_after_secs"), el("input", { type: "number", min: "1", value: String(a.expect_after_secs) }));
      var away = reply("away", t("admin.away"));
      var email = field(form, t("admin.notify_email"), el("input", { type: "checkbox" }));
      email.checked = a.notify_email;
      var sms = field(form, t("admin.notify_sms"), el("input", { type: "checkbox" }));
      sms.checked = a.notify_sms;
      var notifyAfter = field(form, t("admin.notify_after_secs"), el("input", { type: "number", min: "0", value: String(a.notify_after_secs) }));
      form.appendChild(el("button", { type: "submit", class: "primary" }, t("admin.save")));
      var msg = el("p", { role: "status" });
      form.addEventListener("submit", function (e) {
        e.preventDefault();
        var spans = weekly.value.split("\n").map(function (l) { return l.trim(); }).filter(Boolean).map(function (l) {
          var m = l.split(/\s+/), times = (m[1] || "").split("-");
          return { day: m[0], start: times[0] || "", end: times[1] || "" };
        });
        api("PUT", "/api/v1/channels/" + c.id + "/automation", {
          locale: locale.value,
          hours: { weekly: spans, closed_on_holidays: holidays.checked,
            closed_days: closed.value.split("\n").map(function (x) { return x.trim(); }).filter(Boolean) },
          greeting: greeting(), expectation: expectation(), expect_after_secs: Number(after.value), away: away(),
          notify_email: email.checked, notify_sms: sms.checked, notify_after_secs: Number(notifyAfter.value)
        }).then(function () { status(msg, t("admin.saved")); }, function (err) { status(msg, err.message); });
      });
      box.appendChild(form);
      box.appendChild(msg);
    });
  }
  function channels() {
    var s = section("channels", t("admin.channels"));
    var list = el("div");
    s.appendChild(list);
    var form = el("form");
    var name = field(form, t("admin.name"), el("input", { required: "" }));
    form.appendChild(el("button", { type: "submit", class: "primary" }, t("admin.create")));
    s.appendChild(form);
    function load() {
      api("GET", "/api/v1/channels").then(function (d) {
        list.textContent = "";
        d.channels.forEach(function (c) { channelCard(list, c); });
      });
    }
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      api("POST", "/api/v1/channels", { name: name.value }).then(function () { form.reset(); load(); });
    });
    load();
  }

  /* A list of named items with delete buttons and a create form. */
  function simpleList(id, title, path, key, describe, fields) {
    var s = section(id, title);
    var table = el("table");
    s.appendChild(table);
    var form = el("form");
    var inputs = fields.map(function (f) { return [f[0], field(form, f[1], f[2])]; });
    form.appendChild(el("button", { type: "submit", class: "primary" }, t("admin.create")));
    var msg = el("p", { role: "status" });
    s.appendChild(form);
    s.appendChild(msg);
    function load() {
      api("GET", path).then(function (d) {
        table.textContent = "";
        d[key].forEach(function (item) {
          var tr = el("tr");
          describe(item).forEach(function (v) { tr.appendChild(el("td", {}, v)); });
          var td = el("td");
          td.appendChild(el("button", { type: "button", "aria-label": t("admin.delete") + " " + item.name,
            on: { click: function () { api("DELETE", path + "/" + item.id).then(load); } } }, t("admin.delete")));
          tr.appendChild(td);
          table.appendChild(tr);
        });
      });
    }
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      var body = {};
      inputs.forEach(function (i) { body[i[0]] = i[1].value; });
      api("POST", path, body).then(function () { form.reset(); status(msg, t("admin.saved")); load(); }, function (err) { status(msg, err.message); });
    });
    load();
  }

  /* Knowledge base: articles with alternative questions, draft or published. */
  function knowledge() {
    var s = section("articles", t("admin.articles"));
    var table = el("table");
    s.appendChild(table);
    var form = el("form", { id: "article-form" });
    var id = null;
    var title = field(form, t("admin.article_title"), el("input", { required: "", size: "50" }));
    var category = field(form, t("admin.category"), el("input"));
    var locale = field(form, t("admin.locale"), el("select"));
    ["ja", "en"].forEach(function (l) { locale.appendChild(el("option", { value: l }, l)); });
    var statusSelect = field(form, t("admin.status"), el("select"));
    ["draft", "published"].forEach(function (v) { statusSelect.appendChild(el("option", { value: v }, t("admin.status." + v))); });
    var alternatives = field(form, t("admin.alternatives"), el("textarea", { rows: "3", cols: "50" }));
    var body = field(form, t("admin.article_body"), el("textarea", { rows: "8", cols: "70", required: "" }));
    form.appendChild(el("button", { type: "submit", class: "primary" }, t("admin.save")));
    var msg = el("p", { role: "status" });
    s.appendChild(form);
    s.appendChild(msg);
    function edit(a) {
      id = a ? a.id : null;
      title.value = a ? a.title : ""; category.value = a ? a.category : ""; locale.value = a ? a.locale : "ja";
      statusSelect.value = a ? a.status : "draft"; alternatives.value = a ? a.alternatives.join("\n") : ""; body.value = a ? a.body : "";
      title.focus();
    }
    function load() {
      api("GET", "/api/v1/articles").then(function (d) {
        table.textContent = "";
        d.articles.forEach(function (a) {
          var tr = el("tr");
          [a.category, a.title, t("admin.status." + a.status)].forEach(function (v) { tr.appendChild(el("td", {}, v)); });
          var td = el("td");
          td.appendChild(el("button", { type: "button", on: { click: function () { edit(a); } } }, t("admin.edit")));
          td.appendChild(el("button", { type: "button", on: { click: function () { api("DELETE", "/api/v1/articles/" + a.id).then(load); } } }, t("admin.delete")));
          tr.appendChild(td);
          table.appendChild(tr);
        });
      });
    }
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      var payload = { title: title.value, category: category.value, locale: locale.value, status: statusSelect.value, body: body.value,
        alternatives: alternatives.value.split("\n").map(function (x) { return x.trim(); }).filter(Boolean) };
      (id ? api("PUT", "/api/v1/articles/" + id, payload) : api("POST", "/api/v1/articles", payload))
        .then(function () { edit(null); status(msg, t("admin.saved")); load(); }, function (err) { status(msg, err.message); });
    });
    load();
  }

  /* The bot's quality loop: review answers, teach wordings, watch the rates. */
  function review() {
    var s = section("bot-review", t("admin.bot_review"));
    var rates = el("div", { class: "rates" });
    var table = el("table");
    s.appendChild(rates);
    s.appendChild(table);
    function pct(v) { return v === null || v === undefined ? "—" : Math.round(v * 100) + "%"; }
    function load() {
      api("GET", "/api/v1/bot/rates?days=30").then(function (r) {
        rates.textContent = "";
        rates.appendChild(el("p", {}, t("admin.accuracy") + " " + pct(r.accuracy) + " · " + t("admin.resolution") + " " + pct(r.resolution) + " · " + t("admin.satisfaction") + " " + pct(r.satisfaction)));
        var chart = el("div", { class: "chart", role: "img", "aria-label": t("admin.resolution") });
        r.days.forEach(function (d) {
          var bar = el("span", { class: "bar", title: d.date + " " + pct(d.resolution) });
          bar.style.height = Math.round((d.resolution || 0) * 60 + 2) + "px";
          chart.appendChild(bar);
        });
        rates.appendChild(chart);
      });
      Promise.all([api("GET", "/api/v1/bot/turns"), api("GET", "/api/v1/articles")]).then(function (res) {
        var articles = res[1].articles;
        table.textContent = "";
        res[0].turns.forEach(function (turn) {
          var tr = el("tr");
          var shown = (turn.shown[0] || {}).title || "—";
          [M.time(turn.created_at), turn.query, shown, turn.outcome, turn.review || ""].forEach(function (v) { tr.appendChild(el("td", {}, v)); });
          var td = el("td");
          td.appendChild(el("button", { type: "button", on: { click: function () { api("PATCH", "/api/v1/bot/turns/" + turn.id, { review: "correct" }).then(load); } } }, t("admin.correct")));
          var pick = el("select", { "aria-label": t("admin.right_article") });
          pick.appendChild(el("option", { value: "" }, t("admin.wrong") + "…"));
          articles.forEach(function (a) { pick.appendChild(el("option", { value: a.id }, a.title)); });
          pick.addEventListener("change", function () {
            var body = { review: "wrong" };
            if (pick.value) body.correct_article_id = pick.value;
            api("PATCH", "/api/v1/bot/turns/" + turn.id, body).then(load);
          });
          td.appendChild(pick);
          tr.appendChild(td);
          table.appendChild(tr);
        });
      });
    }
    load();
  }

  function synonyms() {
    var s = section("synonyms", t("admin.synonyms"));
    var form = el("form");
    var text = field(form, t("admin.synonyms_help"), el("textarea", { rows: "5", cols: "50" }));
    form.appendChild(el("button", { type: "submit", class: "primary" }, t("admin.save")));
    var msg = el("p", { role: "status" });
    s.appendChild(form);
    s.appendChild(msg);
    api("GET", "/api/v1/synonyms").then(function (d) { text.value = d.groups.map(function (g) { return g.join(", "); }).join("\n"); });
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      var groups = text.value.split("\n").map(function (l) { return l.split(/[,、]/).map(function (w) { return w.trim(); }).filter(Boolean); }).filter(function (g) { return g.length > 1; });
      api("PUT", "/api/v1/synonyms", { groups: groups }).then(function () { status(msg, t("admin.saved")); }, function (err) { status(msg, err.message); });
    });
  }

  api("GET", "/api/v1/me").then(function (me) { return M.loadStrings(me.locale); }).then(function () {
    app = document.getElementById("app");
    app.removeAttribute("aria-busy");
    app.className = "admin";
    var top = el("header", { class: "topbar" });
    top.appendChild(el("h1", {}, "Madoguchi · " + t("admin.title")));
    top.appendChild(el("a", { href: "/inbox" }, t("admin.back")));
    document.body.insertBefore(top, app);
    agents();
    channels();
    simpleList("tags", t("admin.tags"), "/api/v1/tags", "tags", function (x) { return [x.name, String(x.conversations)]; },
      [["name", t("admin.name"), el("input", { required: "", maxlength: "50" })]]);
    var body = el("textarea", { rows: "3", cols: "50", required: "" });
    simpleList("templates", t("admin.templates"), "/api/v1/templates", "templates", function (x) { return [x.name, x.body]; },
      [["name", t("admin.name"), el("input", { required: "" })], ["body", t("admin.body"), body]]);
    knowledge();
    synonyms();
    review();
  });
})();
