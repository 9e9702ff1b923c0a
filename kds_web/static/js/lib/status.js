// The connection badge every screen shows: live / catching up / offline, where the screen
// stands in the log ("synced to #pos"), and how many taps wait to be sent.
import { h, fill } from "./dom.js";
import { t, onLang } from "./i18n.js";

export class StatusBadge {
  constructor() {
    this.info = { state: "connecting", pos: "0-0" };
    this.queued = 0;
    this.el = h("div", { class: "conn", role: "status", "aria-live": "polite", dataset: { conn: "connecting" } });
    onLang(() => this.render());
    this.render();
  }

  update(info) {
    this.info = { ...this.info, ...info };
    this.render();
  }

  setQueued(n) {
    this.queued = n;
    this.render();
  }

  render() {
    const { state, pos, replaying } = this.info;
    this.el.dataset.conn = state;
    this.el.dataset.pos = pos || "0-0";
    this.el.dataset.queued = String(this.queued);
    let label = t(`conn.${state}`);
    if (state === "catching_up" && replaying > 0) label += ` (${replaying})`;
    fill(this.el,
      h("span", { class: "conn-dot", "aria-hidden": "true" }),
      h("span", { class: "conn-label" }, label),
      h("span", { class: "conn-pos", title: t("conn.pos_title") }, t("conn.synced", { pos: pos || "0-0" })),
      this.queued ? h("span", { class: "conn-queued" }, t("conn.queued", { n: this.queued })) : null);
  }
}
