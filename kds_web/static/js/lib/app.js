// What every screen starts with: its token, the API client, the offline queue, the badge.
import { makeApi } from "./api.js";
import { h, fill, toast } from "./dom.js";
import { t, langButton, onLang, applyStatic } from "./i18n.js";
import { Outbox } from "./outbox.js";
import { StatusBadge } from "./status.js";
import { claims as readClaims, pageToken } from "./token.js";
import { icon } from "./icons.js";

export function hubUrlFromPage() {
  const meta = document.querySelector('meta[name="kitchen-hub"]');
  const url = meta ? meta.content : "";
  if (url) return url;
  const proto = location.protocol === "https:" ? "wss:" : "ws:";
  return `${proto}//${location.hostname}:8001`;
}

/** Replace the page with one large message (no token, refused, table closed …): ``titleKey``
 * and ``bodyKey`` are keys of strings.js, ``action`` an element or a function making one, so
 * that the message is drawn again in the other language when the switch is tapped. */
let shown = null;
export function fullMessage(mark, titleKey, bodyKey, action) {
  shown = { mark, titleKey, bodyKey, action, el: null };
  drawMessage();
}

function drawMessage() {
  const app = document.getElementById("app");
  if (!shown || (shown.el && !app.contains(shown.el))) return; // the page has moved on
  const { mark, titleKey, bodyKey, action } = shown;
  shown.el = h("div", { class: "full-message", role: "alert" },
    h("div", { class: "big-icon", "aria-hidden": "true" }, mark),
    h("h1", {}, t(titleKey)),
    bodyKey ? h("p", {}, t(bodyKey)) : null,
    (typeof action === "function" ? action() : action) || null,
    h("p", {}, langButton()));
  fill(app, shown.el);
}
onLang(drawMessage);

/** Token, claims, API, outbox and badge for a staff screen; null when there is no token. */
export function staffSession(expectedRoles, screenName) {
  const token = pageToken();
  const claims = token ? readClaims(token) : null;
  if (!token || !claims) {
    fullMessage(icon("key"), "common.denied", "common.no_token");
    return null;
  }
  if (expectedRoles && !expectedRoles.includes(claims.role)) {
    fullMessage(icon("key"), "common.denied", "common.token_refused");
    return null;
  }
  const api = makeApi(token);
  const badge = new StatusBadge();
  const outbox = new Outbox(api, `kitchen.outbox.${screenName}.${claims.restaurant}.${claims.station || claims.role}`, {
    onChange: (items) => badge.setQueued(items.length),
    onRejected: (item, exc) => toast(t("common.refused", { reason: exc.message }), "error", 5000),
  });
  badge.setQueued(outbox.size);
  onLang(() => applyStatic());
  return { token, claims, api, outbox, badge, hubUrl: hubUrlFromPage() };
}

/** What a staff screen does when the hub or the API refuses its token for good. */
export function onDenied() {
  fullMessage(icon("key"), "common.denied", "common.token_refused");
}

/** The ``onState`` of a screen's Live link: update the badge, mark the page, send the taps
 * queued offline once live again, and hand a refused token to ``denied``. */
export function followConnection(badge, outbox, denied) {
  return (info) => {
    badge.update(info);
    document.body.dataset.conn = info.state;
    if (info.state === "live") outbox.kick();
    if (info.state === "denied") denied();
  };
}

/** Run ``fn`` at most once per animation frame, however often it is asked for. */
export function batched(fn) {
  let queued = false;
  return () => {
    if (queued) return;
    queued = true;
    requestAnimationFrame(() => { queued = false; fn(); });
  };
}
