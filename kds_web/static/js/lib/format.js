// Money, durations and times as people read them.
import { lang } from "./i18n.js";

/** 12800 fen → "¥128" (decimals only when there are some). */
export function money(fen) {
  const yuan = (Number(fen) || 0) / 100;
  return "¥" + (Number.isInteger(yuan) ? String(yuan) : yuan.toFixed(2));
}

/** Milliseconds → "3:07" (or "1:02:03" past an hour). */
export function clock(ms) {
  const total = Math.max(0, Math.floor(ms / 1000));
  const hh = Math.floor(total / 3600);
  const mm = Math.floor((total % 3600) / 60);
  const ss = total % 60;
  const two = (n) => String(n).padStart(2, "0");
  return hh ? `${hh}:${two(mm)}:${two(ss)}` : `${mm}:${two(ss)}`;
}

/** Minutes, rounded up, as words: "约 5 分钟" / "about 5 min". */
export function minutes(ms) {
  const m = Math.max(1, Math.ceil(ms / 60000));
  return lang() === "en" ? `about ${m} min` : `约 ${m} 分钟`;
}

/** A wall-clock time of day: "14:05". */
export function timeOfDay(ms) {
  const d = new Date(ms);
  return `${String(d.getHours()).padStart(2, "0")}:${String(d.getMinutes()).padStart(2, "0")}`;
}

/** The server's clock minus ours; ages use it. A snapshot's "now" (``fresh``, read just now)
 * tells it as it is, whichever way this device's clock is off. An event's timestamp arrives
 * after the event happened (late by the link, or replayed after the screen was offline), so
 * it may only move the server clock later, never back. */
let skew = null;
export function learnServerTime(serverMs, fresh = false) {
  if (!serverMs) return;
  const guess = serverMs - Date.now();
  if (fresh || skew === null || guess > skew) skew = guess;
}

export function serverNow() {
  return Date.now() + (skew ?? 0);
}
