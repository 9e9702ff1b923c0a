// Small line icons drawn as inline SVG, so nothing depends on the device's emoji font.
import { s } from "./dom.js";

const PATHS = {
  bell: ["M6 16V11a6 6 0 0 1 12 0v5l2 2H4z", "M10 20a2 2 0 0 0 4 0"],
  bellOff: ["M6 16V11a6 6 0 0 1 12 0v5l2 2H4z", "M10 20a2 2 0 0 0 4 0", "M3 3l18 18"],
  cart: ["M2 4h3l2.6 11h10.2L20 7H6.2", "M9 19.5h.01", "M17 19.5h.01"],
  clock: ["M12 3a9 9 0 1 0 0 18a9 9 0 1 0 0-18z", "M12 7v5l3.5 2"],
  hourglass: ["M6 3h12", "M6 21h12", "M7 3c0 5 10 5 10 9s-10 4-10 9", "M17 3c0 5-10 5-10 9s10 4 10 9"],
  receipt: ["M6 3h12v18l-3-2-3 2-3-2-3 2z", "M9 8h6", "M9 12h6", "M9 16h3"],
  book: ["M3 5h6a3 3 0 0 1 3 3v12a2 2 0 0 0-2-2H3z", "M21 5h-6a3 3 0 0 0-3 3v12a2 2 0 0 1 2-2h7z"],
  pot: ["M4 10h16v3a6 6 0 0 1-6 6h-4a6 6 0 0 1-6-6z", "M2 10h20", "M9 7V5", "M15 7V5", "M12 7V4"],
  service: ["M3 18h18", "M5 18a7 7 0 0 1 14 0", "M12 8v3", "M10 8h4"],
  bolt: ["M13 2L4 14h7l-1 8 10-13h-7z"],
  printer: ["M6 9V3h12v6", "M6 18H4v-8h16v8h-2", "M6 14h12v7H6z"],
  fire: ["M12 3c1 4 6 5 6 11a6 6 0 0 1-12 0c0-3 2-5 3-7 1 2 2 3 3 3 0-2-1-4 0-7z"],
  pause: ["M8 5v14", "M16 5v14"],
  plus: ["M12 5v14", "M5 12h14"],
  undo: ["M9 7L4 12l5 5", "M4 12h10a6 6 0 0 1 0 12h-2"],
  recall: ["M4 4v6h6", "M5 10a8 8 0 1 1 2 7"],
  alarm: ["M12 5a8 8 0 1 0 0 16a8 8 0 1 0 0-16z", "M12 9v4l2 2", "M3 5l3-2", "M21 5l-3-2"],
  plate: ["M12 4a8 8 0 1 0 0 16a8 8 0 1 0 0-16z", "M12 8a4 4 0 1 0 0 8a4 4 0 1 0 0-8z"],
  wave: ["M7 11V6a1.5 1.5 0 0 1 3 0v5", "M10 10V4.5a1.5 1.5 0 0 1 3 0V10", "M13 10V5.5a1.5 1.5 0 0 1 3 0V12", "M7 11a1.5 1.5 0 0 0-3 0c0 5 3 10 8 10s6-3 6-8V8.5a1.5 1.5 0 0 0-3 0"],
  key: ["M8 11a4 4 0 1 0 0 8a4 4 0 1 0 0-8z", "M11 12l9-9", "M17 6l3 3"],
  wifiOff: ["M2 8a15 15 0 0 1 20 0", "M5 12a10 10 0 0 1 14 0", "M9 16a4 4 0 0 1 6 0", "M12 20h.01", "M3 3l18 18"],
  table: ["M3 8h18", "M6 8v12", "M18 8v12", "M4 8l2-4h12l2 4"],
  chart: ["M4 20V4", "M4 20h16", "M8 16v-5", "M12 16V8", "M16 16v-8"],
  qr: ["M4 4h6v6H4z", "M14 4h6v6h-6z", "M4 14h6v6H4z", "M14 14h2v2h-2z", "M18 18h2v2h-2z", "M14 18h2", "M18 14h2"],
  list: ["M8 6h12", "M8 12h12", "M8 18h12", "M4 6h.01", "M4 12h.01", "M4 18h.01"],
  bento: ["M3 6h18v12H3z", "M12 6v12", "M3 12h9"],
};

/** An icon element (inherits the text colour and size: 1.1em square). */
export function icon(name, cls = "") {
  return s("svg", { class: ["icon", cls], viewBox: "0 0 24 24", width: "1.1em", height: "1.1em", "aria-hidden": "true", fill: "none", stroke: "currentColor", "stroke-width": "2.2", "stroke-linecap": "round", "stroke-linejoin": "round" },
    (PATHS[name] || PATHS.plate).map((d) => s("path", { d })));
}
