// What a token's claims say, for display and for timing a refresh. Pure (no DOM, no I/O):
// token refresh (../token-refresh.js), the UI and the node tests share this one copy.
//
// A token is only decoded here, never verified (the server verifies it on every request
// and every `auth` frame). Only the payload is read: nothing looks at the JOSE header, so
// HS256 dev tokens and Supabase's ES256/RS256 tokens are handled alike.

/** Longest display name the server keeps, in characters (the Rust `NAME_MAX_CHARS`). */
const NAME_MAX_CHARS = 100;
// Control characters (Cc) and bidi controls, which the server strips from names.
const UNSHOWABLE = /[\p{Cc}\u061C\u200E\u200F\u202A-\u202E\u2066-\u2069]/gu;

function base64UrlBytes(text) {
  const base64 = text.replace(/-/g, "+").replace(/_/g, "/");
  const binary = atob(base64.padEnd(base64.length + ((4 - (base64.length % 4)) % 4), "="));
  return Uint8Array.from(binary, (c) => c.charCodeAt(0));
}

/**
 * The payload of a JWS compact token (`header.payload.signature`) as an object, or null
 * when the string is not one. UTF-8 names ("José") decode as themselves.
 */
export function decodeClaims(token) {
  if (typeof token !== "string") return null;
  const parts = token.split(".");
  if (parts.length !== 3 || !parts[1]) return null;
  try {
    const claims = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(base64UrlBytes(parts[1])));
    return claims !== null && typeof claims === "object" && !Array.isArray(claims) ? claims : null;
  } catch {
    return null;
  }
}

/** When the token expires (its `exp`), in ms since the epoch; null without a numeric `exp`. */
export function tokenExpiresAt(token) {
  const exp = decodeClaims(token)?.exp;
  return typeof exp === "number" && Number.isFinite(exp) ? exp * 1000 : null;
}

/** A name fit to show, as the server cleans it: no control or bidi characters, trimmed, capped; null if nothing is left. */
export function cleanName(raw) {
  if (typeof raw !== "string") return null;
  const name = [...raw.replace(UNSHOWABLE, "").trim()].slice(0, NAME_MAX_CHARS).join("").trimEnd();
  return name || null;
}

/**
 * The display name by the server's rule (the Rust `principal_from`): `user_metadata.full_name`,
 * else `user_metadata.name`, else the local part of `email`, else `sub`. Prefer the name
 * the server sends (`welcome.user.name`) where there is one.
 */
export function displayName(claims) {
  if (!claims) return null;
  const candidates = [claims.user_metadata?.full_name, claims.user_metadata?.name, typeof claims.email === "string" ? claims.email.split("@")[0] : null, claims.sub];
  for (const candidate of candidates) {
    const name = cleanName(candidate);
    if (name) return name;
  }
  return "someone";
}

/**
 * Whose edit queue a token opens: the user (`sub`) in the workspace (`app_metadata.workspace_id`,
 * else top-level `workspace_id`, the server's rule). Null when either is missing.
 */
export function queueOwner(claims) {
  const userId = typeof claims?.sub === "string" && claims.sub ? claims.sub : null;
  const workspace = claims?.app_metadata?.workspace_id ?? claims?.workspace_id;
  const workspaceId = typeof workspace === "string" && workspace ? workspace : null;
  return userId && workspaceId ? { userId, workspaceId } : null;
}
