// Charts drawn as inline SVG (no library): vertical bars, horizontal bars, p50/p90 ranges.
import { h, s } from "./dom.js";

const DEFAULT_W = 640;

function empty(text) {
  return h("p", { class: "chart-empty muted" }, text);
}

function niceMax(v) {
  if (v <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

/** Vertical bars: rows [{label, value, title}] → an <svg>. */
export function bars(rows, { height = 240, format = String, emptyText = "", color = "var(--chart-1)", width: W = DEFAULT_W } = {}) {
  if (!rows.length || rows.every((r) => !r.value)) return empty(emptyText);
  const top = 18;
  const bottom = 30;
  const left = 46;
  const plotH = height - top - bottom;
  const max = niceMax(Math.max(...rows.map((r) => r.value)));
  const step = (W - left - 8) / rows.length;
  const bw = Math.max(4, Math.min(42, step * 0.7));
  const grid = [0, 0.5, 1].map((f) => {
    const y = top + plotH * (1 - f);
    return [s("line", { x1: left, x2: W - 4, y1: y, y2: y, class: "grid" }),
      s("text", { x: left - 6, y: y + 4, "text-anchor": "end", class: "axis", text: format(max * f) })];
  });
  const every = Math.ceil(rows.length / Math.max(4, Math.floor(W / 52)));
  const items = rows.map((r, i) => {
    const x = left + i * step + (step - bw) / 2;
    const bh = (plotH * r.value) / max;
    return s("g", { class: "bar" },
      s("rect", { x, y: top + plotH - bh, width: bw, height: Math.max(0, bh), rx: 3, fill: color },
        s("title", { text: `${r.title || r.label}: ${format(r.value)}` })),
      i % every === 0 ? s("text", { x: x + bw / 2, y: height - 10, "text-anchor": "middle", class: "axis", text: r.label }) : null);
  });
  return s("svg", { viewBox: `0 0 ${W} ${height}`, class: "chart", role: "img" }, grid, items);
}

/** Horizontal bars for rankings: rows [{label, value, note}]. */
export function hbars(rows, { format = String, emptyText = "", color = "var(--chart-2)", width: W = DEFAULT_W } = {}) {
  if (!rows.length) return empty(emptyText);
  const rowH = 30;
  const left = Math.min(150, W * 0.3);
  const height = rows.length * rowH + 8;
  const max = Math.max(...rows.map((r) => r.value), 1);
  const span = W - left - 100;
  return s("svg", { viewBox: `0 0 ${W} ${height}`, class: "chart", role: "img" },
    rows.map((r, i) => {
      const y = 4 + i * rowH;
      const bw = (span * r.value) / max;
      return s("g", { class: "hbar" },
        s("text", { x: left - 8, y: y + 19, "text-anchor": "end", class: "label", text: r.label }),
        s("rect", { x: left, y: y + 4, width: Math.max(2, bw), height: rowH - 10, rx: 3, fill: color }),
        s("text", { x: left + bw + 6, y: y + 19, class: "value", text: format(r.value) + (r.note ? ` · ${r.note}` : "") }));
    }));
}

/** p50 / p90 per row (seconds): a thick bar to p50 and a thin one on to p90. */
export function ranges(rows, { format = String, emptyText = "", legend = ["p50", "p90"], width: W = DEFAULT_W } = {}) {
  if (!rows.length) return empty(emptyText);
  const rowH = 36;
  const left = Math.min(150, W * 0.28);
  const height = rows.length * rowH + 30;
  const max = niceMax(Math.max(...rows.map((r) => r.p90 || r.p50 || 0), 1));
  const span = W - left - 120;
  const x = (v) => left + (span * v) / max;
  return s("svg", { viewBox: `0 0 ${W} ${height}`, class: "chart", role: "img" },
    rows.map((r, i) => {
      const y = 6 + i * rowH;
      return s("g", { class: "range" },
        s("text", { x: left - 8, y: y + 20, "text-anchor": "end", class: "label", text: r.label }),
        s("rect", { x: left, y: y + 12, width: Math.max(2, x(r.p90) - left), height: 8, rx: 4, fill: "var(--chart-3)" }),
        s("rect", { x: left, y: y + 6, width: Math.max(2, x(r.p50) - left), height: 20, rx: 4, fill: "var(--chart-1)" }),
        s("text", { x: x(r.p90) + 6, y: y + 20, class: "value", text: `${format(r.p50)} / ${format(r.p90)}` }));
    }),
    s("g", { class: "legend" },
      s("rect", { x: left, y: height - 16, width: 14, height: 10, fill: "var(--chart-1)" }),
      s("text", { x: left + 20, y: height - 7, class: "axis", text: legend[0] }),
      s("rect", { x: left + 90, y: height - 14, width: 14, height: 6, fill: "var(--chart-3)" }),
      s("text", { x: left + 110, y: height - 7, class: "axis", text: legend[1] })));
}
