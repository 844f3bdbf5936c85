/* Reports (/reports, admins): a tile per KPI with its target and the gap coloured, a chart per
 * KPI over the period (SVG drawn here, nothing from a CDN), a period and channel picker, the
 * CSV of the report, and a drill-down from any number to the conversations it counts. */
(function () {
  "use strict";
  var M = window.MDG, t = M.t, el = M.el, api = M.api;
  var SVG = "http://www.w3.org/2000/svg";
  /* Each KPI: how to show it, and whether it meets its target. */
  var KPIS = [
    ["conversations", "count", null],
    ["first_response_p50_s", "duration", function (v, g) { return v <= g.first_response_s; }, "first_response_s"],
    ["first_response_p90_s", "duration", null],
    ["first_response_business_p50_s", "duration", function (v, g) { return v <= g.first_response_s; }, "first_response_s"],
    ["handle_time_avg_s", "duration", function (v, g) { return v >= g.handle_time_min_s && v <= g.handle_time_max_s; }, "handle_time"],
    ["fcr_rate", "rate", function (v, g) { return v >= g.fcr_rate; }, "fcr_rate"],
    ["csat_rate", "rate", function (v, g) { return v >= g.csat_rate; }, "csat_rate"],
    ["nps", "score", null],
    ["abandonment_rate", "rate", function (v, g) { return v < g.abandonment_rate; }, "abandonment_rate"],
    ["recontact_rate", "rate", function (v, g) { return v < g.recontact_rate; }, "recontact_rate"],
    ["complaint_rate", "rate", function (v, g) { return v < g.complaint_rate; }, "complaint_rate"],
    ["backlog", "count", null],
    ["missed", "count", function (v, g) { return v <= g.missed; }, "missed"],
    ["self_resolution_rate", "rate", function (v, g) { return v >= g.self_resolution_rate; }, "self_resolution_rate"]
  ];
  var S = { from: "", to: "", channel: "", brand: "", by: "day", report: null, channels: [], brands: [] };
  var main;

  function duration(s) {
    if (s === null || s === undefined) return "—";
    if (s < 60) return t("reports.seconds").replace("{n}", s);
    var m = Math.floor(s / 60), r = s % 60;
    if (m < 60) return (r ? t("reports.minutes") : t("reports.minutes_only")).replace("{m}", m).replace("{s}", r);
    return t("reports.hours").replace("{h}", Math.floor(m / 60)).replace("{m}", m % 60);
  }
  function show(kind, v) {
    if (v === null || v === undefined) return "—";
    if (kind === "duration") return duration(v);
    if (kind === "rate") return (Math.round(v * 1000) / 10) + "%";
    if (kind === "score") return String(Math.round(v));
    return String(v);
  }
  function targetText(key, g) {
    switch (key) {
      case "first_response_s": return "≤ " + duration(g.first_response_s);
      case "handle_time": return duration(g.handle_time_min_s) + "–" + duration(g.handle_time_max_s);
      case "missed": return "≤ " + g.missed;
      case "abandonment_rate": case "recontact_rate": case "complaint_rate": return "< " + show("rate", g[key]);
      default: return "≥ " + show("rate", g[key]);
    }
  }
  function query(extra) {
    var p = [];
    if (S.from) p.push("from=" + S.from);
    if (S.to) p.push("to=" + S.to);
    if (S.channel) p.push("channel=" + encodeURIComponent(S.channel));
    if (S.brand) p.push("brand=" + encodeURIComponent(S.brand));
    return p.concat(extra || []).join("&");
  }

  /* A line chart of one KPI over the report's periods, with its first and last dates. */
  function chart(kpi, kind) {
    var groups = S.report.groups, w = 260, h = 90, pad = 18;
    var values = groups.map(function (g) { return g[kpi[0]]; });
    var known = values.filter(function (v) { return v !== null && v !== undefined; });
    var svg = document.createElementNS(SVG, "svg");
    svg.setAttribute("viewBox", "0 0 " + w + " " + (h + pad));
    svg.setAttribute("class", "kpi-chart");
    svg.setAttribute("role", "img");
    svg.setAttribute("aria-label", t("reports.kpi." + kpi[0]) + ": " + groups.map(function (g, i) { return g.key + " " + show(kind, values[i]); }).join(", "));
    var max = Math.max.apply(null, known.concat([kind === "rate" ? 1 : 1]));
    var x = function (i) { return groups.length < 2 ? w / 2 : 4 + i * (w - 8) / (groups.length - 1); };
    var y = function (v) { return h - 4 - (v / max) * (h - 12); };
    var base = document.createElementNS(SVG, "line");
    [["x1", 0], ["x2", w], ["y1", h - 4], ["y2", h - 4]].forEach(function (a) { base.setAttribute(a[0], a[1]); });
    base.setAttribute("class", "axis");
    svg.appendChild(base);
    var path = "", dots = [];
    values.forEach(function (v, i) {
      if (v === null || v === undefined) return;
      path += (path ? " L" : "M") + x(i).toFixed(1) + " " + y(v).toFixed(1);
      dots.push([x(i), y(v)]);
    });
    if (path) {
      var line = document.createElementNS(SVG, "path");
      line.setAttribute("d", path);
      line.setAttribute("class", "line");
      svg.appendChild(line);
      dots.forEach(function (d) {
        var c = document.createElementNS(SVG, "circle");
        c.setAttribute("cx", d[0]); c.setAttribute("cy", d[1]); c.setAttribute("r", 2.5);
        svg.appendChild(c);
      });
    }
    [[groups[0], "start", 0], [groups[groups.length - 1], "end", w]].forEach(function (g) {
      if (!g[0]) return;
      var label = document.createElementNS(SVG, "text");
      label.setAttribute("x", g[2]); label.setAttribute("y", h + pad - 4);
      label.setAttribute("text-anchor", g[1]);
      label.textContent = g[0].key.slice(5) || g[0].key;
      svg.appendChild(label);
    });
    var top = document.createElementNS(SVG, "text");
    top.setAttribute("x", 2); top.setAttribute("y", 10);
    top.textContent = show(kind, max);
    svg.appendChild(top);
    return svg;
  }

  function drill(kpi) {
    var box = document.getElementById("drill");
    box.textContent = "";
    box.appendChild(el("h2", {}, t("reports.drill").replace("{kpi}", t("reports.kpi." + kpi))));
    api("GET", "/api/v1/reports/kpis/conversations?" + query(["kpi=" + kpi])).then(function (d) {
      if (!d.conversations.length) { box.appendChild(el("p", { class: "empty" }, t("reports.drill_none"))); return; }
      var ul = el("ul", { class: "drill-list" });
      d.conversations.forEach(function (c) {
        var li = el("li", { class: c.hit ? "hit" : "" });
        li.appendChild(el("a", { href: "/inbox#conversation=" + c.id }, M.time(c.created_at) + " · " + c.id.slice(-8)));
        li.appendChild(el("span", { class: "mark" }, c.hit ? t("reports.hit") : t("reports.not_hit")));
        ul.appendChild(li);
      });
      box.appendChild(ul);
      box.scrollIntoView({ block: "nearest" });
    });
  }

  function render() {
    var r = S.report, g = r.targets;
    var tiles = document.getElementById("tiles");
    tiles.textContent = "";
    document.getElementById("period").textContent = t("reports.period").replace("{from}", r.from).replace("{to}", r.to).replace("{tz}", r.time_zone)
      + " · " + t("reports.kpi.conversations") + " " + r.totals.conversations;
    KPIS.forEach(function (k) {
      var v = r.totals[k[0]];
      var state = v === null || v === undefined || !k[2] ? "neutral" : (k[2](v, g) ? "good" : "bad");
      var tile = el("section", { class: "tile " + state, "data-kpi": k[0] });
      tile.appendChild(el("h2", {}, t("reports.kpi." + k[0])));
      var value = el("button", { type: "button", class: "value", title: t("reports.drill_hint"), on: { click: function () { drill(k[0]); } } }, show(k[1], v));
      tile.appendChild(value);
      if (k[3]) tile.appendChild(el("p", { class: "target" }, t("reports.target") + " " + targetText(k[3], g) + (state === "neutral" ? "" : " · " + t("reports.state." + state))));
      tile.appendChild(chart(k, k[1]));
      tiles.appendChild(tile);
    });
    document.getElementById("csv").setAttribute("href", "/api/v1/reports/kpis?" + query(["group_by=" + S.by, "format=csv"]));
  }

  /* The KPIs side by side per brand (a row per KPI, a column per brand), when there are brands. */
  function byBrand() {
    var box = document.getElementById("by-brand");
    box.textContent = "";
    if (!S.brands.length) return null;
    return api("GET", "/api/v1/reports/kpis?" + query(["group_by=brand"])).then(function (r) {
      box.appendChild(el("h2", {}, t("reports.by_brand")));
      if (!r.groups.length) { box.appendChild(el("p", { class: "empty" }, t("reports.drill_none"))); return; }
      var name = function (key) {
        var b = S.brands.filter(function (x) { return x.id === key; })[0];
        return b ? b.name : t("brands.no_brand");
      };
      var tbl = el("table", { class: "brand-kpis" });
      var head = el("tr");
      head.appendChild(el("th", { scope: "col" }, t("reports.kpi")));
      r.groups.forEach(function (g) { head.appendChild(el("th", { scope: "col" }, name(g.key))); });
      var thead = el("thead");
      thead.appendChild(head);
      tbl.appendChild(thead);
      var body = el("tbody");
      KPIS.forEach(function (k) {
        var tr = el("tr");
        tr.appendChild(el("th", { scope: "row" }, t("reports.kpi." + k[0])));
        r.groups.forEach(function (g) { tr.appendChild(el("td", {}, show(k[1], g[k[0]]))); });
        body.appendChild(tr);
      });
      tbl.appendChild(body);
      var wrap = el("div", { class: "table-scroll" });
      wrap.appendChild(tbl);
      box.appendChild(wrap);
    });
  }

  function load() {
    return api("GET", "/api/v1/reports/kpis?" + query(["group_by=" + S.by])).then(function (r) {
      S.report = r;
      S.from = r.from; S.to = r.to;
      document.getElementById("from").value = r.from;
      document.getElementById("to").value = r.to;
      render();
      return byBrand();
    }, function (err) { document.getElementById("period").textContent = err.message; });
  }

  function build() {
    var form = el("form", { class: "report-controls", id: "report-form" });
    function labelled(key, input) {
      var wrap = el("label", {}, t(key));
      wrap.appendChild(input);
      form.appendChild(wrap);
      return input;
    }
    labelled("reports.from", el("input", { type: "date", id: "from" }));
    labelled("reports.to", el("input", { type: "date", id: "to" }));
    var by = labelled("reports.by", el("select", { id: "by" }));
    ["day", "week", "month"].forEach(function (b) { by.appendChild(el("option", { value: b }, t("reports.by." + b))); });
    var channel = labelled("reports.channel", el("select", { id: "channel" }));
    channel.appendChild(el("option", { value: "" }, t("reports.all_channels")));
    S.channels.forEach(function (c) { channel.appendChild(el("option", { value: c.id }, c.name)); });
    var brand = null;
    if (S.brands.length) {
      brand = labelled("brands.brand", el("select", { id: "brand" }));
      brand.appendChild(el("option", { value: "" }, t("brands.all")));
      S.brands.forEach(function (b) { brand.appendChild(el("option", { value: b.id }, b.name)); });
    }
    form.appendChild(el("button", { type: "submit", class: "primary" }, t("reports.show")));
    form.appendChild(el("a", { id: "csv", class: "csv", href: "#" }, t("reports.csv")));
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      S.from = document.getElementById("from").value;
      S.to = document.getElementById("to").value;
      S.by = by.value;
      S.channel = channel.value;
      S.brand = brand ? brand.value : "";
      load();
    });
    main.appendChild(form);
    main.appendChild(el("p", { id: "period", class: "period", role: "status" }));
    main.appendChild(el("div", { id: "tiles", class: "tiles" }));
    main.appendChild(el("section", { id: "by-brand", class: "by-brand" }));
    main.appendChild(el("div", { id: "drill", class: "drill", "aria-live": "polite" }));
    main.appendChild(targetsForm());
  }

  /* The workspace's targets, editable (rates in %, times in seconds). */
  function targetsForm() {
    var box = el("details", { class: "targets", id: "targets" });
    box.appendChild(el("summary", {}, t("reports.targets")));
    var form = el("form", { id: "targets-form" });
    var FIELDS = [["first_response_s", "s"], ["handle_time_min_s", "s"], ["handle_time_max_s", "s"], ["fcr_rate", "%"], ["csat_rate", "%"],
      ["abandonment_rate", "%"], ["recontact_rate", "%"], ["complaint_rate", "%"], ["missed", ""], ["self_resolution_rate", "%"]];
    var inputs = {};
    api("GET", "/api/v1/reports/targets").then(function (g) {
      FIELDS.forEach(function (f) {
        var wrap = el("label", {}, t("reports.target." + f[0]) + (f[1] ? " (" + f[1] + ")" : ""));
        var value = f[1] === "%" ? Math.round(g[f[0]] * 1000) / 10 : g[f[0]];
        var input = el("input", { type: "number", min: "0", step: f[1] === "%" ? "0.1" : "1", value: String(value), name: f[0] });
        inputs[f[0]] = input;
        wrap.appendChild(input);
        form.appendChild(wrap);
      });
      form.appendChild(el("button", { type: "submit", class: "primary" }, t("reports.save_targets")));
      var msg = el("p", { class: "status", role: "status" });
      form.appendChild(msg);
      form.addEventListener("submit", function (e) {
        e.preventDefault();
        var body = {};
        FIELDS.forEach(function (f) { var v = Number(inputs[f[0]].value); body[f[0]] = f[1] === "%" ? v / 100 : v; });
        api("PUT", "/api/v1/reports/targets", body).then(function () { msg.textContent = t("admin.saved"); return load(); },
          function (err) { msg.textContent = err.message; });
      });
    });
    box.appendChild(form);
    return box;
  }

  api("GET", "/api/v1/me").then(function (who) {
    return M.loadStrings(who.locale).then(function () { return who; });
  }).then(function (me) {
    var app = document.getElementById("app");
    app.removeAttribute("aria-busy");
    app.className = "reports";
    var top = el("header", { class: "topbar" });
    top.appendChild(el("h1", {}, "Madoguchi · " + t("reports.title")));
    top.appendChild(el("a", { href: "/inbox" }, t("admin.back")));
    document.body.insertBefore(top, app);
    if (!M.can(me, "read_reports")) {
      app.appendChild(el("p", { class: "empty", role: "alert" }, t("reports.admins_only")));
      return;
    }
    main = app;
    return Promise.all([api("GET", "/api/v1/channels"), api("GET", "/api/v1/brands")]).then(function (d) {
      S.channels = d[0].channels;
      S.brands = d[1];
      build();
      return load();
    });
  });
})();
