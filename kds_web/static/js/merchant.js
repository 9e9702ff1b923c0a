// The merchant's screen: the live table board with table actions, the menu and stock editor,
// the dashboard (inline SVG charts from the statistics endpoints) and the printable QR sheet.
import { batched, followConnection, onDenied, staffSession } from "./lib/app.js";
import { bars, hbars, ranges } from "./lib/charts.js";
import { dialog, fill, h, toast } from "./lib/dom.js";
import { learnServerTime, money, serverNow } from "./lib/format.js";
import { icon } from "./lib/icons.js";
import { langButton, name, onLang, t } from "./lib/i18n.js";
import { Live, comparePos } from "./lib/live.js";
import { paths } from "./lib/paths.js";

const session = staffSession(["merchant"], "merchant");
if (session) main(session);

function main({ claims, api, outbox, badge, token, hubUrl }) {
  const R = claims.restaurant;
  let tab = new URLSearchParams(location.search).get("tab") || "tables";
  let board = { tables: [], totals: {}, screens: [], sold_out: [] };
  let admin = null; // {menu, stock}
  let adminFailed = ""; // why the menu could not be loaded
  let period = "today";
  let stats = null;
  let qrPages = null;
  let live = null;

  const nav = h("nav", { class: "m-tabs", role: "tablist" });
  const content = h("main", { class: "m-body" });
  const title = h("h1", { class: "m-title" });
  fill(document.getElementById("app"),
    h("header", { class: "m-bar" }, title, badge.el, h("span", { class: "bar-gap" }), langButton()),
    nav, content);

  function renderNav() {
    const item = (id, ic, label) => h("button", {
      type: "button", role: "tab", class: ["m-tab", tab === id ? "is-active" : ""], "aria-selected": String(tab === id),
      dataset: { tab: id }, onclick: () => { tab = id; history.replaceState(null, "", `?tab=${id}${location.hash}`); render(); load(); },
    }, icon(ic), " ", label);
    fill(nav, item("tables", "table", t("merchant.tables")), item("menu", "list", t("merchant.menu")),
      item("stats", "chart", t("merchant.stats")), item("qr", "qr", t("merchant.qr")));
  }

  // ---------------------------------------------------------------- table board
  function tableState(c) {
    if (c.status === "paying") return "paying";
    if (c.waiting_too_long) return "waiting";
    if (c.status === "ordering") return "ordering";
    if (c.status === "open") return "open";
    return "free";
  }

  function minutesSince(ms) {
    return ms ? Math.max(0, Math.floor((serverNow() - ms) / 60000)) : 0;
  }

  function tile(c) {
    const st = tableState(c);
    const served = c.dishes ? c.dishes.served || 0 : 0;
    const total = c.dishes ? Object.entries(c.dishes).filter(([k]) => !["returned", "voided"].includes(k)).reduce((n, [, v]) => n + v, 0) : 0;
    const flags = (c.flags || []).map((f) => h("span", { class: ["tflag", `tflag-${f}`] }, t(`merchant.flag.${f}`)));
    return h("button", { type: "button", class: ["tile", `tile-${st}`], dataset: { table: c.no, state: st }, onclick: () => tableActions(c) },
      h("div", { class: "tile-top" }, h("span", { class: "tile-no" }, c.no), h("span", { class: "tile-state" }, t(`merchant.table.${st}`))),
      c.status !== "free" ? h("div", { class: "tile-info" },
        h("span", {}, `${c.guests || 0} ${t("merchant.guests")}`),
        h("span", {}, t("merchant.minutes", { n: minutesSince(c.opened_at) })),
        c.total_fen ? h("b", {}, money(c.total_fen)) : null) : null,
      total ? h("div", { class: "tile-progress" }, h("span", { class: "tile-bar", style: { width: `${Math.round((100 * served) / total)}%` } })) : null,
      flags.length ? h("div", { class: "tile-flags" }, flags) : null,
      c.phones ? h("div", { class: "tile-phones" }, `${c.phones} ${t("merchant.phones")}`) : null);
  }

  function renderTables() {
    const tt = board.totals || {};
    const counts = {};
    for (const c of board.tables) counts[tableState(c)] = (counts[tableState(c)] || 0) + 1;
    return h("div", { class: "board" },
      h("div", { class: "board-summary" },
        ["free", "open", "ordering", "waiting", "paying"].map((st) => h("span", { class: ["legend", `tile-${st}`] }, `${t(`merchant.table.${st}`)} ${counts[st] || 0}`)),
        h("span", { class: "board-total" }, `${t("merchant.guests")} ${tt.guests || 0} · ${money(tt.open_total_fen || 0)}`)),
      h("div", { class: "tiles" }, [...board.tables].sort((a, b) => a.no.localeCompare(b.no, "en", { numeric: true })).map(tile)),
      board.screens && board.screens.length ? h("p", { class: "muted screens" }, `${t("merchant.presence")}: `,
        board.screens.map((p) => h("span", { class: "chip" }, p.station || p.role || p.screen))) : null);
  }

  async function tableActions(c) {
    const buttons = [{ label: t("common.close"), value: null }];
    let body = h("div", { class: "table-detail" },
      h("p", {}, `${t(`merchant.table.${tableState(c)}`)} · ${c.guests || 0} ${t("merchant.guests")} · ${money(c.total_fen || 0)}`));
    const guests = h("input", { type: "number", min: "1", max: "50", value: "2", inputmode: "numeric" });
    const others = (pred) => board.tables.filter((x) => x.no !== c.no && pred(x)).map((x) => h("option", { value: x.no }, x.no));
    const target = h("select", {});
    if (c.status === "free") {
      body = h("div", {}, h("label", {}, t("merchant.guests")), guests);
      buttons.push({ label: t("merchant.open"), kind: "primary", value: "open" });
    } else {
      fill(target, others(() => true));
      body.append(h("label", {}, t("merchant.to_table")), target);
      buttons.push({ label: t("merchant.transfer"), value: "transfer" }, { label: t("merchant.merge"), value: "merge" },
        { label: t("merchant.clear"), kind: "primary", value: "clear" });
    }
    const action = await dialog(`${t("common.table")} ${c.no}`, body, buttons);
    if (!action) return;
    const payload = { open: { guests: Number(guests.value) || 1 }, transfer: { to: target.value }, merge: { into: target.value }, clear: {} }[action];
    if ((action === "transfer" || action === "merge") && !target.value) return;
    try {
      await outbox.push({ method: "POST", path: paths.tableAction(R, c.no, action), body: payload });
      toast(`${t(`merchant.${action}`)} ✓`, "ok");
      refreshSoon();
    } catch (exc) {
      /* the outbox already told */
    }
  }

  // ---------------------------------------------------------------- menu and stock
  function renderMenu() {
    if (adminFailed) return failedPanel(adminFailed, () => { adminFailed = ""; rerender(); load(); });
    if (!admin) return h("p", { class: "muted" }, t("common.loading"));
    const { menu, stock } = admin;
    const cats = new Map((menu.categories || []).map((c) => [c.id, c]));
    const stations = new Map((menu.stations || []).map((s) => [s.id, s]));
    return h("div", { class: "menu-admin" },
      h("table", { class: "m-table" },
        h("thead", {}, h("tr", {}, [t("merchant.dish"), t("merchant.category"), t("merchant.station"), t("merchant.price"), t("merchant.stock"), t("merchant.active"), ""].map((x) => h("th", {}, x)))),
        h("tbody", {}, (menu.dishes || []).map((d) => {
          const left = stock[d.id];
          const soldOut = left !== undefined && left <= 0;
          const price = h("input", { type: "number", min: "0", step: "0.5", value: String(d.price_fen / 100), class: "num-in", "aria-label": t("merchant.price") });
          const qty = h("input", { type: "number", min: "0", step: "1", value: left === undefined ? "" : String(left), placeholder: t("merchant.unlimited"), class: "num-in", "aria-label": t("merchant.stock") });
          const active = h("input", { type: "checkbox", checked: d.active !== false, "aria-label": t("merchant.active") });
          return h("tr", { class: soldOut ? "is-sold-out" : "", dataset: { dishId: d.id } },
            h("td", { class: "m-dish-cell" }, h("div", { class: "m-dish" }, h("img", { src: d.photo || `/media/dish/${encodeURIComponent(d.id)}.svg`, alt: "", width: "48", height: "36" }), h("span", {}, name(d)))),
            h("td", { dataset: { label: t("merchant.category") } }, name(cats.get(d.category_id)) || d.category_id),
            h("td", { dataset: { label: t("merchant.station") } }, name(stations.get(d.station_id)) || d.station_id),
            h("td", { dataset: { label: t("merchant.price") } }, price),
            h("td", { dataset: { label: t("merchant.stock") } }, qty),
            h("td", { dataset: { label: t("merchant.active") } }, active),
            h("td", { class: "m-actions-cell" }, h("div", { class: "m-actions" },
              h("button", { type: "button", class: "btn btn-small btn-go", onclick: () => saveDish(d, price, qty, active) }, t("common.save")),
              soldOut
                ? h("button", { type: "button", class: "btn btn-small", onclick: () => setStock(d, null) }, t("merchant.restock"))
                : h("button", { type: "button", class: "btn btn-small btn-warn", onclick: () => markSoldOut(d) }, t("merchant.sold_out")))));
        }))));
  }

  async function saveDish(d, price, qty, active) {
    const fen = Math.round(Number(price.value) * 100);
    const patch = {};
    if (Number.isFinite(fen) && fen !== d.price_fen) patch.price_fen = fen;
    if (active.checked !== (d.active !== false)) patch.active = active.checked;
    const raw = qty.value.trim();
    const stockNow = admin.stock[d.id];
    const wanted = raw === "" ? null : Math.max(0, Math.floor(Number(raw)));
    try {
      if (Object.keys(patch).length) await api.patch(paths.adminDish(R, d.id), patch);
      if ((wanted === null) !== (stockNow === undefined) || (wanted !== null && wanted !== stockNow)) {
        await api.put(paths.setStock(R, d.id), { remaining: wanted });
      }
      toast(t("merchant.saved"), "ok");
      await loadAdmin();
    } catch (exc) {
      toast(t("common.refused", { reason: exc.message }), "error");
    }
  }

  async function markSoldOut(d) {
    try { await api.post(paths.soldOut(R, d.id), {}); await loadAdmin(); } catch (exc) { toast(t("common.refused", { reason: exc.message }), "error"); }
  }

  async function setStock(d, remaining) {
    try { await api.put(paths.setStock(R, d.id), { remaining }); await loadAdmin(); } catch (exc) { toast(t("common.refused", { reason: exc.message }), "error"); }
  }

  async function loadAdmin() {
    admin = await api.get(paths.adminMenu(R));
    admin.stock = admin.stock || {};
    rerender();
  }

  // ---------------------------------------------------------------- dashboard
  // the last N days up to today: the restaurant's today (KITCHEN_TZ), not this device's
  function range() {
    return `last=${{ today: 1, "7d": 7, "30d": 30 }[period] || 1}`;
  }

  async function loadStats() {
    const q = range();
    const get = (report, extra = "") => api.get(paths.stats(R, report, q + extra)).then((r) => r.rows || []);
    try {
      const [summary, hourly, daily, ranking, peak, stationsT] = await Promise.all([
        get("summary"), get("revenue_hourly"), get("revenue_daily"), get("dish_ranking", "&limit=10"), get("peak_hours"), get("station_times")]);
      stats = { summary: summary[0] || {}, hourly, daily, ranking, peak, stations: stationsT };
    } catch (exc) {
      stats = { failed: exc.message || String(exc) }; // shown as such, never as ¥0
    }
    rerender();
  }

  /** What could not be loaded, and a button to try again. */
  function failedPanel(reason, retry) {
    return h("div", { class: "load-failed", role: "alert" },
      h("p", {}, t("common.error", { reason })),
      h("button", { type: "button", class: "btn btn-small btn-primary", dataset: { action: "retry" }, onclick: retry }, t("common.retry")));
  }

  function renderStats() {
    const periods = [["today", "merchant.period.today"], ["7d", "merchant.period.7d"], ["30d", "merchant.period.30d"]];
    const head = h("div", { class: "period" }, periods.map(([id, key]) => h("button", {
      type: "button", class: ["btn", "btn-small", period === id ? "btn-primary" : ""], dataset: { period: id },
      onclick: () => { period = id; stats = null; rerender(); loadStats(); },
    }, t(key))));
    if (!stats) return h("div", {}, head, h("p", { class: "muted" }, t("common.loading")));
    if (stats.failed) return h("div", {}, head, failedPanel(stats.failed, () => { stats = null; rerender(); loadStats(); }));
    const sm = stats.summary;
    const yuan = (fen) => money(fen);
    const W = window.innerWidth >= 1000 ? Math.floor((content.clientWidth - 90) / 2) : Math.min(640, content.clientWidth - 40);
    const width = Math.max(300, W);
    const mins = (sec) => (sec / 60).toFixed(1);
    const revenue = period === "today"
      ? Array.from({ length: 24 }, (_, hr) => {
        const row = stats.hourly.find((r) => new Date(r.hour).getHours() === hr || Number(String(r.hour).slice(11, 13)) === hr);
        return { label: String(hr), value: row ? row.revenue_fen : 0, title: `${hr}:00` };
      })
      : stats.daily.map((r) => ({ label: String(r.day).slice(5), value: r.revenue_fen }));
    // orders in each hour, on average over the days the restaurant sold anything
    const openDays = new Map(stats.peak.map((r) => [r.weekday, r.days]));
    const days = Array.from(openDays.values()).reduce((n, d) => n + d, 0);
    const byHour = Array.from({ length: 24 }, (_, hr) => {
      const orders = stats.peak.filter((r) => r.hour === hr).reduce((n, r) => n + r.orders, 0);
      return { label: String(hr), value: days ? Math.round((10 * orders) / days) / 10 : 0, title: `${hr}:00` };
    });
    return h("div", { class: "dash" }, head,
      h("div", { class: "kpis" },
        kpi(t("merchant.revenue"), yuan(sm.revenue_fen || 0)),
        kpi(t("merchant.kpi.orders"), String(sm.orders || 0)),
        kpi(t("merchant.kpi.covers"), String(sm.covers || 0)),
        kpi(t("merchant.kpi.avg"), yuan(sm.avg_order_fen || 0))),
      panel(t("merchant.revenue"), bars(revenue, { format: (v) => money(v), emptyText: t("merchant.no_data"), width }), "chart-revenue"),
      panel(t("merchant.ranking"), hbars(stats.ranking.map((r) => ({ label: name(r), value: r.qty, note: money(r.revenue_fen) })), { emptyText: t("merchant.no_data"), width }), "chart-ranking"),
      panel(t("merchant.hours"), bars(byHour, { emptyText: t("merchant.no_data"), color: "var(--chart-2)", width }), "chart-hours"),
      panel(t("merchant.speed"), ranges(stats.stations.map((r) => ({ label: name(r), p50: r.p50_s, p90: r.p90_s })), { format: mins, emptyText: t("merchant.no_data"), width }), "chart-speed"));
  }

  function kpi(label, value) {
    return h("div", { class: "kpi" }, h("div", { class: "kpi-label" }, label), h("div", { class: "kpi-value" }, value));
  }

  function panel(label, chart, cls) {
    return h("section", { class: ["panel", cls] }, h("h2", {}, label), chart);
  }

  // ---------------------------------------------------------------- QR sheet
  async function loadQr() {
    const pages = [];
    const first = await fetchSvg(1);
    pages.push(first.url);
    for (let n = 2; n <= first.pages; n += 1) pages.push((await fetchSvg(n)).url);
    if (qrPages) for (const u of qrPages) URL.revokeObjectURL(u);
    qrPages = pages;
    rerender();
  }

  async function fetchSvg(page) {
    const res = await fetch(paths.qrSheet(R, page), { headers: { Authorization: `Bearer ${token}` }, cache: "no-store" });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    const blob = await res.blob();
    return { url: URL.createObjectURL(blob), pages: Number(res.headers.get("X-Pages") || "1") };
  }

  function renderQr() {
    return h("div", { class: "qr-view" },
      h("div", { class: "qr-actions no-print" },
        h("button", { type: "button", class: "btn btn-primary", disabled: !qrPages, onclick: () => window.print() }, icon("printer"), " ", t("merchant.print")),
        qrPages ? qrPages.map((u, i) => h("a", { class: "btn btn-small", href: u, download: `table-qr-${i + 1}.svg` }, `${t("merchant.download")} ${i + 1}`)) : null,
        h("p", { class: "muted" }, t("merchant.qr_hint"))),
      qrPages ? h("div", { class: "qr-pages" }, qrPages.map((u, i) => h("img", { class: "qr-page", src: u, alt: `QR ${i + 1}` })))
        : h("p", { class: "muted" }, t("common.loading")));
  }

  // ---------------------------------------------------------------- render and sync
  function render() {
    title.textContent = `${t("merchant.title")} · ${R}`;
    document.title = t("merchant.title");
    document.body.dataset.tab = tab;
    renderNav();
    const view = { tables: renderTables, menu: renderMenu, stats: renderStats, qr: renderQr }[tab] || renderTables;
    fill(content, view());
  }
  const rerender = batched(render);

  function load() {
    if (tab === "menu" && !admin && !adminFailed) loadAdmin().catch((exc) => { adminFailed = exc.message || String(exc); rerender(); });
    if (tab === "stats" && !stats) loadStats().catch(() => {});
    if (tab === "qr" && !qrPages) loadQr().catch((exc) => toast(t("common.error", { reason: exc.message }), "error"));
  }

  // the board's totals and flags are computed by the API: after an event, read it again
  let refreshTimer = null;
  function refreshSoon() {
    clearTimeout(refreshTimer);
    refreshTimer = setTimeout(async () => {
      try {
        const snap = await api.get(paths.board(R));
        // the tiles take the fresher board; the live feed keeps its own position, so no
        // event after it (a waiter's call, a stock change) is skipped
        if (comparePos(snap.pos, live.pos) >= 0) {
          board = snap;
          rerender();
        }
      } catch { /* the next event tries again */ }
    }, 250);
  }

  function onEvent(ev) {
    learnServerTime(ev.ts);
    const d = ev.data || {};
    for (const tbl of [d.table, d.source, d.target]) {
      if (!tbl) continue;
      const card = board.tables.find((c) => c.no === tbl.no);
      if (card) Object.assign(card, { status: tbl.status, guests: tbl.guests, opened_at: tbl.opened_at, waiter_called_at: tbl.waiter_called_at, bill_requested_at: tbl.bill_requested_at });
    }
    if (ev.type === "table.waiter_called") toast(`${t("common.table")} ${d.table.no}: ${t("diner.call_waiter")}`, "warn", 6000);
    if (admin && (ev.type === "stock.changed" || ev.type === "dish.sold_out" || ev.type === "dish.restocked")) {
      if (ev.type === "dish.restocked" && d.remaining == null) delete admin.stock[d.dish_id];
      else admin.stock[d.dish_id] = ev.type === "dish.sold_out" ? 0 : d.remaining;
    }
    rerender();
    refreshSoon();
  }

  live = new Live({
    hubUrl, token, restaurant: R, screen: "merchant",
    channels: () => [`board:${R}`, `menu:${R}`],
    loadSnapshot: () => api.get(paths.board(R)),
    onSnapshot: (snap) => { learnServerTime(snap.now, true); board = snap; rerender(); },
    onEvent,
    onState: followConnection(badge, outbox, onDenied),
  });
  // flags that only time raises or lowers (not ordered, waiting to pay, a late dish, a waiter
  // call going stale) and screens that left: the board is read again even when all is quiet
  setInterval(() => { rerender(); refreshSoon(); }, 30000);
  onLang(render);
  render();
  load();
  live.start().catch(() => {});
  window.kitchenScreen = { live, outbox };
}
