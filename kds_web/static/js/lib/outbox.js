// Taps made while the link is down wait here (in localStorage, so a reload keeps them) and are
// sent in order, each with the idempotency key it was given when tapped, once the link returns.
import { ApiError, NetworkError, newKey } from "./api.js";

const RETRY_MS = 2000;

export class Outbox {
  constructor(api, storageKey, { onChange, onSent, onRejected } = {}) {
    this.api = api;
    this.storageKey = storageKey;
    this.onChange = onChange || (() => {});
    this.onSent = onSent || (() => {});
    this.onRejected = onRejected || (() => {});
    this.items = this.load();
    this.sending = false;
    this.waiters = new Map(); // key → {resolve, reject} for commands pushed by this page
    this.timer = null;
    window.addEventListener("online", () => this.kick());
  }

  load() {
    try {
      const raw = JSON.parse(localStorage.getItem(this.storageKey) || "[]");
      return Array.isArray(raw) ? raw : [];
    } catch {
      return [];
    }
  }

  save() {
    try { localStorage.setItem(this.storageKey, JSON.stringify(this.items)); } catch { /* full */ }
    this.onChange(this.items);
  }

  get size() {
    return this.items.length;
  }

  /** Queue a command ({method, path, body, label, meta, kind, once}); resolves with the API's
   * answer. ``once``: a 429 (too soon) is its answer, not a reason to hold the queue and retry. */
  push(cmd) {
    const item = { key: newKey(), at: Date.now(), ...cmd };
    this.items.push(item);
    this.save();
    const done = new Promise((resolve, reject) => this.waiters.set(item.key, { resolve, reject }));
    done.catch(() => {}); // a caller that does not wait for the answer sees refusals via onRejected
    this.kick();
    return done;
  }

  /** Send what waits, oldest first; stops at the first command that cannot get through. */
  async kick() {
    if (this.sending) return;
    clearTimeout(this.timer);
    this.sending = true;
    try {
      while (this.items.length) {
        if (navigator.onLine === false) return;
        const item = this.items[0];
        let result;
        try {
          result = await this.api.call(item.method, item.path, item.body, { key: item.key });
        } catch (exc) {
          const tooSoon = exc instanceof ApiError && exc.status === 429 && item.once;
          if (exc instanceof NetworkError || (exc instanceof ApiError && exc.temporary && !tooSoon)) {
            this.retryLater();
            return;
          }
          this.items.shift();
          this.save();
          this.settle(item.key, "reject", exc);
          this.onRejected(item, exc);
          continue;
        }
        this.items.shift();
        this.save();
        this.settle(item.key, "resolve", result);
        this.onSent(item, result);
      }
    } finally {
      this.sending = false;
    }
  }

  retryLater() {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.kick(), RETRY_MS);
  }

  settle(key, how, value) {
    const waiter = this.waiters.get(key);
    if (!waiter) return;
    this.waiters.delete(key);
    waiter[how](value);
  }
}
