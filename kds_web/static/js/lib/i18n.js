// Chinese first, English as a switch; the choice is remembered on the device.
import { STRINGS } from "./strings.js";

const KEY = "kitchen.lang";
const listeners = new Set();
let current = (() => {
  try { return localStorage.getItem(KEY) === "en" ? "en" : "zh"; } catch { return "zh"; }
})();

export function lang() {
  return current;
}

export function setLang(value) {
  current = value === "en" ? "en" : "zh";
  try { localStorage.setItem(KEY, current); } catch { /* private mode: not remembered */ }
  document.documentElement.lang = current === "en" ? "en" : "zh-CN";
  applyStatic();
  for (const fn of listeners) fn(current);
}

export function onLang(fn) {
  listeners.add(fn);
}

/** The text of ``key`` in the current language, with {name} placeholders filled. */
export function t(key, vars) {
  const entry = STRINGS[key];
  let text = entry ? (entry[current] ?? entry.zh) : key;
  if (vars) for (const [k, v] of Object.entries(vars)) text = text.split(`{${k}}`).join(String(v));
  return text;
}

/** A thing's name in the current language: name_zh / name_en (falling back to the other). */
export function name(obj, field = "name") {
  if (!obj) return "";
  const zh = obj[`${field}_zh`] || "";
  const en = obj[`${field}_en`] || "";
  return current === "en" ? (en || zh) : (zh || en);
}

/** Fill every [data-i18n] element of the static page with its text. */
export function applyStatic(root = document) {
  for (const el of root.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
  for (const el of root.querySelectorAll("[data-i18n-title]")) el.title = t(el.dataset.i18nTitle);
}

/** A button that switches between 中文 and English. */
export function langButton(doc = document) {
  const btn = doc.createElement("button");
  btn.type = "button";
  btn.className = "btn btn-ghost lang-switch";
  const label = () => { btn.textContent = current === "en" ? "中文" : "English"; };
  label();
  btn.addEventListener("click", () => { setLang(current === "en" ? "zh" : "en"); label(); });
  return btn;
}

document.documentElement.lang = current === "en" ? "en" : "zh-CN";
