// The pass (expo): every open order across stations, which dishes are ready, serve them.
import { batched, followConnection, onDenied, staffSession } from "./lib/app.js";
import { h, fill, toast } from "./lib/dom.js";
import { clock, learnServerTime, serverNow, timeOfDay } from "./lib/format.js";
import { langButton, name, onLang, t } from "./lib/i18n.js";
import { Live } from "./lib/live.js";
import { DEAD, KITCHEN, OrderBook, ageOf, isLate, levelOf } from "./lib/orders.js";
import { paths } from "./lib/paths.js";
import { beep, setSound, soundOn, unlockOnFirstTouch } from "./lib/sound.js";
import { icon } from "./lib/icons.js";

const session = staffSession(["expo", "merchant"], "expo");
if (session) main(session);

function main({ claims, api, outbox, badge, token, hubUrl }) {
  const R = claims.restaurant;
  const book = new OrderBook();
  const stations = new Map();
  const flashUntil = new Map();
  let pass = { warn_after_s: 300, late_after_s: 600, name_zh: "传菜口", name_en: "Pass" };

  unlockOnFirstTouch();

  const title = h("h1", { class: "bar-title" });
  const clockEl = h("span", { class: "bar-clock" });
  const soundBtn = h("button", { type: "button", class: "btn btn-ghost btn-small", onclick: () => { setSound(!soundOn()); render(); } });
  const grid = h("main", { class: "tickets expo-tickets", "aria-live": "polite" });
  const readyStrip = h("section", { class: "ready-strip" });
  fill(document.getElementById("app"),
    h("header", { class: "bar" }, title, badge.el, h("span", { class: "bar-gap" }), clockEl, soundBtn, langButton()),
    readyStrip,
    h("div", { class: "body" }, h("div", { class: "work" }, grid)));

  const isOpen = (o) => o.lines.some((ln) => KITCHEN.has(ln.status) || ln.status === "ready");
  const pendingFor = (orderId, lineId) => outbox.items.find((i) => i.meta && i.meta.order === orderId
    && (i.meta.line === lineId || (i.meta.lines && i.meta.lines.includes(lineId))));

  function send(method, path, body, meta) {
    const job = outbox.push({ method, path, body, meta });
    if (!navigator.onLine) toast(t("common.sent_later"), "warn");
    render();
    job.then(render, render);
  }

  function serveLine(order, line) {
    if (line.status !== "ready" || pendingFor(order.id, line.id)) return;
    send("POST", paths.dish(R, order.id, line.id, "serve"), {}, { order: order.id, line: line.id, action: "served" });
  }

  function serveAll(order) {
    const ids = order.lines.filter((ln) => ln.status === "ready").map((ln) => ln.id);
    if (!ids.length) return;
    send("POST", paths.ticket(R, order.id, "serve"), {}, { order: order.id, lines: ids, action: "served" });
  }

  function lineEl(order, line, now) {
    const wait = pendingFor(order.id, line.id);
    const shown = wait ? wait.meta.action : line.status;
    const chips = [];
    if (line.added) chips.push(h("span", { class: "flag flag-added" }, t("flag.added")));
    if (line.urges && KITCHEN.has(line.status)) chips.push(h("span", { class: "flag flag-urged" }, t("flag.urged", { n: line.urges })));
    if (isLate(order, line, now)) chips.push(h("span", { class: "flag flag-overdue" }, t("flag.overdue")));
    if (line.return_requested) chips.push(h("span", { class: "flag flag-return" }, t("flag.return_requested")));
    const dead = DEAD.has(line.status);
    return h("li", {
      class: ["line", `line-${line.status}`, dead ? "line-dead" : "", wait ? "line-pending" : ""],
      role: line.status === "ready" ? "button" : null, tabindex: line.status === "ready" ? "0" : null,
      dataset: { lineId: line.id, status: line.status },
      onclick: () => serveLine(order, line),
    },
    h("span", { class: "line-qty" }, `${line.qty}×`),
    h("div", { class: "line-main" },
      h("div", { class: "line-name" }, name(line)),
      chips.length ? h("div", { class: "line-chips" }, chips) : null,
      line.note ? h("div", { class: "line-note" }, `✎ ${line.note}`) : null),
    h("span", { class: ["line-state", `state-${shown}`] }, wait ? [icon("hourglass"), " ", t(`status.${shown}`)] : line.status === "ready" ? `${t("status.ready")} → ${t("expo.serve")}` : t(`status.${line.status}`)));
  }

  function card(order, now) {
    const lines = order.lines;
    const age = ageOf(order, order.lines, now);
    const level = levelOf(age, pass);
    const live = order.lines.filter((ln) => !DEAD.has(ln.status));
    const done = live.filter((ln) => ln.status === "ready" || ln.status === "served").length;
    const ready = order.lines.filter((ln) => ln.status === "ready").length;
    const byStation = new Map();
    for (const ln of lines) {
      if (!byStation.has(ln.station_id)) byStation.set(ln.station_id, []);
      byStation.get(ln.station_id).push(ln);
    }
    const flash = (flashUntil.get(order.id) || 0) > Date.now();
    return h("article", { class: ["ticket", `level-${level}`, order.rush ? "is-rush" : "", ready ? "has-ready" : "", flash ? "flash" : ""], dataset: { orderId: order.id, no: String(order.no), level } },
      h("header", { class: "ticket-head" },
        h("span", { class: "ticket-table" }, order.table_no),
        h("span", { class: "ticket-no" }, `#${order.no}`),
        h("span", { class: "ticket-timer" }, clock(age * 1000))),
      h("div", { class: "ticket-flags" },
        order.rush ? h("span", { class: "flag flag-rush" }, [icon("bolt"), " ", `${t("flag.rush")}`]) : null,
        h("span", { class: "flag flag-progress" }, t("expo.ready_count", { ready: done, total: live.length })),
        h("span", { class: "progress", "aria-hidden": "true" }, h("span", { class: "progress-bar", style: { width: `${live.length ? Math.round((100 * done) / live.length) : 0}%` } }))),
      Array.from(byStation.entries()).map(([sid, lns]) => h("section", { class: "expo-station" },
        h("h3", {}, name(stations.get(sid)) || sid),
        h("ul", { class: "ticket-lines" }, lns.map((ln) => lineEl(order, ln, now))))),
      h("footer", { class: "ticket-foot" },
        h("span", { class: "ticket-time" }, timeOfDay(order.created_at)),
        h("button", { type: "button", class: ["btn", "btn-small", order.rush ? "btn-primary" : ""], dataset: { action: "rush" },
          onclick: () => send("POST", paths.rush(R, order.id), { rush: !order.rush }, { order: order.id }) }, order.rush ? t("station.unrush") : t("station.rush")),
        h("button", { type: "button", class: "btn btn-go bump", disabled: !ready, dataset: { action: "serve-all" }, onclick: () => serveAll(order) }, `✓ ${t("expo.serve_all")}`)));
  }

  function render() {
    const now = serverNow();
    title.textContent = t("expo.title");
    fill(soundBtn, icon(soundOn() ? "bell" : "bellOff"));
    const open = book.sorted(isOpen);
    fill(grid, open.length ? open.map((o) => card(o, now)) : h("div", { class: "empty" }, t("expo.empty")));
    const ready = [];
    for (const o of open) for (const ln of o.lines) if (ln.status === "ready") ready.push([o, ln]);
    readyStrip.classList.toggle("hidden", !ready.length);
    fill(readyStrip, h("b", {}, `✓ ${t("status.ready")}:`), ready.map(([o, ln]) =>
      h("button", { type: "button", class: "btn btn-small btn-go", onclick: () => serveLine(o, ln) }, `${o.table_no} · ${ln.qty}× ${name(ln)}`)));
  }
  const rerender = batched(render);
  setInterval(() => { clockEl.textContent = timeOfDay(Date.now()); rerender(); }, 1000);

  async function loadSnapshot() {
    const [snap] = await Promise.all([
      api.get(paths.expo(R)),
      stations.size ? null : api.get(paths.menu(R)).then((m) => {
        for (const s of m.stations || []) stations.set(s.id, s);
      }).catch(() => {}),
    ]);
    return snap;
  }

  function onSnapshot(snap) {
    learnServerTime(snap.now, true);
    book.clear();
    for (const v of snap.tickets || []) book.put(v);
    const expoStation = Array.from(stations.values()).find((s) => s.is_expo);
    if (expoStation) pass = { ...pass, ...expoStation };
    render();
  }

  function onEvent(ev) {
    learnServerTime(ev.ts);
    const change = book.apply(ev);
    if (change.order) {
      if (change.kind === "new") beep("new");
      else if (change.kind === "void") beep("void");
      else if (ev.type === "dish.status_changed" && (ev.data.changes || []).some((c) => c.status === "ready")) beep("ready");
      if (change.kind !== "changed" || ev.type !== "dish.status_changed") flashUntil.set(change.order.id, Date.now() + 3000);
    }
    rerender();
  }

  const live = new Live({
    hubUrl, token, restaurant: R, screen: "expo",
    channels: () => [`expo:${R}`, `menu:${R}`],
    loadSnapshot, onSnapshot, onEvent,
    onState: followConnection(badge, outbox, onDenied),
  });
  onLang(render);
  render();
  live.start().catch(() => {});
  window.kitchenScreen = { book, live, outbox };
}
