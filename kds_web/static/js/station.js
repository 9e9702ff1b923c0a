// The kitchen station screen: this station's tickets in arrival order, tap a dish to start and
// again when it is ready, bump a whole ticket, recall any ticket of the day.
import { batched, followConnection, fullMessage, onDenied, staffSession } from "./lib/app.js";
import { dialog, fill, h, toast } from "./lib/dom.js";
import { clock, learnServerTime, serverNow, timeOfDay } from "./lib/format.js";
import { langButton, name, onLang, t } from "./lib/i18n.js";
import { Live } from "./lib/live.js";
import { DEAD, KITCHEN, OrderBook, ageOf, isLate, levelOf } from "./lib/orders.js";
import { paths } from "./lib/paths.js";
import { beep, setSound, soundOn, unlockOnFirstTouch } from "./lib/sound.js";
import { icon } from "./lib/icons.js";

const session = staffSession(["station", "expo", "merchant"], "station");
if (session && !session.claims.station && !new URLSearchParams(location.search).get("station")) {
  fullMessage(icon("key"), "station.which", "station.which_body"); // a pass or manager link
} else if (session) main(session);

function allergenName(id) {
  const text = t(`allergen.${id}`);
  return text.startsWith("allergen.") ? id : text;
}

function main({ claims, api, outbox, badge, token, hubUrl }) {
  const R = claims.restaurant;
  const stationId = claims.station || new URLSearchParams(location.search).get("station") || "";
  const book = new OrderBook();
  const dishes = new Map();
  const flashUntil = new Map();
  let station = { id: stationId, name_zh: stationId, name_en: stationId, warn_after_s: 300, late_after_s: 480 };
  let recallOpen = false;
  let recallList = null;
  let showAllDay = window.matchMedia("(min-width: 900px)").matches;

  unlockOnFirstTouch();

  // ---------------------------------------------------------------- layout
  const title = h("h1", { class: "bar-title" });
  const clockEl = h("span", { class: "bar-clock" });
  const soundBtn = h("button", { type: "button", class: "btn btn-ghost btn-small", onclick: () => { setSound(!soundOn()); renderBar(); } });
  const allDayBtn = h("button", { type: "button", class: "btn btn-ghost btn-small alldays-toggle", onclick: () => { showAllDay = !showAllDay; render(); } });
  const recallBtn = h("button", { type: "button", class: "btn btn-warn btn-small", "data-action": "recall-open", onclick: () => openRecall() });
  const soldOutBtn = h("button", { type: "button", class: "btn btn-ghost btn-small", "data-action": "sold-out", onclick: () => openSoldOut() });
  const grid = h("main", { class: "tickets", "aria-live": "polite" });
  const held = h("section", { class: "held-lane" });
  const side = h("aside", { class: "alldays" });
  const drawer = h("div", { class: "drawer hidden", role: "dialog", "aria-modal": "true" });
  const app = document.getElementById("app");
  fill(app,
    h("header", { class: "bar" }, title, badge.el, h("span", { class: "bar-gap" }), clockEl, allDayBtn, soldOutBtn, recallBtn, soundBtn, langButton()),
    h("div", { class: "body" }, h("div", { class: "work" }, grid, held), side),
    drawer);

  function renderBar() {
    title.textContent = `${name(station)} · ${t("station.title")}`;
    document.title = `${name(station)} · ${t("station.title")}`;
    fill(soundBtn, icon(soundOn() ? "bell" : "bellOff"));
    soundBtn.title = soundOn() ? t("common.sound_on") : t("common.sound_off");
    recallBtn.textContent = `↺ ${t("station.recall")}`;
    soldOutBtn.textContent = t("station.sold_out");
    allDayBtn.textContent = `Σ ${t("station.all_day")}`;
  }

  // ---------------------------------------------------------------- helpers
  const mine = (order) => order.lines.filter((ln) => ln.station_id === stationId);
  // a ticket stays up while a dish of it is to cook, or waits for the station's answer to a
  // return (a dish already bumped included: only the station can answer it)
  const toCook = (order) => mine(order).some((ln) => ln.status === "queued" || ln.status === "cooking");
  const active = (order) => toCook(order) || mine(order).some((ln) => ln.return_requested && ln.status === "ready");
  const hasHeld = (order) => mine(order).some((ln) => ln.status === "held");
  const pending = () => outbox.items.filter((i) => i.meta && i.meta.station === stationId);

  function pendingLine(orderId, lineId) {
    return pending().find((i) => i.meta.order === orderId && (i.meta.line === lineId || (!i.meta.line && i.meta.lines && i.meta.lines.includes(lineId))));
  }

  function send(label, method, path, body, meta) {
    const job = outbox.push({ method, path, body, label, meta: { station: stationId, ...meta } });
    if (!navigator.onLine) toast(t("common.sent_later"), "warn");
    render();
    job.then(render, render);
    return job;
  }

  function tapLine(order, line) {
    if (pendingLine(order.id, line.id)) return;
    const action = line.status === "queued" ? "start" : line.status === "cooking" ? "ready" : null;
    if (!action) return;
    send(action, "POST", paths.dish(R, order.id, line.id, action), {}, { order: order.id, line: line.id, action });
  }

  function bump(order) {
    const ids = mine(order).filter((ln) => ln.status === "queued" || ln.status === "cooking").map((ln) => ln.id);
    if (!ids.length) return;
    send("bump", "POST", paths.ticket(R, order.id, "bump"), { station: stationId }, { order: order.id, lines: ids, action: "ready" });
  }

  function fire(order, course) {
    const ids = mine(order).filter((ln) => ln.status === "held" && ln.course === course).map((ln) => ln.id);
    send("fire", "POST", paths.ticket(R, order.id, "fire"), { station: stationId, course }, { order: order.id, lines: ids, action: "fire" });
  }

  function recall(order) {
    send("recall", "POST", paths.ticket(R, order.id, "recall"), { station: stationId }, { order: order.id, lines: mine(order).map((l) => l.id), action: "recall" })
      .then(() => toast(t("station.recalled", { no: order.no }), "ok"), () => {});
  }

  function decideReturn(order, line, approve) {
    send("return", "POST", paths.returnDecision(R, order.id, line.id, approve), {}, { order: order.id, line: line.id, action: approve ? "returned" : "keep" });
  }

  // ---------------------------------------------------------------- cards
  function flags(order, lines, now) {
    const out = [];
    const live = lines.filter((ln) => KITCHEN.has(ln.status));
    if (order.rush) out.push(h("span", { class: "flag flag-rush" }, [icon("bolt"), " ", `${t("flag.rush")}`]));
    const urges = Math.max(0, ...live.map((ln) => ln.urges || 0));
    if (urges) out.push(h("span", { class: "flag flag-urged" }, [icon("bell"), " ", `${t("flag.urged", { n: urges })}`]));
    if (lines.some((ln) => isLate(order, ln, now))) out.push(h("span", { class: "flag flag-overdue" }, [icon("alarm"), " ", `${t("flag.overdue")}`]));
    if (live.some((ln) => ln.added)) out.push(h("span", { class: "flag flag-added" }, [icon("plus"), " ", `${t("flag.added")}`]));
    if (lines.some((ln) => ln.return_requested)) out.push(h("span", { class: "flag flag-return" }, `↩ ${t("flag.return_requested")}`));
    const print = book.prints.get(`${order.id}:${stationId}`);
    if (print) {
      out.push(print.ok
        ? h("span", { class: "flag flag-printed", title: t("flag.printed") }, [icon("printer"), " ", `${t("flag.printed")}`])
        : h("button", { type: "button", class: "flag flag-print-failed", title: print.error, onclick: (e) => { e.stopPropagation(); send("reprint", "POST", paths.reprint(R, order.id), { station: stationId }, { order: order.id }); } },
          [icon("printer"), " ", `${t("flag.print_failed")} · ${t("station.reprint")}`]));
    }
    return out;
  }

  function lineEl(order, line, now) {
    const dish = dishes.get(line.dish_id) || {};
    const dead = DEAD.has(line.status);
    const wait = pendingLine(order.id, line.id);
    const shown = wait ? { start: "cooking", ready: "ready", recall: "cooking", fire: "queued", returned: "returned", keep: line.status }[wait.meta.action] || line.status : line.status;
    const chips = [];
    if (line.added) chips.push(h("span", { class: "flag flag-added" }, t("flag.added")));
    if (line.urges && !dead && KITCHEN.has(line.status)) chips.push(h("span", { class: "flag flag-urged" }, t("flag.urged", { n: line.urges })));
    if (isLate(order, line, now)) chips.push(h("span", { class: "flag flag-overdue" }, t("flag.overdue")));
    if (line.course > 1) chips.push(h("span", { class: "flag flag-course" }, t("flag.course", { n: line.course })));
    const allergens = (dish.allergens || []);
    return h("li", {
      class: ["line", `line-${line.status}`, wait ? "line-pending" : "", dead ? "line-dead" : "", line.urges && KITCHEN.has(line.status) ? "line-urged" : ""],
      role: dead ? null : "button", tabindex: dead ? null : "0",
      dataset: { lineId: line.id, status: line.status, shown },
      onclick: () => tapLine(order, line),
      onkeydown: (e) => { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); tapLine(order, line); } },
    },
    h("span", { class: "line-qty" }, `${line.qty}×`),
    h("div", { class: "line-main" },
      h("div", { class: "line-name" }, name(line)),
      chips.length ? h("div", { class: "line-chips" }, chips) : null,
      line.note ? h("div", { class: "line-note" }, `✎ ${line.note}`) : null,
      allergens.length ? h("div", { class: "line-allergens" }, `⚠ ${allergens.map(allergenName).join(" · ")}`) : null,
      (dish.tags || []).length ? h("div", { class: "line-tags" }, dish.tags.join(" · ")) : null),
    h("span", { class: ["line-state", `state-${shown}`] }, wait ? [icon("hourglass"), " ", t(`status.${shown}`)] : t(`status.${line.status}`)),
    line.return_requested ? h("div", { class: "line-return" },
      h("span", { class: "lr-label" }, t("flag.return_requested")),
      h("button", { type: "button", class: "btn btn-small btn-primary", dataset: { action: "approve-return" }, onclick: (e) => { e.stopPropagation(); decideReturn(order, line, true); } }, t("station.approve")),
      h("button", { type: "button", class: "btn btn-small", dataset: { action: "refuse-return" }, onclick: (e) => { e.stopPropagation(); decideReturn(order, line, false); } }, t("station.refuse"))) : null);
  }

  function card(order, now) {
    const lines = mine(order).filter((ln) => ln.status !== "held");
    const age = ageOf(order, lines, now);
    const level = levelOf(age, station);
    const bumping = pending().some((i) => i.meta.order === order.id && i.meta.lines);
    const flash = (flashUntil.get(order.id) || 0) > Date.now();
    return h("article", {
      class: ["ticket", `level-${level}`, order.rush ? "is-rush" : "", flash ? "flash" : ""],
      dataset: { orderId: order.id, no: String(order.no), level },
    },
    h("header", { class: "ticket-head" },
      h("span", { class: "ticket-table" }, order.table_no),
      h("span", { class: "ticket-no" }, `#${order.no}`),
      h("span", { class: "ticket-timer", dataset: { since: String(order.created_at) } }, clock(age * 1000))),
    h("div", { class: "ticket-flags" }, flags(order, lines, now)),
    h("ul", { class: "ticket-lines" }, lines.map((ln) => lineEl(order, ln, now))),
    h("footer", { class: "ticket-foot" },
      h("span", { class: "ticket-time" }, timeOfDay(order.created_at)),
      h("button", {
        type: "button", class: "btn btn-go bump", disabled: bumping || !toCook(order),
        dataset: { action: "bump" }, onclick: () => bump(order),
      }, bumping ? [icon("hourglass"), " ", `${t("station.bump")}`] : `✓ ${t("station.bump")}`)));
  }

  function heldCard(order) {
    const lines = mine(order).filter((ln) => ln.status === "held");
    const courses = Array.from(new Set(lines.map((ln) => ln.course))).sort();
    return h("div", { class: "held-card", dataset: { orderId: order.id } },
      h("div", { class: "held-head" }, h("b", {}, order.table_no), ` #${order.no}`),
      h("ul", {}, lines.map((ln) => h("li", {}, `${ln.qty}× ${name(ln)}`, h("span", { class: "flag flag-course" }, t("flag.course", { n: ln.course }))))),
      courses.map((c) => h("button", { type: "button", class: "btn btn-small btn-warn", onclick: () => fire(order, c) }, [icon("fire"), " ", `${t("station.fire")} · ${t("flag.course", { n: c })}`])));
  }

  function renderAllDay() {
    const counts = new Map();
    for (const order of book.orders.values()) {
      for (const ln of mine(order)) {
        if (!KITCHEN.has(ln.status)) continue;
        const row = counts.get(ln.dish_id) || { line: ln, qty: 0, held: 0 };
        if (ln.status === "held") row.held += ln.qty; else row.qty += ln.qty;
        counts.set(ln.dish_id, row);
      }
    }
    const rows = Array.from(counts.values()).sort((a, b) => b.qty - a.qty || b.held - a.held);
    side.classList.toggle("hidden", !showAllDay);
    fill(side,
      h("h2", {}, `Σ ${t("station.all_day")}`),
      rows.length ? h("ul", { class: "alldays-list" }, rows.map((r) => h("li", { dataset: { dishId: r.line.dish_id } },
        h("span", { class: "ad-name" }, name(r.line)),
        r.qty ? h("span", { class: "ad-qty" }, String(r.qty)) : null,
        r.held ? h("span", { class: "ad-held" }, `${t("status.held")} ${r.held}`) : null))) : h("p", { class: "muted" }, t("common.none")));
  }

  function render() {
    const now = serverNow();
    const open = book.sorted((o) => active(o));
    fill(grid, open.length ? open.map((o) => card(o, now)) : h("div", { class: "empty" }, t("station.empty")));
    const heldOrders = book.sorted((o) => hasHeld(o));
    held.classList.toggle("hidden", heldOrders.length === 0);
    fill(held, h("h2", {}, [icon("pause"), " ", `${t("station.held")}`]), h("div", { class: "held-row" }, heldOrders.map(heldCard)));
    renderAllDay();
    if (recallOpen) renderRecall();
    renderBar();
  }
  const rerender = batched(render);

  // timers tick without rebuilding the cards
  setInterval(() => {
    const now = serverNow();
    clockEl.textContent = timeOfDay(Date.now());
    for (const el of grid.querySelectorAll(".ticket")) {
      const order = book.get(el.dataset.orderId);
      if (!order) continue;
      const age = ageOf(order, mine(order), now);
      const level = levelOf(age, station);
      el.querySelector(".ticket-timer").textContent = clock(age * 1000);
      if (el.dataset.level !== level) rerender();
    }
  }, 1000);

  // ---------------------------------------------------------------- 估清: sold out / restock
  let soldOutOpen = null;
  function openSoldOut() {
    const list = h("ul", { class: "soldout-list" });
    const paint = () => fill(list, Array.from(dishes.values()).filter((d) => d.station_id === stationId).map((d) => h("li", { class: d.sold_out ? "is-sold-out" : "", dataset: { dishId: d.id } },
      h("span", { class: "so-name" }, name(d)),
      d.remaining != null && !d.sold_out ? h("span", { class: "chip" }, t("diner.left", { n: d.remaining })) : null,
      d.sold_out
        ? h("button", { type: "button", class: "btn btn-small btn-go", onclick: () => stockCommand(d, "PUT", paths.setStock(R, d.id), { remaining: null }) }, t("merchant.restock"))
        : h("button", { type: "button", class: "btn btn-small btn-primary", onclick: () => stockCommand(d, "POST", paths.soldOut(R, d.id), {}) }, t("merchant.sold_out")))));
    paint();
    soldOutOpen = paint;
    dialog(t("station.sold_out"), list, [{ label: t("common.close"), value: null }]).then(() => { soldOutOpen = null; });
  }

  function stockCommand(d, method, path, body) {
    outbox.push({ method, path, body, meta: { dish: d.id } })
      .then(() => api.get(paths.menu(R)))
      .then((m) => { for (const x of m.dishes || []) dishes.set(x.id, x); if (soldOutOpen) soldOutOpen(); })
      .catch(() => {});
  }

  // ---------------------------------------------------------------- recall drawer
  async function openRecall() {
    recallOpen = true;
    recallList = null;
    drawer.classList.remove("hidden");
    renderRecall();
    try {
      const data = await api.get(paths.tickets(R, "all") + `&station=${encodeURIComponent(stationId)}`);
      recallList = (data.tickets || []).map((v) => v.order_id);
      for (const v of data.tickets || []) if (!book.get(v.order_id)) book.put(v);
    } catch (exc) {
      recallList = Array.from(book.orders.keys());
    }
    renderRecall();
  }

  function renderRecall() {
    const ids = new Set([...(recallList || []), ...book.orders.keys()]);
    const rows = Array.from(ids).map((id) => book.get(id)).filter((o) => o && mine(o).length)
      .sort((a, b) => b.created_at - a.created_at);
    fill(drawer, h("div", { class: "drawer-panel" },
      h("header", { class: "drawer-head" },
        h("h2", {}, `↺ ${t("station.recall_drawer")}`),
        h("button", { type: "button", class: "btn btn-small", onclick: () => { recallOpen = false; drawer.classList.add("hidden"); } }, t("common.close"))),
      recallList === null ? h("p", { class: "muted" }, t("common.loading")) : null,
      h("ul", { class: "recall-list" }, rows.map((o) => {
        const lines = mine(o);
        const isOpen = lines.some((ln) => KITCHEN.has(ln.status));
        const canRecall = lines.some((ln) => ln.status === "ready" || ln.status === "served");
        return h("li", { class: ["recall-row", isOpen ? "is-open" : "is-done"], dataset: { orderId: o.id } },
          h("div", { class: "recall-id" }, h("b", {}, `#${o.no}`), ` ${o.table_no} · ${timeOfDay(o.created_at)}`),
          h("div", { class: "recall-lines" }, lines.map((ln) => h("span", { class: ["recall-line", `rl-${ln.status}`] }, `${ln.qty}× ${name(ln)} (${t(`status.${ln.status}`)})`))),
          h("div", { class: "recall-actions" },
            h("span", { class: "chip" }, isOpen ? t("station.open") : t("station.done")),
            canRecall ? h("button", { type: "button", class: "btn btn-small btn-warn", dataset: { action: "recall" }, onclick: () => recall(o) }, `↺ ${t("station.recall")}`) : null,
            h("button", { type: "button", class: "btn btn-small", onclick: () => send("reprint", "POST", paths.reprint(R, o.id), { station: stationId }, { order: o.id }) }, [icon("printer"), " ", `${t("station.reprint")}`])));
      }))));
  }

  // ---------------------------------------------------------------- sync
  async function loadSnapshot() {
    const [snap] = await Promise.all([
      api.get(paths.stationTickets(R, stationId)),
      dishes.size ? null : api.get(paths.menu(R)).then((m) => { for (const d of m.dishes || []) dishes.set(d.id, d); }).catch(() => {}),
    ]);
    return snap;
  }

  function onSnapshot(snap) {
    if (snap.station) station = snap.station;
    learnServerTime(snap.now, true);
    book.clear();
    for (const v of snap.tickets || []) book.put(v);
    render();
  }

  function onEvent(ev) {
    learnServerTime(ev.ts);
    const change = book.apply(ev);
    const order = change.order;
    const touches = order && mine(order).length;
    if (touches) {
      if (change.kind === "new") { beep("new"); flashUntil.set(order.id, Date.now() + 4000); }
      else if (change.kind === "void") { beep("void"); flashUntil.set(order.id, Date.now() + 4000); }
      else if (["added", "changed"].includes(change.kind) && ["order.lines_added", "dish.urged", "dish.overdue", "order.rushed", "dish.return_requested"].includes(ev.type)) {
        beep("change"); flashUntil.set(order.id, Date.now() + 4000);
      }
    }
    if (change.kind === "menu" && ev.data && ev.data.dish_id && dishes.has(ev.data.dish_id)) {
      const d = dishes.get(ev.data.dish_id);
      d.sold_out = ev.type === "dish.sold_out" || (ev.data.remaining != null && ev.data.remaining <= 0);
      d.remaining = ev.type === "dish.sold_out" ? 0 : ev.data.remaining;
      if (soldOutOpen) soldOutOpen();
    }
    if (change.kind === "menu" && ev.type === "menu.changed") {
      api.get(paths.menu(R)).then((m) => { for (const d of m.dishes || []) dishes.set(d.id, d); rerender(); }).catch(() => {});
    }
    rerender();
  }

  const live = new Live({
    hubUrl, token, restaurant: R, screen: `station-${stationId}`,
    channels: () => [`station:${R}:${stationId}`, `menu:${R}`],
    loadSnapshot, onSnapshot, onEvent,
    onState: followConnection(badge, outbox, onDenied),
  });
  onLang(render);
  render();
  live.start().catch(() => {});
  window.kitchenScreen = { book, live, outbox };
}
