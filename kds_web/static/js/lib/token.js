// A page's token comes in the URL fragment (#token=…), which never reaches a server log.
// It is kept in sessionStorage so that a reload of the same tab keeps working.

function decode(part) {
  const b64 = part.replace(/-/g, "+").replace(/_/g, "/");
  const bin = atob(b64 + "=".repeat((4 - (b64.length % 4)) % 4));
  const bytes = Uint8Array.from(bin, (c) => c.charCodeAt(0));
  return JSON.parse(new TextDecoder().decode(bytes));
}

/** What a token says about itself (unverified: for showing, never for deciding). */
export function claims(token) {
  try {
    const body = decode(token.split(".")[0]);
    return {
      role: body.role || "",
      restaurant: (body.rs || [])[0] || "",
      restaurants: body.rs || [],
      station: body.st || "",
      table: body.tb || "",
      name: body.nm || "",
      exp: body.exp || 0,
    };
  } catch {
    return null;
  }
}

/** The token of this page: from #token=…, else the one this tab saw before. */
export function pageToken(storageKey = "kitchen.token." + location.pathname) {
  const params = new URLSearchParams(location.hash.slice(1));
  const fromHash = params.get("token");
  if (fromHash) {
    try { sessionStorage.setItem(storageKey, fromHash); } catch { /* ignore */ }
    return fromHash;
  }
  try { return sessionStorage.getItem(storageKey) || ""; } catch { return ""; }
}
