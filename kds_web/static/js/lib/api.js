// Calls to the HTTP API with the page's bearer token. Every command carries an idempotency key,
// so sending it again (after a lost answer, or from the offline queue) never does it twice.

export class ApiError extends Error {
  constructor(status, body) {
    const err = (body && body.error) || {};
    super(err.reason || `HTTP ${status}`);
    this.status = status;
    this.code = err.code || "http_error";
    this.details = err.details || {};
  }

  /** Worth sending again later (server busy or restarting), as opposed to refused for good. */
  get temporary() {
    return this.status >= 500 || this.status === 429 || this.code === "in_progress";
  }
}

/** The request never got an answer: no network, server down, or the browser is offline. */
export class NetworkError extends Error {}

/** A fresh idempotency key (works outside secure contexts too, e.g. http://192.168.x.x). */
export function newKey() {
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

export function makeApi(getToken) {
  async function call(method, path, body, { key, timeoutMs = 10000 } = {}) {
    const headers = { Accept: "application/json" };
    const token = typeof getToken === "function" ? getToken() : getToken;
    if (token) headers.Authorization = `Bearer ${token}`;
    if (body !== undefined) headers["Content-Type"] = "application/json";
    if (method !== "GET") headers["Idempotency-Key"] = key || newKey();
    const ctl = new AbortController();
    const timer = setTimeout(() => ctl.abort(), timeoutMs);
    let res;
    try {
      res = await fetch(path, {
        method, headers, body: body === undefined ? undefined : JSON.stringify(body),
        signal: ctl.signal, cache: "no-store",
      });
    } catch (exc) {
      throw new NetworkError(exc && exc.message ? exc.message : "network error");
    } finally {
      clearTimeout(timer);
    }
    const text = await res.text().catch(() => "");
    let data = null;
    if (text) {
      try { data = JSON.parse(text); } catch { data = { raw: text }; }
    }
    if (!res.ok) throw new ApiError(res.status, data);
    return data;
  }

  return {
    call,
    get: (path) => call("GET", path),
    post: (path, body, opts) => call("POST", path, body === undefined ? {} : body, opts),
    put: (path, body, opts) => call("PUT", path, body, opts),
    patch: (path, body, opts) => call("PATCH", path, body, opts),
    del: (path, opts) => call("DELETE", path, undefined, opts),
  };
}
