// The diner's phone, reached from the table's QR code (/t/<qr token>): the menu, the table's
// shared cart, ordering and adding dishes, every dish's live status with a wait estimate,
// urging and returning a dish, calling a waiter, the bill.
import { ApiError, makeApi } from "./lib/api.js";
import { batched, followConnection, fullMessage } from "./lib/app.js";
import { dialog, fill, h, toast } from "./lib/dom.js";
import { learnServerTime, minutes, money, serverNow, timeOfDay } from "./lib/format.js";
import { langButton, name, onLang, t } from "./lib/i18n.js";
import { Live } from "./lib/live.js";
import { DEAD, OrderBook } from "./lib/orders.js";
import { Outbox } from "./lib/outbox.js";
import { paths } from "./lib/paths.js";
import { StatusBadge } from "./lib/status.js";
import { icon } from "./lib/icons.js";

const STEPS = ["queued", "cooking", "ready", "served"];
const URGE_MAX = 5; // kitchen/dishflow.py: five urges of a dish in all ...
const URGE_GAP_MS = 60000; // ... at most one a minute
const qr = (() => { // a mangled address (a stray %) is a bad code, not a page stuck loading
  try { return decodeURIComponent(location.pathname.replace(/^\/t\//, "").split("/")[0] || ""); } catch { return ""; }
})();

function allergenName(id) {
  const text = t(`allergen.${id}`);
  return text.startsWith("allergen.") ? id : text;
}

function forgetOtherSittings(prefix, keep) {
  try {
    for (const key of Object.keys(localStorage)) if (key.startsWith(prefix) && key !== keep) localStorage.removeItem(key);
  } catch { /* storage off */ }
}

function closedPage(kind) {
  const again = () => h("button", { type: "button", class: "btn btn-primary", onclick: () => { sessionStorage.removeItem(`kitchen.diner.${qr}`); location.reload(); } }, t("diner.scan_again"));
  if (kind === "closed") fullMessage(icon("plate"), "diner.closed_title", "diner.closed_body", again);
  else if (kind === "ended") fullMessage(icon("wave"), "diner.ended_title", "diner.ended_body", again);
  else fullMessage(icon("key"), "diner.bad_code", "", again);
  document.body.dataset.page = kind;
}

async function dinerSession() {
  const cached = (() => { try { return JSON.parse(sessionStorage.getItem(`kitchen.diner.${qr}`) || "null"); } catch { return null; } })();
  if (cached && (!cached.expires_at || cached.expires_at * 1000 > Date.now() + 60000)) return cached;
  const api = makeApi("");
  const s = await api.post(paths.dinerSession(), { qr });
  try { sessionStorage.setItem(`kitchen.diner.${qr}`, JSON.stringify(s)); } catch { /* ignore */ }
  return s;
}

async function start() {
  if (!qr) return closedPage("bad");
  let s;
  for (let delay = 1000; ; delay = Math.min(delay * 2, 8000)) {
    try {
      s = await dinerSession();
      break;
    } catch (exc) {
      if (exc instanceof ApiError && exc.code === "table_closed") return closedPage("closed");
      if (exc instanceof ApiError && exc.status < 500 && exc.status !== 429) return closedPage("bad");
      fullMessage(icon("wifiOff"), "conn.offline", "common.loading");
      await new Promise((r) => setTimeout(r, delay));
    }
  }
  main(s);
}

function main(s) {
  const R = s.restaurant_id;
  const T = s.table;
  const api = makeApi(s.token);
  const badge = new StatusBadge();
  const book = new OrderBook();
  const waits = new Map(); // line key → {wait_s, at}
  let menu = { categories: [], dishes: [], set_meals: [] };
  let cart = { items: [], count: 0, total_fen: 0 };
  let table = { no: T, status: "open" };
  let tab = "menu";
  let activeCat = "";
  let holdCourse = false;
  let ended = false;

  // taps waiting for the link belong to this sitting only: the next guests never send them
  const outboxKey = `kitchen.outbox.diner.${R}.${T}.${s.session || ""}`;
  forgetOtherSittings(`kitchen.outbox.diner.${R}.${T}.`, outboxKey);
  const endSession = () => {
    if (ended) return;
    ended = true;
    sessionStorage.removeItem(`kitchen.diner.${qr}`);
    try { localStorage.removeItem(outboxKey); } catch { /* ignore */ }
    closedPage("ended");
  };
  const outbox = new Outbox(api, outboxKey, {
    onChange: (items) => { badge.setQueued(items.length); if (!ended) rerender(); },
    onRejected: (item, exc) => {
      if (exc.code === "session_ended") return endSession();
      toast(t("common.refused", { reason: exc.message }), "error", 5000);
    },
  });
  badge.setQueued(outbox.size);
  // an order (or 加菜) waits to be sent: the cart is not ordered a second time meanwhile
  const ordering = () => outbox.items.some((i) => i.kind === "order");

  // ---------------------------------------------------------------- layout
  const head = h("header", { class: "d-head" });
  const tabs = h("nav", { class: "d-tabs", role: "tablist" });
  const body = h("main", { class: "d-body" });
  const cartBar = h("div", { class: "cart-bar" });
  fill(document.getElementById("app"), head, tabs, body, cartBar);

  function renderHead() {
    fill(head,
      h("div", { class: "d-title" },
        h("div", { class: "d-restaurant" }, name(menu) || ""),
        h("div", { class: "d-table", dataset: { table: T } }, t("diner.table", { no: T }))),
      h("div", { class: "d-head-actions" },
        badge.el,
        h("button", { type: "button", class: "btn btn-small btn-warn", dataset: { action: "waiter" }, onclick: callWaiter }, [icon("service"), " ", `${t("diner.call_waiter")}`]),
        langButton()));
  }

  function renderTabs() {
    const ordered = Array.from(book.orders.values()).reduce((n, o) => n + o.lines.filter((l) => !DEAD.has(l.status)).length, 0);
    const tabBtn = (id, label) => h("button", {
      type: "button", role: "tab", class: ["d-tab", tab === id ? "is-active" : ""], "aria-selected": String(tab === id),
      dataset: { tab: id }, onclick: () => { tab = id; render(); },
    }, label);
    fill(tabs,
      tabBtn("menu", [icon("book"), " ", `${t("diner.menu")}`]),
      tabBtn("orders", [icon("pot"), " ", t("diner.orders"), ordered ? ` (${ordered})` : ""]),
      tabBtn("bill", [icon("receipt"), " ", `${t("diner.bill")}`]));
  }

  // ---------------------------------------------------------------- menu
  const inCart = (key, id) => cart.items.filter((i) => i[key] === id).reduce((n, i) => n + i.qty, 0);

  function priceEl(thing) {
    const now = thing.price_now_fen ?? thing.price_fen;
    if (thing.offer && now < thing.price_fen) {
      return h("div", { class: "price" },
        h("span", { class: "price-now" }, money(now)),
        h("s", { class: "price-was" }, money(thing.price_fen)),
        h("span", { class: "offer" }, [icon("fire"), " ", `${name(thing.offer, "label")}`], thing.offer.ends_at ? ` · ${t("diner.offer_until", { time: new Date(thing.offer.ends_at).toLocaleDateString() })}` : ""));
    }
    return h("div", { class: "price" }, h("span", { class: "price-now" }, money(now)));
  }

  function stepper(kind, id, soldOut) {
    const n = inCart(kind, id);
    return h("div", { class: "stepper" },
      n ? h("button", { type: "button", class: "step step-minus", "aria-label": "−", onclick: () => changeCart(kind, id, -1) }, "−") : null,
      n ? h("span", { class: "step-n" }, String(n)) : null,
      h("button", { type: "button", class: "step step-plus", disabled: soldOut, "aria-label": "+", dataset: { add: id }, onclick: () => changeCart(kind, id, 1) }, "+"));
  }

  function dishCard(d) {
    const photo = d.photo || `/media/dish/${encodeURIComponent(d.id)}.svg?name=${encodeURIComponent(d.name_zh || "")}&cat=${encodeURIComponent(d.category_id || "")}`;
    return h("article", { class: ["dish", d.sold_out ? "is-sold-out" : ""], dataset: { dishId: d.id } },
      h("div", { class: "dish-photo" },
        h("img", { src: photo, alt: name(d), loading: "lazy", width: "112", height: "84" }),
        d.sold_out ? h("span", { class: "sold-out-mark" }, t("diner.sold_out")) : null),
      h("div", { class: "dish-info" },
        h("h3", { class: "dish-name" }, name(d)),
        h("div", { class: "dish-sub" }, name(d) === d.name_zh ? d.name_en : d.name_zh),
        h("div", { class: "dish-tags" },
          (d.tags || []).map((tag) => h("span", { class: "tag" }, tag)),
          d.calories ? h("span", { class: "kcal" }, t("diner.kcal", { n: d.calories })) : null),
        (d.allergens || []).length ? h("div", { class: "dish-allergens" }, `⚠ ${t("diner.allergens", { list: d.allergens.map(allergenName).join("、") })}`) : null,
        d.remaining != null && d.remaining > 0 && d.remaining <= 5 ? h("div", { class: "dish-left" }, t("diner.left", { n: d.remaining })) : null,
        h("div", { class: "dish-foot" }, priceEl(d),
          h("button", { type: "button", class: "btn btn-ghost btn-small note-btn", disabled: d.sold_out, title: t("diner.note_ph"), onclick: () => addWithNote(d) }, "✎"),
          stepper("dish_id", d.id, d.sold_out))));
  }

  function setCard(m) {
    return h("article", { class: ["dish", "set-meal", m.sold_out ? "is-sold-out" : ""], dataset: { setId: m.id } },
      h("div", { class: "dish-photo set-photo" }, icon("bento"), m.sold_out ? h("span", { class: "sold-out-mark" }, t("diner.sold_out")) : null),
      h("div", { class: "dish-info" },
        h("h3", { class: "dish-name" }, name(m)),
        h("div", { class: "dish-sub" }, (m.dishes || []).map((x) => `${name(x)}×${x.qty}`).join(" + ")),
        h("div", { class: "dish-foot" }, priceEl(m), stepper("set_meal_id", m.id, m.sold_out))));
  }

  function renderMenu() {
    const cats = [...(menu.set_meals || []).length ? [{ id: "__sets", name_zh: "套餐", name_en: "Set meals" }] : [], ...(menu.categories || [])];
    if (!activeCat && cats.length) activeCat = cats[0].id;
    const rail = h("nav", { class: "cat-rail" }, cats.map((c) => h("button", {
      type: "button", class: ["cat", c.id === activeCat ? "is-active" : ""], dataset: { cat: c.id },
      onclick: () => { activeCat = c.id; const sec = document.getElementById(`cat-${c.id}`); if (sec) sec.scrollIntoView({ behavior: "smooth", block: "start" }); renderMenuRail(); },
    }, name(c))));
    const list = h("div", { class: "dish-list" }, cats.map((c) => h("section", { class: "cat-section", id: `cat-${c.id}`, dataset: { cat: c.id } },
      h("h2", { class: "cat-title" }, name(c)),
      c.id === "__sets" ? menu.set_meals.map(setCard) : menu.dishes.filter((d) => d.category_id === c.id).map(dishCard))));
    list.addEventListener("scroll", () => {
      for (const sec of list.querySelectorAll(".cat-section")) {
        if (sec.offsetTop - list.scrollTop <= 40) activeCat = sec.dataset.cat;
      }
      renderMenuRail();
    }, { passive: true });
    return h("div", { class: "menu-view" }, rail, list);
  }

  function renderMenuRail() {
    for (const b of body.querySelectorAll(".cat")) b.classList.toggle("is-active", b.dataset.cat === activeCat);
  }

  // ---------------------------------------------------------------- cart
  function changeCart(kind, id, delta) {
    api.post(paths.cartItems(R, T), { [kind]: id, qty: delta })
      .then((c) => { cart = c; rerender(); })
      .catch(handleError);
  }

  async function addWithNote(d) {
    const input = h("input", { type: "text", maxlength: "100", placeholder: t("diner.note_ph"), "aria-label": t("diner.note_ph") });
    const note = await dialog(name(d), [h("label", {}, t("station.note")), input], [
      { label: t("common.cancel"), value: null },
      { label: `+ ${t("diner.cart")}`, kind: "primary", value: () => input.value.trim() },
    ]);
    if (note === null || note === undefined) return;
    api.post(paths.cartItems(R, T), { dish_id: d.id, qty: 1, note }).then((c) => { cart = c; rerender(); }).catch(handleError);
  }

  function openOrder() {
    return Array.from(book.orders.values()).filter((o) => o.lines.some((l) => ["held", "queued", "cooking"].includes(l.status)))
      .sort((a, b) => b.created_at - a.created_at)[0];
  }

  async function submit() {
    if (!cart.items.length) return;
    const items = cart.items.map((i) => ({
      ...(i.dish_id ? { dish_id: i.dish_id } : { set_meal_id: i.set_meal_id }),
      qty: i.qty, note: i.note || "", course: holdCourse ? 2 : 1,
    }));
    if (ordering()) return;
    const target = openOrder();
    if (navigator.onLine === false) toast(t("common.sent_later"), "warn");
    try {
      if (target) {
        await outbox.push({ method: "POST", path: paths.addLines(R, target.id), body: { items }, kind: "order" });
        await api.put(paths.cart(R, T), { items: [] }).then((c) => { cart = c; }).catch(() => {});
        toast(t("diner.added"), "ok");
      } else {
        await outbox.push({ method: "POST", path: paths.placeOrder(R, T), body: { items }, kind: "order" });
        toast(t("diner.ordered"), "ok");
      }
      closeCart();
      tab = "orders";
    } catch (exc) {
      handleError(exc);
    } finally {
      rerender();
    }
  }

  let cartOpen = false;
  function closeCart() { cartOpen = false; }

  function renderCartBar() {
    const count = cart.count || cart.items.reduce((n, i) => n + i.qty, 0);
    const target = openOrder();
    fill(cartBar,
      cartOpen ? h("div", { class: "cart-sheet", role: "dialog" },
        h("div", { class: "cart-sheet-head" },
          h("h2", {}, [icon("cart"), " ", `${t("diner.cart")}`]),
          h("span", { class: "muted" }, t("diner.shared_cart")),
          cart.items.length ? h("button", { type: "button", class: "btn btn-small btn-ghost", onclick: () => api.put(paths.cart(R, T), { items: [] }).then((c) => { cart = c; rerender(); }).catch(handleError) }, t("diner.clear_cart")) : null),
        cart.items.length ? h("ul", { class: "cart-items" }, cart.items.map((i) => h("li", { class: ["cart-item", i.available === false ? "is-unavailable" : ""], dataset: { dishId: i.dish_id || i.set_meal_id } },
          h("div", { class: "ci-name" }, name(i), i.note ? h("div", { class: "ci-note" }, `✎ ${i.note}`) : null, i.available === false ? h("div", { class: "ci-warn" }, t("diner.sold_out")) : null),
          h("span", { class: "ci-price" }, money(i.total_fen ?? i.unit_price_fen * i.qty)),
          h("div", { class: "stepper" },
            h("button", { type: "button", class: "step step-minus", onclick: () => api.post(paths.cartItems(R, T), { ...(i.dish_id ? { dish_id: i.dish_id } : { set_meal_id: i.set_meal_id }), qty: -1, note: i.note || "" }).then((c) => { cart = c; rerender(); }).catch(handleError) }, "−"),
            h("span", { class: "step-n" }, String(i.qty)),
            h("button", { type: "button", class: "step step-plus", onclick: () => api.post(paths.cartItems(R, T), { ...(i.dish_id ? { dish_id: i.dish_id } : { set_meal_id: i.set_meal_id }), qty: 1, note: i.note || "" }).then((c) => { cart = c; rerender(); }).catch(handleError) }, "+"))))) : h("p", { class: "muted" }, t("diner.cart_empty")),
        h("label", { class: "hold-toggle" },
          h("input", { type: "checkbox", checked: holdCourse, onchange: (e) => { holdCourse = e.target.checked; } }),
          ` ${t("diner.course_later")}`)) : null,
      h("div", { class: "cart-summary" },
        h("button", { type: "button", class: "cart-toggle", dataset: { action: "cart" }, onclick: () => { cartOpen = !cartOpen; rerender(); } },
          h("span", { class: "cart-icon" }, icon("cart")),
          count ? h("span", { class: "cart-count" }, String(count)) : null,
          h("span", { class: "cart-total" }, count ? money(cart.total_fen) : t("diner.cart_empty"))),
        h("button", { type: "button", class: "btn btn-primary cart-submit", disabled: !count || ordering(), dataset: { action: "order" }, onclick: submit },
          ordering() ? t("diner.sending") : target ? t("diner.add_now") : t("diner.order_now"))));
  }

  // ---------------------------------------------------------------- orders and status
  function waitFor(order, line) {
    if (line.status === "ready" || line.status === "served") return 0;
    const w = waits.get(`${order.id}:${line.id}`);
    if (line.status === "cooking") {
      const since = line.times.cooking || line.times.queued || order.created_at;
      const fromTarget = Math.max(30, (line.target_s || 600) - (serverNow() - (line.times.queued || since)) / 1000);
      return w && w.status === "cooking" ? Math.max(30, w.wait_s - (serverNow() - w.at) / 1000) : fromTarget;
    }
    if (line.status === "queued") {
      if (w) return Math.max(30, w.wait_s - (serverNow() - w.at) / 1000);
      return Math.max(30, (line.target_s || 600) - (serverNow() - (line.times.queued || order.created_at)) / 1000);
    }
    return null;
  }

  function progress(line) {
    const at = STEPS.indexOf(line.status);
    return h("ol", { class: "steps", "aria-label": t(`dstatus.${line.status}`) }, STEPS.map((st, i) => h("li", {
      class: ["step-dot", i < at ? "is-done" : "", i === at ? "is-now" : ""],
    }, t(`dstatus.${st}`))));
  }

  function lineRow(order, line) {
    const dead = DEAD.has(line.status);
    const wait = waitFor(order, line);
    const urgeable = ["held", "queued", "cooking"].includes(line.status) && (line.urges || 0) < URGE_MAX
      && !(line.urges && serverNow() - (line.last_urged_at || 0) < URGE_GAP_MS);
    const returnable = ["held", "queued", "cooking", "ready"].includes(line.status) && !line.return_requested;
    return h("li", { class: ["o-line", `o-${line.status}`, dead ? "is-dead" : ""], dataset: { lineId: line.id, orderId: order.id, status: line.status } },
      h("div", { class: "o-top" },
        h("span", { class: "o-qty" }, `${line.qty}×`),
        h("span", { class: "o-name" }, name(line)),
        h("span", { class: ["o-status", `st-${line.status}`], dataset: { status: line.status } }, t(`dstatus.${line.status}`))),
      line.note ? h("div", { class: "o-note" }, `✎ ${line.note}`) : null,
      !dead && line.status !== "held" ? progress(line) : null,
      h("div", { class: "o-foot" },
        wait ? h("span", { class: "o-wait" }, [icon("clock"), " ", `${t("diner.wait", { t: minutes(wait * 1000) })}`]) : null,
        line.urges ? h("span", { class: "o-urged" }, `${t("diner.urged")} ×${line.urges}`) : null,
        line.return_requested ? h("span", { class: "o-return" }, t("diner.return_asked")) : null,
        h("span", { class: "o-gap" }),
        urgeable ? h("button", { type: "button", class: "btn btn-small btn-warn", dataset: { action: "urge" }, onclick: () => urge(order, line) }, [icon("bolt"), " ", `${t("diner.urge")}`]) : null,
        returnable ? h("button", { type: "button", class: "btn btn-small", dataset: { action: "return" }, onclick: () => giveBack(order, line) }, `↩ ${t("diner.return")}`) : null));
  }

  function renderOrders() {
    const orders = Array.from(book.orders.values()).sort((a, b) => b.created_at - a.created_at);
    if (!orders.length) return h("div", { class: "empty" }, t("diner.no_orders"));
    return h("div", { class: "orders" }, orders.map((o) => {
      const live = o.lines.filter((l) => !DEAD.has(l.status));
      const served = live.filter((l) => l.status === "served").length;
      return h("section", { class: "order", dataset: { orderId: o.id } },
        h("header", { class: "order-head" },
          h("b", {}, `#${o.no}`), ` · ${timeOfDay(o.created_at)}`,
          h("span", { class: "order-progress" }, t("diner.progress", { done: served, total: live.length }))),
        h("ul", { class: "o-lines" }, o.lines.map((l) => lineRow(o, l))));
    }));
  }

  function renderBill() {
    const lines = [];
    for (const o of Array.from(book.orders.values()).sort((a, b) => a.created_at - b.created_at)) for (const l of o.lines) lines.push(l);
    const total = lines.filter((l) => !DEAD.has(l.status)).reduce((n, l) => n + l.qty * l.unit_price_fen, 0);
    const returned = lines.filter((l) => DEAD.has(l.status)).reduce((n, l) => n + l.qty * l.unit_price_fen, 0);
    return h("div", { class: "bill" },
      h("table", { class: "bill-table" },
        h("tbody", {}, lines.map((l) => h("tr", { class: DEAD.has(l.status) ? "is-dead" : "" },
          h("td", {}, name(l)), h("td", { class: "num" }, `×${l.qty}`), h("td", { class: "num" }, money(DEAD.has(l.status) ? 0 : l.qty * l.unit_price_fen)))))),
      returned ? h("p", { class: "muted" }, t("diner.returned_fen", { m: money(returned) })) : null,
      h("div", { class: "bill-total" }, h("span", {}, t("common.total")), h("b", { dataset: { total: String(total) } }, money(total))),
      table.status === "paying"
        ? h("p", { class: "bill-note" }, `✓ ${t("diner.bill_requested")}`)
        : h("button", { type: "button", class: "btn btn-primary bill-btn", disabled: !lines.length, dataset: { action: "bill" }, onclick: requestBill }, [icon("receipt"), " ", `${t("diner.request_bill")}`]));
  }

  // ---------------------------------------------------------------- actions
  function handleError(exc) {
    if (exc && exc.code === "session_ended") return endSession();
    toast(exc instanceof ApiError ? t("common.refused", { reason: exc.message }) : t("common.offline_try"), exc instanceof ApiError ? "error" : "warn", 4500);
    return undefined;
  }

  function urge(order, line) {
    // a second urge within the minute is not worth holding the taps behind it: once only
    outbox.push({ method: "POST", path: paths.urgeLine(R, order.id, line.id), body: {}, once: true })
      .then(() => toast(t("diner.urged"), "ok")).catch(() => {});
  }

  async function giveBack(order, line) {
    const ok = await dialog(t("diner.return"), t("diner.return_confirm", { name: name(line) }), [
      { label: t("common.cancel"), value: false }, { label: t("diner.return"), kind: "primary", value: true }]);
    if (!ok) return;
    outbox.push({ method: "POST", path: paths.returnLine(R, order.id, line.id), body: {} })
      .then((r) => toast(r && r.granted ? t("diner.returned") : t("diner.return_asked"), "ok")).catch(() => {});
  }

  function callWaiter() {
    outbox.push({ method: "POST", path: paths.callWaiter(R, T), body: { reason: "" } })
      .then(() => toast(t("diner.waiter_called"), "ok")).catch(() => {});
  }

  function requestBill() {
    outbox.push({ method: "POST", path: paths.bill(R, T), body: {} })
      .then((r) => { if (r && r.table) table = r.table; toast(t("diner.bill_requested"), "ok"); rerender(); }).catch(() => {});
  }

  // ---------------------------------------------------------------- render
  function render() {
    if (ended) return;
    renderHead();
    renderTabs();
    document.body.dataset.tab = tab;
    const scroller = body.querySelector(".dish-list");
    const keep = scroller ? scroller.scrollTop : 0;
    fill(body, tab === "menu" ? renderMenu() : tab === "orders" ? renderOrders() : renderBill());
    const again = body.querySelector(".dish-list");
    if (again) again.scrollTop = keep;
    renderCartBar();
  }
  const rerender = batched(render);
  setInterval(() => { if (tab === "orders") rerender(); }, 15000);

  // ---------------------------------------------------------------- sync
  function takeWaits(snap) {
    for (const o of snap.orders || []) {
      for (const l of o.lines || []) {
        if (l.wait_s != null) waits.set(`${o.id}:${l.id}`, { wait_s: l.wait_s, at: snap.now || serverNow(), status: l.status });
      }
    }
  }

  async function loadSnapshot() {
    const snap = await api.get(paths.tableOrders(R, T)); // its position is read first
    const [m, c] = await Promise.all([api.get(paths.menu(R)), api.get(paths.cart(R, T))]);
    return { ...snap, menu: m, cart: c };
  }

  function onSnapshot(snap) {
    learnServerTime(snap.now, true);
    menu = snap.menu;
    cart = snap.cart;
    table = snap.table || table;
    book.clear();
    for (const o of snap.orders || []) book.put(o);
    takeWaits(snap);
    render();
  }

  // a set meal is sold out while one of its dishes is short of what the set holds of it
  function markSetMeals() {
    const dishes = new Map((menu.dishes || []).map((x) => [x.id, x]));
    for (const m of menu.set_meals || []) {
      const short = (m.dishes || []).filter((x) => {
        const dish = dishes.get(x.dish_id);
        return !dish || (dish.remaining != null && dish.remaining < x.qty);
      }).map((x) => x.dish_id);
      m.sold_out = short.length > 0;
      m.sold_out_dishes = short;
    }
  }

  function onEvent(ev) {
    learnServerTime(ev.ts);
    const d = ev.data || {};
    switch (ev.type) {
      case "cart.changed":
        // the event has the items; prices and totals come from the API
        api.get(paths.cart(R, T)).then((c) => { cart = c; rerender(); }).catch(() => {});
        return;
      case "table.cleared":
        if (d.table && d.table.no === T) endSession();
        return;
      case "table.transferred":
      case "table.merged":
        if (d.source && d.source.no === T) endSession();
        else if (d.target && d.target.no === T) { table = d.target; for (const o of d.orders || []) book.put(o); }
        break;
      case "table.opened":
      case "table.reopened":
      case "table.bill_requested":
      case "table.waiter_called":
        if (d.table && d.table.no === T) table = d.table;
        break;
      case "menu.changed":
        api.get(paths.menu(R)).then((m) => { menu = m; rerender(); }).catch(() => {});
        return;
      case "stock.changed":
      case "dish.sold_out":
      case "dish.restocked":
        for (const dish of menu.dishes || []) {
          if (dish.id !== d.dish_id) continue;
          dish.remaining = ev.type === "dish.sold_out" ? 0 : d.remaining;
          dish.sold_out = ev.type === "dish.sold_out" || (d.remaining != null && d.remaining <= 0);
        }
        markSetMeals();
        break;
      default:
        if (d.order && d.order.table_no === T) {
          const before = book.get(d.order.id);
          book.put(d.order);
          for (const l of d.order.lines) {
            const old = before && before.lines.find((x) => x.id === l.id);
            if (!old || old.status !== l.status) waits.delete(`${d.order.id}:${l.id}`);
          }
        }
    }
    rerender();
  }

  const live = new Live({
    hubUrl: s.hub_url, token: s.token, restaurant: R, screen: `diner-${T}-${Math.random().toString(36).slice(2, 8)}`,
    channels: () => s.channels || [`table:${R}:${T}`, `menu:${R}`],
    loadSnapshot, onSnapshot, onEvent,
    onState: followConnection(badge, outbox, endSession),
  });
  // wait estimates follow the kitchen's load: refresh them now and then
  setInterval(() => { if (!ended) api.get(paths.tableOrders(R, T)).then((snap) => { takeWaits(snap); rerender(); })
    .catch((exc) => { if (exc && exc.code === "session_ended") endSession(); }); }, 30000);
  onLang(render);
  live.start().catch((exc) => { if (exc && (exc.code === "session_ended" || exc.status === 401)) endSession(); });
  window.kitchenScreen = { book, live, outbox };
}

start();
