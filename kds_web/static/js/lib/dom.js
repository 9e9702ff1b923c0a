// Building the page without ever parsing data as HTML: every piece of text goes in through
// text nodes (textContent), every handler through addEventListener.

const SVG_NS = "http://www.w3.org/2000/svg";

function apply(el, attrs) {
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") el.className = Array.isArray(value) ? value.filter(Boolean).join(" ") : value;
    else if (key === "text") el.textContent = String(value);
    else if (key === "dataset") Object.assign(el.dataset, value);
    else if (key === "style") Object.assign(el.style, value);
    else if (key.startsWith("on") && typeof value === "function") {
      el.addEventListener(key.slice(2).toLowerCase(), value);
    } else if (value === true) el.setAttribute(key, "");
    else el.setAttribute(key, String(value));
  }
}

function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false || child === "") continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** An HTML element: h("div", {class: "card"}, "text", h("b", {}, name)). */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  apply(el, attrs);
  append(el, children);
  return el;
}

/** An SVG element, for charts and icons. */
export function s(tag, attrs, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "text") el.textContent = String(value);
    else if (key === "class") el.setAttribute("class", Array.isArray(value) ? value.filter(Boolean).join(" ") : value);
    else if (key.startsWith("on") && typeof value === "function") el.addEventListener(key.slice(2).toLowerCase(), value);
    else el.setAttribute(key, String(value));
  }
  append(el, children);
  return el;
}

export function $(selector, root = document) {
  return root.querySelector(selector);
}

export function $$(selector, root = document) {
  return Array.from(root.querySelectorAll(selector));
}

/** Replace everything inside ``el`` with ``children``. */
export function fill(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

/** A short message at the bottom of the screen. */
export function toast(message, kind = "info", ms = 3500) {
  let box = document.getElementById("toasts");
  if (!box) {
    box = h("div", { id: "toasts", class: "toasts", role: "status", "aria-live": "polite" });
    document.body.append(box);
  }
  const item = h("div", { class: ["toast", `toast-${kind}`] }, message);
  box.append(item);
  setTimeout(() => item.remove(), ms);
}

/** A modal dialog; resolves with the value of the button pressed (or null). */
export function dialog(title, body, buttons) {
  return new Promise((resolve) => {
    const close = (value) => { back.remove(); resolve(value); };
    const back = h("div", { class: "modal-back", onclick: (e) => { if (e.target === back) close(null); } },
      h("div", { class: "modal", role: "dialog", "aria-modal": "true" },
        h("h2", { class: "modal-title" }, title),
        h("div", { class: "modal-body" }, body),
        h("div", { class: "modal-actions" },
          buttons.map((b) => h("button", {
            class: ["btn", b.kind ? `btn-${b.kind}` : ""], type: "button",
            onclick: () => close(typeof b.value === "function" ? b.value() : b.value),
          }, b.label)))));
    document.body.append(back);
    const first = back.querySelector(".btn-primary") || back.querySelector("button");
    if (first) first.focus();
  });
}
