// The signed-in session: the token (kept in sessionStorage, so it lives as long as the
// tab) and what its claims say about the user. The token is only decoded, never verified:
// the server checks it on every call. Only the payload is read (decodeClaims, from
// /hero-client.js), so any signing algorithm (HS256 dev tokens, Supabase's ES256/RS256) is
// fine.

import { decodeClaims, displayName } from "/hero-client.js";

export { decodeClaims };

export const TOKEN_KEY = "hero-tasks-token";

/**
 * "Ana · member", as the header shows it. `serverName` is the name the server gave us
 * (`welcome.user.name`); without it the name follows the server's rule from the claims.
 */
export function describeUser(claims, serverName = null) {
  if (!claims) return "";
  const name = serverName || displayName(claims);
  const role = claims.app_metadata?.role || claims.app_role || "member";
  return `${name} · ${role}`;
}

export function createSession(storage = globalThis.sessionStorage) {
  // The name a room's welcome gave, for the token it was given with; kept in memory only.
  let confirmed = null;
  return {
    get token() {
      return storage.getItem(TOKEN_KEY);
    },
    set token(value) {
      if (value) storage.setItem(TOKEN_KEY, value);
      else storage.removeItem(TOKEN_KEY);
    },
    get claims() {
      const token = this.token;
      return token ? decodeClaims(token) : null;
    },
    get userId() {
      return this.claims?.sub ?? null;
    },
    /** Remembers the name the server uses for this user (from `welcome.user`). */
    rememberServerUser(user) {
      confirmed = user?.name && user.id === this.userId ? { token: this.token, name: user.name } : null;
    },
    /** The server's name for the signed-in user, if a room has told us for this token; else null. */
    get serverName() {
      return confirmed && confirmed.token === this.token ? confirmed.name : null;
    },
  };
}
