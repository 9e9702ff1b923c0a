// Orders as every kitchen screen keeps them: one map, replaced whole by each event (events
// carry the order's full new state), plus the print state of each ticket slip.

export const KITCHEN = new Set(["held", "queued", "cooking"]);
export const DEAD = new Set(["returned", "voided"]);

/** A snapshot ticket view ({order_id, no, …, lines}) or an event's order → one shape. */
export function normalize(o) {
  return {
    id: o.id || o.order_id,
    no: o.no,
    table_no: o.table_no,
    created_at: o.created_at,
    rush: Boolean(o.rush),
    guests: o.guests || 0,
    lines: (o.lines || []).map((ln) => ({ ...ln, times: ln.times || {} })),
  };
}

export class OrderBook {
  constructor() {
    this.orders = new Map();
    this.prints = new Map(); // `${order}:${station}` → {ok, error}
  }

  clear() {
    this.orders.clear();
    this.prints.clear();
  }

  put(o) {
    const order = normalize(o);
    const old = this.orders.get(order.id);
    // a snapshot may hold only one station's lines: keep the other stations' lines we know
    if (old && order.lines.length < old.lines.length) {
      const mine = new Map(order.lines.map((ln) => [ln.id, ln]));
      order.lines = old.lines.map((ln) => mine.get(ln.id) || ln)
        .concat(order.lines.filter((ln) => !old.lines.some((x) => x.id === ln.id)));
    }
    this.orders.set(order.id, order);
    return { order, old };
  }

  get(id) {
    return this.orders.get(id);
  }

  /**
   * Apply one hub event; returns {kind, order, old} describing what changed for the screen.
   * kind: "new" | "added" | "changed" | "void" | "print" | "table" | "menu" | "other"
   */
  apply(ev) {
    const d = ev.data || {};
    if (d.order) {
      const { order, old } = this.put(d.order);
      return { kind: kindOf(ev, old), order, old, ev };
    }
    if (Array.isArray(d.orders) && d.orders.length) {
      for (const o of d.orders) this.put(o);
      return { kind: "changed", orders: d.orders.map((o) => this.get(o.id)), ev };
    }
    if (ev.type === "ticket.printed") {
      this.prints.set(`${d.order_id}:${d.station_id}`, { ok: d.ok, error: d.error || "" });
      return { kind: "print", orderId: d.order_id, station: d.station_id, ev };
    }
    if (ev.type && ev.type.startsWith("table.")) return { kind: "table", ev };
    if (ev.type === "menu.changed" || ev.type.startsWith("stock") || ev.type.startsWith("dish.sold") || ev.type === "dish.restocked") {
      return { kind: "menu", ev };
    }
    return { kind: "other", ev };
  }

  /** Orders sorted the way a kitchen reads them: rushed first, then by arrival. */
  sorted(filter) {
    return Array.from(this.orders.values()).filter(filter)
      .sort((a, b) => (b.rush - a.rush) || (a.created_at - b.created_at) || (a.no - b.no));
  }
}

function kindOf(ev, old) {
  switch (ev.type) {
    case "order.placed": return old ? "changed" : "new";
    case "order.lines_added": return "added";
    case "dish.returned": return "void";
    case "dish.status_changed": return ev.data.action === "void" ? "void" : "changed";
    default: return "changed";
  }
}

/** When a line last entered the kitchen: queued (or fired), or recalled; its age counts from
 * there (kitchen/dishflow.py in_kitchen_since). */
export function queuedAt(order, line) {
  const times = line.times || {};
  return Math.max(times.queued || order.created_at, times.recalled || 0);
}

/** Seconds since the oldest still-cooking dish of ``lines`` was queued. */
export function ageOf(order, lines, now) {
  const live = lines.filter((ln) => ln.status === "queued" || ln.status === "cooking");
  if (!live.length) return 0;
  const oldest = Math.min(...live.map((ln) => queuedAt(order, ln)));
  return Math.max(0, Math.floor((now - oldest) / 1000));
}

export function levelOf(ageS, station) {
  const warn = (station && station.warn_after_s) || 300;
  const late = (station && station.late_after_s) || 480;
  return ageS >= late ? "late" : ageS >= warn ? "warn" : "ok";
}

export function isLate(order, line, now) {
  return (line.status === "queued" || line.status === "cooking")
    && (line.overdue || now - queuedAt(order, line) > (line.target_s || 600) * 1000);
}
