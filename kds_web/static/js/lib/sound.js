// Short beeps drawn with WebAudio (no sound files). Browsers only allow sound after a tap, so
// the audio context is created on the first touch of the page.

let ctx = null;
let enabled = (() => {
  try { return localStorage.getItem("kitchen.sound") !== "off"; } catch { return true; }
})();

function context() {
  if (!ctx) {
    const Ctx = window.AudioContext || window.webkitAudioContext;
    if (!Ctx) return null;
    ctx = new Ctx();
  }
  if (ctx.state === "suspended") ctx.resume().catch(() => {});
  return ctx;
}

export function unlockOnFirstTouch() {
  const unlock = () => { context(); window.removeEventListener("pointerdown", unlock, true); };
  window.addEventListener("pointerdown", unlock, true);
}

export function soundOn() {
  return enabled;
}

export function setSound(on) {
  enabled = Boolean(on);
  try { localStorage.setItem("kitchen.sound", enabled ? "on" : "off"); } catch { /* ignore */ }
  if (enabled) context();
}

const PATTERNS = {
  new: [[880, 0.12], [0, 0.06], [1175, 0.16]], // rising: a new ticket
  change: [[660, 0.1], [0, 0.05], [660, 0.1]], // two equal: something changed (加菜, 催)
  void: [[440, 0.18], [0, 0.05], [330, 0.28]], // falling: a dish was voided or returned
  ready: [[988, 0.1]],
};

let lastAt = 0;

/** Play a pattern ("new", "change", "void", "ready"); repeated calls within 300 ms merge. */
export function beep(kind = "new") {
  if (!enabled) return;
  const now = performance.now();
  if (now - lastAt < 300) return;
  lastAt = now;
  const ac = ctx && ctx.state === "running" ? ctx : null;
  if (!ac) return;
  let at = ac.currentTime + 0.01;
  for (const [freq, dur] of PATTERNS[kind] || PATTERNS.new) {
    if (freq > 0) {
      const osc = ac.createOscillator();
      const gain = ac.createGain();
      osc.type = "square";
      osc.frequency.value = freq;
      gain.gain.setValueAtTime(0.0001, at);
      gain.gain.exponentialRampToValueAtTime(0.25, at + 0.01);
      gain.gain.exponentialRampToValueAtTime(0.0001, at + dur);
      osc.connect(gain).connect(ac.destination);
      osc.start(at);
      osc.stop(at + dur + 0.02);
    }
    at += dur;
  }
}
