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

/** Replace the page with one large message (no token, refused, table closed …). */
export function fullMessage(mark, title, body, action) {
  const app = document.getElementById("app");
  fill(app, h("div", { class: "full-message", role: "alert" },
    h("div", { class: "big-icon", "aria-hidden": "true" }, mark),
    h("h1", {}, title),
    h("p", {}, body),
    action || null,
    h("p", {}, langButton())));
}

/** Token, claims, API, outbox and badge for a staff screen; null when there is no token. */
export function staffSession(expectedRoles, screenName) {
  const token = pageToken();
  const claims = token ? readClaims(token) : null;
  if (!token || !claims || (expectedRoles && !expectedRoles.includes(claims.role))) {
    fullMessage(icon("key"), t("common.denied"), t("common.no_token"));
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
  fullMessage(icon("key"), t("common.denied"), t("common.no_token"));
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
