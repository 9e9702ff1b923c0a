// Keeping a screen in step with the restaurant's event log.
//
// 1. Load the API snapshot; it says where in the log it stands: {epoch, pos}.
// 2. Connect to the hub and subscribe "from" that position; the hub first replays what the
//    screen missed, then sends live events.
// 3. Apply every event whose position is after the last one seen; drop the others (a replay
//    that overlaps the snapshot, a duplicate after a reconnect).
// 4. When the hub answers "reload" (the log was rebuilt, or the screen was away longer than
//    the hub remembers), load the snapshot again and subscribe from its position.
// The link is watched: the browser's offline/online signals, a ping every few seconds, and
// any close all lead to "offline" and a reconnect with back-off.

export const LIVE = "live";
export const CATCHING_UP = "catching_up";
export const OFFLINE = "offline";
export const CONNECTING = "connecting";
export const DENIED = "denied";

const PING_EVERY_MS = 5000;
const SILENCE_MS = 15000; // no frame at all for this long: the link is dead
const CLOSE_UNAUTHORIZED = 4001;

/** "1732000000000-3" → [1732000000000, 3]; compares positions of one log. */
export function parsePos(pos) {
  const [ms, seq] = String(pos || "0-0").split("-");
  return [Number(ms) || 0, Number(seq) || 0];
}

export function comparePos(a, b) {
  const [am, as] = parsePos(a);
  const [bm, bs] = parsePos(b);
  return am !== bm ? (am < bm ? -1 : 1) : as === bs ? 0 : as < bs ? -1 : 1;
}

export class Live {
  /**
   * @param {object} o
   * @param {string} o.hubUrl        ws://host:port of the hub
   * @param {string} o.token         the page's token
   * @param {string} o.restaurant    restaurant id whose log the screen follows
   * @param {() => string[]} o.channels  channels to watch
   * @param {() => Promise<object>} o.loadSnapshot  the API snapshot ({epoch, pos, ...})
   * @param {(snap: object) => void} o.onSnapshot
   * @param {(event: object) => void} o.onEvent
   * @param {(info: object) => void} o.onState  {state, pos, replaying, error}
   * @param {string} [o.screen]      a name for the hub's presence list
   */
  constructor(o) {
    Object.assign(this, o);
    this.pos = "0-0";
    this.epoch = "";
    this.state = CONNECTING;
    this.ws = null;
    this.subId = 0;
    this.expecting = 0; // replayed events still to come after the ack
    this.attempt = 0;
    this.lastFrameAt = 0;
    this.timers = {};
    this.stopped = false;
    window.addEventListener("offline", () => this.linkLost("browser offline"));
    window.addEventListener("online", () => this.reconnectSoon(0));
    document.addEventListener("visibilitychange", () => {
      if (document.visibilityState === "visible" && this.state === OFFLINE) this.reconnectSoon(0);
    });
  }

  async start() {
    await this.reload();
    this.connect();
    this.timers.ping = setInterval(() => this.heartbeat(), PING_EVERY_MS);
  }

  setState(state, extra = {}) {
    this.state = state;
    this.onState({ state, pos: this.pos, epoch: this.epoch, replaying: this.expecting, ...extra });
  }

  /** Load the snapshot (retrying until the API answers) and adopt its position. */
  async reload() {
    for (let delay = 500; ; delay = Math.min(delay * 2, 8000)) {
      try {
        const snap = await this.loadSnapshot();
        this.pos = snap.pos || "0-0";
        this.epoch = snap.epoch || "";
        this.onSnapshot(snap);
        return snap;
      } catch (exc) {
        if (exc && exc.status && exc.status < 500 && exc.status !== 429) {
          this.setState(DENIED, { error: exc });
          throw exc;
        }
        this.setState(OFFLINE, { error: exc });
        await new Promise((r) => setTimeout(r, delay));
      }
    }
  }

  connect() {
    if (this.stopped || this.state === DENIED) return;
    clearTimeout(this.timers.reconnect);
    if (navigator.onLine === false) {
      this.setState(OFFLINE);
      return;
    }
    if (this.ws) this.drop();
    this.setState(this.attempt ? CATCHING_UP : CONNECTING);
    // the token rides in the offered subprotocols, a header, never in the URL: a proxy's
    // access log keeps URLs (docs/protocol.md)
    const qs = new URLSearchParams();
    if (this.screen) qs.set("screen", this.screen);
    let ws;
    try {
      ws = new WebSocket(`${this.hubUrl.replace(/\/$/, "")}/ws?${qs}`, ["kitchen.json", `kitchen.token.${this.token}`]);
    } catch (exc) {
      this.linkLost(String(exc));
      return;
    }
    this.ws = ws;
    this.lastFrameAt = Date.now();
    ws.onopen = () => this.subscribe();
    ws.onmessage = (msg) => this.receive(ws, msg);
    ws.onclose = (ev) => {
      if (this.ws !== ws) return;
      this.ws = null;
      if (ev.code === CLOSE_UNAUTHORIZED) {
        this.setState(DENIED, { error: new Error(ev.reason || "token refused") });
        return;
      }
      this.linkLost(`closed ${ev.code}`);
    };
  }

  /** Forget the current socket without reacting to its close. */
  drop() {
    const ws = this.ws;
    this.ws = null;
    if (!ws) return;
    ws.onopen = ws.onmessage = ws.onclose = ws.onerror = null;
    try { ws.close(1000, "bye"); } catch { /* already gone */ }
  }

  subscribe() {
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN) return;
    this.subId += 1;
    this.expecting = 0;
    this.setState(CATCHING_UP);
    const from = { [this.restaurant]: { pos: this.pos, epoch: this.epoch } };
    this.send({ op: "sub", id: String(this.subId), channels: this.channels(), from });
  }

  send(obj) {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(obj));
  }

  receive(ws, msg) {
    if (ws !== this.ws) return;
    this.lastFrameAt = Date.now();
    let frame;
    try { frame = JSON.parse(msg.data); } catch { return; }
    switch (frame.op) {
      case "event": return this.event(frame);
      case "ack": return this.acked(frame);
      case "reload": return this.reloadAndResubscribe(frame);
      case "error": return this.refused(frame);
      case "bye": this.retryHint = frame.retry_ms; return undefined;
      default: return undefined; // hello, pong, presence
    }
  }

  acked(frame) {
    if (frame.unsubscribed || String(frame.id) !== String(this.subId)) return;
    if (!(frame.channels || []).length) return; // every channel was answered with "reload"
    this.attempt = 0;
    this.expecting = (frame.replayed || {})[this.restaurant] || 0;
    if (this.expecting === 0) this.setState(LIVE);
    else this.setState(CATCHING_UP);
  }

  event(frame) {
    if (frame.restaurant_id !== this.restaurant) return;
    if (this.expecting > 0) this.expecting -= 1;
    if (comparePos(frame.pos, this.pos) > 0) {
      this.pos = frame.pos;
      try {
        this.onEvent(frame);
      } catch (exc) {
        console.error("event", frame.type, exc);
      }
    }
    if (this.state === CATCHING_UP && this.expecting === 0) this.setState(LIVE);
    else this.setState(this.state);
  }

  async reloadAndResubscribe(frame) {
    if (frame.restaurant_id && frame.restaurant_id !== this.restaurant) return;
    this.subId += 1; // the answer to the refused subscription no longer counts
    this.expecting = 0;
    this.setState(CATCHING_UP, { reloading: true });
    try {
      await this.reload();
    } catch {
      return;
    }
    this.subscribe();
  }

  refused(frame) {
    if (frame.code === "unauthorized" || frame.code === "forbidden") {
      this.setState(DENIED, { error: new Error(frame.reason || frame.code) });
      return;
    }
    if (frame.temporary && frame.id && String(frame.id) === String(this.subId)) {
      setTimeout(() => this.subscribe(), 1000);
    }
  }

  heartbeat() {
    if (!this.ws) {
      if (this.state === OFFLINE && navigator.onLine !== false && !this.timers.reconnect) {
        this.reconnectSoon(0);
      }
      return;
    }
    if (Date.now() - this.lastFrameAt > SILENCE_MS) {
      this.linkLost("silent link");
      return;
    }
    this.send({ op: "ping", id: "p" });
  }

  linkLost(why) {
    this.drop();
    this.expecting = 0;
    this.setState(OFFLINE, { why });
    if (navigator.onLine !== false) this.reconnectSoon();
  }

  reconnectSoon(delay) {
    if (this.stopped || this.state === DENIED) return;
    clearTimeout(this.timers.reconnect);
    if (delay === undefined) {
      this.attempt += 1;
      const base = this.retryHint || Math.min(500 * 2 ** (this.attempt - 1), 10000);
      this.retryHint = 0;
      delay = base / 2 + Math.random() * (base / 2);
    } else {
      this.attempt = Math.max(this.attempt, 1);
    }
    this.timers.reconnect = setTimeout(() => {
      this.timers.reconnect = null;
      this.connect();
    }, delay);
  }
}
