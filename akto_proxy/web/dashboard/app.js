/*
 * akto-proxy operator view.
 *
 * The page holds no data: it asks for an admin API key (kept in this tab's
 * sessionStorage), then polls the proxy's /api/stats, /api/events,
 * /api/rules and /api/pins with "Authorization: Bearer" and draws what they
 * answer.  Charts are plain SVG drawn here; nothing is fetched from anywhere
 * but the proxy (the page's CSP says so too).  Every string that comes from
 * traffic (tool names, reasons, keys...) is set as text, never as markup.
 *
 * For tests: <body data-state="signed-out|ready|offline" data-refreshes="N">,
 * and an "akto:rendered" event on document after each refresh drawn.
 */
"use strict";

(function () {
  const STORAGE = "akto-proxy-admin-key";
  const POLL_MS = 5000;
  const BARS = 120;
  const SVGNS = "http://www.w3.org/2000/svg";
  const COLORS = {
    relayed: "#4f8cff", blocked: "#ff5c7a", rate_limited: "#c084fc", errors: "#ff8a3d",
    p50: "#2dd4bf", p99: "#ffb547", threats: "#ffb547",
  };

  const state = { key: null, range: "1h", timer: null, refreshes: 0, busy: false, last: null };

  // -- small helpers

  function $(id) { return document.getElementById(id); }

  function h(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }

  function s(tag, attrs) {
    const e = document.createElementNS(SVGNS, tag);
    for (const k in attrs) e.setAttribute(k, attrs[k]);
    return e;
  }

  function fmtInt(n) { return (n || 0).toLocaleString("en-US"); }

  function fmtCompact(n) {
    n = n || 0;
    if (n >= 1e9) return (n / 1e9).toFixed(1) + "G";
    if (n >= 1e6) return (n / 1e6).toFixed(1) + "M";
    if (n >= 1e4) return (n / 1e3).toFixed(1) + "k";
    return fmtInt(Math.round(n));
  }

  function fmtMs(ms) {
    if (ms === null || ms === undefined) return "–";
    if (ms >= 1000) return (ms / 1000).toFixed(ms >= 10000 ? 0 : 1) + " s";
    if (ms >= 100) return Math.round(ms) + " ms";
    if (ms >= 10) return ms.toFixed(1) + " ms";
    return ms.toFixed(2) + " ms";
  }

  function plural(n, one, many) { return fmtInt(n) + " " + (n === 1 ? one : many || one + "s"); }

  function fmtPct(x) {
    x = (x || 0) * 100;
    if (x === 0) return "0%";
    if (x < 0.1) return "<0.1%";
    return (x < 10 ? x.toFixed(1) : Math.round(x)) + "%";
  }

  function two(n) { return (n < 10 ? "0" : "") + n; }

  function fmtTime(t, seconds) {
    const d = new Date(t * 1000);
    return two(d.getHours()) + ":" + two(d.getMinutes()) + (seconds ? ":" + two(d.getSeconds()) : "");
  }

  function fmtWhen(t) {
    const d = new Date(t * 1000);
    const today = new Date();
    const time = fmtTime(t, true);
    if (d.toDateString() === today.toDateString()) return time;
    return d.getFullYear() + "-" + two(d.getMonth() + 1) + "-" + two(d.getDate()) + " " + time;
  }

  function shortUpstream(u) {
    if (!u) return "–";
    return u.replace(/^(https?|wss?):\/\//, "");
  }

  // -- the API

  async function api(path) {
    const response = await fetch(path, {
      headers: { "Authorization": "Bearer " + state.key, "Accept": "application/json" },
      cache: "no-store",
      credentials: "omit",
      redirect: "error",
    });
    let body = null;
    try { body = await response.json(); } catch (e) { body = null; }
    if (!response.ok || !body || !body.success) {
      const message = body && body.error ? body.error.message : "HTTP " + response.status;
      const error = new Error(message);
      error.status = response.status;
      throw error;
    }
    return body.data.response;
  }

  // -- signing in and out

  function showLogin(message) {
    document.body.dataset.state = "signed-out";
    $("board").hidden = true;
    $("controls").hidden = true;
    $("login").hidden = false;
    $("login-error").textContent = message || "";
    $("key").value = "";
    $("key").focus();
  }

  function signOut(message) {
    if (state.timer) clearInterval(state.timer);
    state.timer = null;
    state.key = null;
    try { sessionStorage.removeItem(STORAGE); } catch (e) { /* storage off */ }
    showLogin(message);
  }

  async function connect(key) {
    state.key = key;
    $("connect").disabled = true;
    try {
      await api("/api/stats?series=none");
    } catch (e) {
      state.key = null;
      $("connect").disabled = false;
      if (e.status === 401) showLogin("Unknown key.");
      else if (e.status === 403) showLogin("This key's roles are not admin: the API needs a role with admin: true.");
      else showLogin("The proxy did not answer: " + e.message);
      return;
    }
    $("connect").disabled = false;
    try { sessionStorage.setItem(STORAGE, key); } catch (e) { /* storage off: this page only */ }
    $("login").hidden = true;
    $("board").hidden = false;
    $("controls").hidden = false;
    await refresh();
    if (state.timer) clearInterval(state.timer);
    state.timer = setInterval(refresh, POLL_MS);
  }

  // -- polling

  function setLive(ok, text) {
    const live = $("live");
    live.classList.toggle("ok", ok);
    live.classList.toggle("bad", !ok);
    $("live-text").textContent = text;
  }

  async function refresh() {
    if (!state.key) return;
    if (state.busy) {
      state.again = true;  // (the range changed under a refresh: one more)
      return;
    }
    state.busy = true;
    state.again = false;
    const range = state.range;
    try {
      const [stats, blocked, rules, pins] = await Promise.all([
        api("/api/stats?series=" + range),
        api("/api/events?kind=message&outcome=refused&limit=25"),
        api("/api/rules"),
        api("/api/pins").catch(function () { return null; }),
      ]);
      state.last = { range: range, stats: stats, blocked: blocked, rules: rules, pins: pins };
      render();
      document.body.dataset.range = range;
      setLive(true, "Live · updated " + fmtTime(stats.now, true));
      document.body.dataset.state = "ready";
      state.refreshes += 1;
      document.body.dataset.refreshes = String(state.refreshes);
      document.dispatchEvent(new CustomEvent("akto:rendered", { detail: state.refreshes }));
    } catch (e) {
      if (e.status === 401 || e.status === 403) {
        signOut("The key is no longer accepted (" + e.status + ").");
      } else {
        document.body.dataset.state = "offline";
        setLive(false, "Offline · retrying");
      }
    } finally {
      state.busy = false;
    }
    if (state.again) refresh();
  }

  // -- drawing

  function render() {
    const d = state.last;
    if (!d) return;
    const range = d.range;
    const w = d.stats.windows[range];
    const bucket = d.stats.series.bucket_s;
    const points = d.stats.series.points;
    const size = Math.max(1, Math.ceil(points.length / BARS));
    const groups = group(points, size);
    const span = bucket * size;
    renderKpis(d.stats, w, groups);
    renderVolume(groups, span);
    renderLatency(groups, span);
    renderErrors(groups, span);
    renderFailures(w);
    renderThreats(w, d.rules);
    renderRefused(w);
    renderBlocked(d.blocked.events);
    renderWould(d.rules.would_have_blocked);
    renderPins(d.pins);
    $("foot").textContent =
      "Counting since " + fmtWhen(d.stats.since) + " · " + fmtInt(d.stats.totals.requests) +
      " requests in all · refreshed every " + POLL_MS / 1000 + " s · " +
      (range === "1h" ? "10 s buckets" : "1 min buckets");
  }

  function group(points, size) {
    const out = [];
    for (let i = 0; i < points.length; i += size) {
      const g = points.slice(i, i + size);
      const o = { t: g[0].t, requests: 0, blocked: 0, errors: 0, rate_limited: 0, threats: 0, refused: 0, p50: null, p99: null };
      let p50sum = 0, p50n = 0;
      for (const p of g) {
        o.requests += p.requests; o.blocked += p.blocked; o.errors += p.errors;
        o.rate_limited += p.rate_limited; o.threats += p.threats; o.refused += p.refused;
        if (p.p50 !== null) { p50sum += p.p50 * p.requests; p50n += p.requests; }
        if (p.p99 !== null) o.p99 = o.p99 === null ? p.p99 : Math.max(o.p99, p.p99);
      }
      if (p50n) o.p50 = p50sum / p50n;
      o.relayed = Math.max(0, o.requests - o.blocked - o.rate_limited - o.errors);
      o.error_rate = o.requests ? o.errors / o.requests : null;
      o.limit_rate = o.requests ? o.rate_limited / o.requests : null;
      out.push(o);
    }
    return out;
  }

  function kpi(id, value, detail, spark, raw) {
    const box = $(id);
    const v = box.querySelector('[data-field="value"]');
    v.replaceChildren();
    if (Array.isArray(value)) {
      v.append(value[0]);
      const small = h("small", null, value[1]);
      v.append(small);
    } else {
      v.textContent = value;
    }
    box.dataset.value = String(raw);
    box.querySelector('[data-field="detail"]').textContent = detail;
    sparkline(box.querySelector('[data-field="spark"]'), spark, getComputedStyle(box, "::before").backgroundColor);
  }

  function sparkline(svgEl, values, color) {
    svgEl.replaceChildren();
    const vs = values.map(function (v) { return v === null ? 0 : v; });
    const max = Math.max.apply(null, vs.concat([0]));
    if (!max) return;
    const n = vs.length;
    let d = "M0 28";
    vs.forEach(function (v, i) {
      const x = n > 1 ? (i / (n - 1)) * 120 : 0;
      d += " L" + x.toFixed(2) + " " + (27 - (v / max) * 24).toFixed(2);
    });
    d += " L120 28 Z";
    svgEl.append(s("path", { d: d, fill: color || "#4f8cff", "fill-opacity": "0.18", stroke: color || "#4f8cff", "stroke-width": "1", "stroke-opacity": "0.7", "vector-effect": "non-scaling-stroke" }));
  }

  // "24.5 / 98.3 ms": one unit for both when they share it
  function latencyPair(a, b) {
    const fa = fmtMs(a), fb = fmtMs(b);
    const ua = fa.split(" ")[1], ub = fb.split(" ")[1];
    return ua === ub ? [fa.split(" ")[0], " / " + fb] : [fa, " / " + fb];
  }

  function renderKpis(stats, w, groups) {
    const last = stats.windows["1m"];
    const label = state.last.range === "1h" ? "last hour" : "last 24 h";
    kpi("kpi-requests", fmtCompact(w.requests),
      w.requests_per_s.toFixed(w.requests_per_s < 10 ? 2 : 0) + " /s · " + fmtInt(last.requests) + " in the last minute",
      groups.map(function (g) { return g.requests; }), w.requests);
    kpi("kpi-blocked", fmtCompact(w.blocked),
      fmtPct(w.block_rate) + " of requests · " + plural(w.messages.refused, "message") + " refused",
      groups.map(function (g) { return g.refused; }), w.blocked);
    kpi("kpi-threats", fmtCompact(w.messages.threats),
      fmtInt(w.messages.monitored) + " in monitor mode · " + plural(w.messages.would_block, "message") + " would be blocked",
      groups.map(function (g) { return g.threats; }), w.messages.threats);
    const lat = w.latency_ms;
    kpi("kpi-latency", lat ? latencyPair(lat.p50, lat.p99) : "–",
      lat ? "p95 " + fmtMs(lat.p95) + " · max " + fmtMs(lat.max) + (w.added_latency_ms ? " · added p99 " + fmtMs(w.added_latency_ms.p99) : "") : "no requests " + label,
      groups.map(function (g) { return g.p99; }), lat ? lat.p99 : 0);
    kpi("kpi-errors", fmtCompact(w.errors), fmtPct(w.error_rate) + " error rate · " + label,
      groups.map(function (g) { return g.errors; }), w.errors);
    kpi("kpi-ratelimited", fmtCompact(w.rate_limited), fmtPct(w.requests ? w.rate_limited / w.requests : 0) + " of requests · " + label,
      groups.map(function (g) { return g.rate_limited; }), w.rate_limited);
  }

  function legend(id, series) {
    const box = $(id);
    box.replaceChildren();
    for (const one of series) {
      const item = h("span");
      const sw = h("span", "sw");
      sw.style.background = one.color;
      item.append(sw, one.label);
      box.append(item);
    }
  }

  function renderVolume(groups, span) {
    const series = [
      { key: "relayed", label: "relayed", color: COLORS.relayed },
      { key: "blocked", label: "blocked", color: COLORS.blocked },
      { key: "rate_limited", label: "rate limited", color: COLORS.rate_limited },
      { key: "errors", label: "5xx", color: COLORS.errors },
    ];
    legend("volume-legend", series);
    chart($("chart-volume"), groups, series, { kind: "bars", span: span, format: fmtCompact, unit: "requests" });
  }

  function renderLatency(groups, span) {
    const series = [
      { key: "p50", label: "p50", color: COLORS.p50 },
      { key: "p99", label: "p99", color: COLORS.p99 },
    ];
    legend("latency-legend", series);
    chart($("chart-latency"), groups, series, { kind: "lines", span: span, format: fmtMs, unit: "ms" });
  }

  function renderErrors(groups, span) {
    const series = [
      { key: "error_rate", label: "5xx rate", color: COLORS.errors },
      { key: "limit_rate", label: "rate-limited share", color: COLORS.rate_limited },
    ];
    legend("errors-legend", series);
    chart($("chart-errors"), groups, series, { kind: "lines", span: span, format: fmtPct, unit: "%", floorMax: 0.01 });
  }

  function renderFailures(w) {
    const parts = [];
    const failures = w.upstream_failures || {};
    for (const kind in failures) parts.push(kind + " " + fmtInt(failures[kind]));
    const outcomes = [];
    for (const name in w.outcomes) {
      if (name !== "relayed" && name !== "redacted") outcomes.push(name.replace(/_/g, " ") + " " + fmtInt(w.outcomes[name]));
    }
    const lines = [];
    if (parts.length) lines.push("Upstream failures: " + parts.join(" · "));
    if (outcomes.length) lines.push("Not relayed: " + outcomes.slice(0, 6).join(" · "));
    $("errors-foot").textContent = lines.length ? lines.join("  ·  ") : "Every request relayed";
  }

  function niceMax(v) {
    if (v <= 0) return 1;
    const p = Math.pow(10, Math.floor(Math.log10(v)));
    const f = v / p;
    const n = f <= 1 ? 1 : f <= 2 ? 2 : f <= 2.5 ? 2.5 : f <= 5 ? 5 : 10;
    return n * p;
  }

  /*
   * One chart: stacked bars or lines over time, with a y axis, time labels
   * and a hover read-out.  Its <svg> carries data-sums (the total of each
   * series) and data-marks (bars or points drawn) for tests.
   */
  function chart(box, groups, series, opts) {
    const width = Math.max(320, box.clientWidth || 600);
    const height = Math.max(160, box.clientHeight || 230);
    const m = { l: 52, r: 12, t: 10, b: 24 };
    const iw = width - m.l - m.r;
    const ih = height - m.t - m.b;
    const svgEl = s("svg", { viewBox: "0 0 " + width + " " + height, role: "img" });
    const n = groups.length;
    const band = iw / Math.max(1, n);
    const sums = {};
    let max = 0;
    for (const one of series) sums[one.key] = 0;
    for (const g of groups) {
      let stack = 0;
      for (const one of series) {
        const v = g[one.key];
        if (v === null || v === undefined) continue;
        sums[one.key] += v;
        stack = opts.kind === "bars" ? stack + v : Math.max(stack, v);
      }
      max = Math.max(max, stack);
    }
    const top = niceMax(Math.max(max, opts.floorMax || 0));
    const y = function (v) { return m.t + ih - (v / top) * ih; };

    const gridG = s("g", { class: "grid" });
    const axisG = s("g", { class: "axis" });
    for (let i = 0; i <= 4; i++) {
      const v = (top * i) / 4;
      gridG.append(s("line", { x1: m.l, x2: width - m.r, y1: y(v), y2: y(v) }));
      const label = s("text", { x: m.l - 8, y: y(v) + 4, "text-anchor": "end" });
      label.textContent = opts.format(v);
      axisG.append(label);
    }
    const ticks = Math.min(6, n);
    for (let i = 0; i < ticks; i++) {
      const k = Math.round((i * (n - 1)) / Math.max(1, ticks - 1));
      const label = s("text", { x: m.l + band * (k + 0.5), y: height - 6, "text-anchor": "middle" });
      label.textContent = fmtTime(groups[k].t, false);
      axisG.append(label);
    }
    svgEl.append(gridG, axisG);

    let marks = 0;
    const plot = s("g", { class: "plot" });
    if (opts.kind === "bars") {
      const bw = Math.max(1, band - Math.min(3, band * 0.25));
      groups.forEach(function (g, i) {
        let base = 0;
        for (const one of series) {
          const v = g[one.key] || 0;
          if (!v) continue;
          const y0 = y(base), y1 = y(base + v);
          plot.append(s("rect", {
            x: (m.l + band * i + (band - bw) / 2).toFixed(2), y: y1.toFixed(2), width: bw.toFixed(2),
            height: Math.max(1, y0 - y1).toFixed(2), fill: one.color, rx: Math.min(2, bw / 3).toFixed(2),
            "data-series": one.key, "data-v": String(v),
          }));
          base += v;
          marks += 1;
        }
      });
    } else {
      for (const one of series) {
        let d = "";
        let pen = false;
        groups.forEach(function (g, i) {
          const v = g[one.key];
          if (v === null || v === undefined) { pen = false; return; }
          const x = m.l + band * (i + 0.5);
          d += (pen ? " L" : " M") + x.toFixed(2) + " " + y(v).toFixed(2);
          pen = true;
          marks += 1;
        });
        if (d) plot.append(s("path", { d: d.trim(), fill: "none", stroke: one.color, "stroke-width": "2", "stroke-linejoin": "round", "stroke-linecap": "round", "data-series": one.key }));
        // lone points stay visible
        groups.forEach(function (g, i) {
          const v = g[one.key];
          const prev = i > 0 ? groups[i - 1][one.key] : null;
          const next = i < n - 1 ? groups[i + 1][one.key] : null;
          if (v !== null && v !== undefined && (prev === null || prev === undefined) && (next === null || next === undefined)) {
            plot.append(s("circle", { cx: (m.l + band * (i + 0.5)).toFixed(2), cy: y(v).toFixed(2), r: "2.5", fill: one.color }));
          }
        });
      }
    }
    svgEl.append(plot);
    if (!marks) {
      const empty = s("text", { x: m.l + iw / 2, y: m.t + ih / 2, "text-anchor": "middle", class: "empty" });
      empty.textContent = opts.kind === "bars" ? "No traffic in this range" : "No data in this range";
      svgEl.append(empty);
    }
    const cursor = s("line", { class: "cursor", x1: 0, x2: 0, y1: m.t, y2: m.t + ih, visibility: "hidden" });
    const overlay = s("rect", { x: m.l, y: m.t, width: iw, height: ih, fill: "transparent" });
    svgEl.append(cursor, overlay);
    overlay.addEventListener("mousemove", function (ev) {
      const r = svgEl.getBoundingClientRect();
      const px = ((ev.clientX - r.left) / r.width) * width;
      const i = Math.min(n - 1, Math.max(0, Math.floor((px - m.l) / band)));
      const x = m.l + band * (i + 0.5);
      cursor.setAttribute("x1", x); cursor.setAttribute("x2", x);
      cursor.setAttribute("visibility", "visible");
      tooltip(ev, groups[i], series, opts);
    });
    overlay.addEventListener("mouseleave", function () {
      cursor.setAttribute("visibility", "hidden");
      $("tooltip").hidden = true;
    });
    svgEl.setAttribute("data-sums", JSON.stringify(sums));
    svgEl.setAttribute("data-marks", String(marks));
    box.replaceChildren(svgEl);
  }

  function tooltip(ev, g, series, opts) {
    const tip = $("tooltip");
    tip.replaceChildren();
    tip.append(h("div", "t", fmtTime(g.t, true) + " – " + fmtTime(g.t + opts.span, true)));
    for (const one of series) {
      const row = h("div", "row");
      const k = h("span", "k");
      const sw = h("span", "sw");
      sw.style.background = one.color;
      k.append(sw, one.label);
      const v = g[one.key];
      row.append(k, h("span", null, v === null || v === undefined ? "–" : opts.format(v)));
      tip.append(row);
    }
    if (opts.kind === "bars") {
      const row = h("div", "row");
      row.append(h("span", "k", "all"), h("span", null, fmtInt(g.requests)));
      tip.append(row);
    }
    tip.hidden = false;
    const x = Math.min(window.innerWidth - tip.offsetWidth - 12, ev.clientX + 14);
    tip.style.left = x + "px";
    tip.style.top = ev.clientY + 14 + "px";
  }

  function barList(box, items, color, empty) {
    box.replaceChildren();
    if (!items || !items.length) {
      box.append(h("div", "none", empty));
      return;
    }
    const max = Math.max.apply(null, items.map(function (i) { return i.count; }));
    for (const item of items) {
      const row = h("div", "bar-row");
      row.dataset.name = item.name;
      row.dataset.count = String(item.count);
      const name = h("span", "n", item.name);
      name.title = item.name;
      const track = h("div", "track");
      const fill = h("div", "fill");
      fill.style.width = ((item.count / max) * 100).toFixed(1) + "%";
      if (color) fill.style.background = color;
      track.append(fill);
      row.append(name, track, h("span", "c", fmtInt(item.count)));
      box.append(row);
    }
  }

  function badge(text, cls) {
    return h("span", "badge " + (cls || text), text);
  }

  function renderThreats(w, rules) {
    const byCheck = Object.keys(w.threats_by_check).map(function (k) { return { name: k, count: w.threats_by_check[k] }; });
    barList($("threats-by-check"), byCheck, COLORS.threats, "No threats detected in this range.");
    $("threats-note").textContent = plural(w.messages.threats, "finding") + " · " + fmtInt(w.messages.monitored) + " in monitor mode";
    const body = $("rules-table").tBodies[0];
    body.replaceChildren();
    const rows = rules.rules.slice(0, 14);
    if (!rows.length) {
      const tr = h("tr");
      const td = h("td", "empty", "No rule has fired yet.");
      td.colSpan = 6;
      tr.append(td);
      body.append(tr);
    }
    for (const r of rows) {
      const tr = h("tr");
      tr.dataset.check = r.check;
      tr.dataset.rule = r.rule;
      const mode = h("td");
      mode.append(badge(r.mode || "–", r.mode === "monitor" ? "monitor" : r.mode === "enforce" ? "enforce" : "other"));
      const topTool = r.top_tools && r.top_tools.length ? r.top_tools[0].name : "–";
      const name = h("td", "rule");
      name.append(h("span", "check", r.check), h("span", null, r.rule));
      tr.append(name, mode, h("td", "num", fmtInt(r.fired)),
        h("td", "num", fmtInt(r.blocked)), h("td", "num", fmtInt(r.would_block)), h("td", "tool", topTool));
      body.append(tr);
    }
  }

  function renderRefused(w) {
    barList($("refused-tools"), w.refused_by.tools, COLORS.blocked, "Nothing refused in this range.");
    barList($("refused-keys"), w.refused_by.keys, COLORS.rate_limited, "Nothing refused in this range.");
    barList($("refused-upstreams"), w.refused_by.upstreams.map(function (u) { return { name: shortUpstream(u.name), count: u.count }; }), COLORS.errors, "Nothing refused in this range.");
    $("refused-note").textContent = plural(w.messages.refused, "message") + " refused · " + (state.last.range === "1h" ? "last hour" : "last 24 h");
  }

  function renderBlocked(events) {
    const body = $("blocked-table").tBodies[0];
    body.replaceChildren();
    if (!events.length) {
      const tr = h("tr");
      const td = h("td", "empty", "No request has been refused.");
      td.colSpan = 7;
      tr.append(td);
      body.append(tr);
      return;
    }
    for (const e of events) {
      const tr = h("tr");
      tr.dataset.requestId = e.request_id;
      tr.dataset.outcome = e.outcome;
      const outcome = h("td");
      outcome.append(badge(e.outcome.replace("_", " "), e.outcome));
      const reason = h("td", "reason", e.reason || (e.threats_detected[0] ? e.threats_detected[0].check + " (" + e.threats_detected[0].rule + ")" : "–"));
      const tool = e.name || e.rpc_method || "–";
      tr.append(h("td", "mono", fmtWhen(e.time)), outcome, h("td", null, e.key || "–"), h("td", null, tool),
        h("td", null, shortUpstream(e.upstream)), reason, h("td", "mono", e.request_id));
      body.append(tr);
    }
  }

  function renderWould(would) {
    const body = $("would-table").tBodies[0];
    body.replaceChildren();
    $("would-note").textContent = plural(would.messages, "message") + " relayed in monitor mode";
    if (!would.latest.length) {
      const tr = h("tr");
      const td = h("td", "empty", "Nothing: no monitor-mode rule would have blocked a message.");
      td.colSpan = 5;
      tr.append(td);
      body.append(tr);
      return;
    }
    for (const e of would.latest.slice(0, 20)) {
      const f = e.monitored[0] || {};
      // "sql_injection (libinjection, union_based)"
      const byCheck = {};
      for (const m of e.monitored) {
        const rules = byCheck[m.check] || (byCheck[m.check] = []);
        if (rules.indexOf(m.rule) < 0) rules.push(m.rule);
      }
      const what = Object.keys(byCheck).map(function (c) { return c + " (" + byCheck[c].join(", ") + ")"; }).join("; ");
      const tr = h("tr");
      tr.dataset.requestId = e.request_id;
      tr.append(h("td", "mono", fmtWhen(e.time)), h("td", null, what), h("td", null, e.name || e.rpc_method || "–"),
        h("td", "mono", f.location || "–"), h("td", "key", e.key || "–"));
      body.append(tr);
    }
  }

  function renderPins(pins) {
    const box = $("pins-list");
    box.replaceChildren();
    if (!pins) {
      box.append(h("div", "none", "Tool pinning is not available."));
      $("pins-note").textContent = "";
      return;
    }
    const pending = pins.pending || [];
    $("pins-note").textContent = fmtInt(pins.pins.length) + " pinned · " + fmtInt(pending.length) + " waiting for approval";
    if (!pending.length) {
      box.append(h("div", "none", "No definition is waiting for approval."));
      return;
    }
    for (const p of pending) {
      const card = h("div", "pin");
      card.dataset.pinId = p.id;
      const title = h("div", "title");
      title.append(h("span", null, p.kind + " " + p.name), badge(p.status, p.status === "rejected" ? "blocked" : "monitor"));
      card.append(title, h("div", "where", shortUpstream(p.endpoint) + (p.pendingSince ? " · changed " + fmtWhen(p.pendingSince) : "")));
      const pre = h("pre");
      for (const line of (p.diff || "").split("\n").slice(0, 40)) {
        const cls = line.startsWith("+") && !line.startsWith("+++") ? "add" : line.startsWith("-") && !line.startsWith("---") ? "del" : null;
        pre.append(h("span", cls, line + "\n"));
      }
      card.append(pre, h("div", "cmd", "Approve: POST /api/pins/" + p.id + "/approve or akto-proxy-pins approve " + p.id));
      box.append(card);
    }
  }

  // -- wiring

  document.addEventListener("DOMContentLoaded", function () {
    $("login-form").addEventListener("submit", function (ev) {
      ev.preventDefault();
      const key = $("key").value.trim();
      if (key) connect(key);
    });
    $("signout").addEventListener("click", function () { signOut(""); });
    for (const b of document.querySelectorAll(".range button")) {
      b.addEventListener("click", function () {
        state.range = b.dataset.range;
        for (const o of document.querySelectorAll(".range button")) o.classList.toggle("on", o === b);
        refresh();
      });
    }
    let resize = null;
    window.addEventListener("resize", function () {
      clearTimeout(resize);
      resize = setTimeout(render, 150);
    });
    let saved = null;
    try { saved = sessionStorage.getItem(STORAGE); } catch (e) { saved = null; }
    if (saved) connect(saved);
    else showLogin("");
  });
})();
