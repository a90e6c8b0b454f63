// The signed-in session: the token and what its claims say about the user and their role.
//
// The token is kept in localStorage, so every tab of this browser shares one sign-in (the
// README's "N tabs" are one person) and a tab opened later is signed in already; signing in
// or out in one tab does the same in the others (the `storage` event, see onChange). It
// stays out of reach of other origins: localStorage belongs to this origin alone, nothing
// puts the token in a cookie or a URL, and the page's CSP (public/_headers) lets only this
// origin's scripts run. It lives no longer than the token: an expired one is dropped when
// read. The token is only decoded, never verified: the server checks it on every call. Only
// the payload is read (decodeClaims, from /hero-client.js), so any signing algorithm
// (HS256 dev tokens, Supabase's ES256/RS256) is fine.

import { decodeClaims, displayName, tokenExpiresAt } from "/hero-client.js";
import { roleOf } from "/state/roles.js";

export { decodeClaims };

export const TOKEN_KEY = "hero-tasks-token";

/**
 * "Ana · member", as the header shows it. `serverName` is the name the server gave us
 * (`welcome.user.name`); without it the name follows the server's rule from the claims.
 */
export function describeUser(claims, serverName = null) {
  if (!claims) return "";
  const name = serverName || displayName(claims);
  return `${name} · ${roleOf(claims)}`;
}

/**
 * `storage`: where the token is kept (localStorage); `legacy`: where earlier versions kept
 * it (sessionStorage), read once so a tab signed in before an upgrade stays signed in.
 */
export function createSession({ storage = globalThis.localStorage, legacy = globalThis.sessionStorage, now = () => Date.now() } = {}) {
  // The name a room's welcome gave, for the token it was given with; kept in memory only.
  let confirmed = null;
  let expired = false;

  const old = legacy?.getItem(TOKEN_KEY);
  if (old) {
    if (!storage.getItem(TOKEN_KEY)) storage.setItem(TOKEN_KEY, old);
    legacy.removeItem(TOKEN_KEY);
  }

  return {
    get token() {
      const token = storage.getItem(TOKEN_KEY);
      const expiresAt = token ? tokenExpiresAt(token) : null;
      if (expiresAt !== null && expiresAt <= now()) {
        storage.removeItem(TOKEN_KEY);
        expired = true;
        return null;
      }
      return token;
    },
    set token(value) {
      expired = false;
      if (value) storage.setItem(TOKEN_KEY, value);
      else storage.removeItem(TOKEN_KEY);
    },
    /** True once, after reading found the token expired (and dropped it): say why the user is signed out. */
    takeExpired() {
      const was = expired;
      expired = false;
      return was;
    },
    get claims() {
      const token = this.token;
      return token ? decodeClaims(token) : null;
    },
    get userId() {
      return this.claims?.sub ?? null;
    },
    /** viewer | member | admin (as the token says; the server decides), or null when signed out. */
    get role() {
      return roleOf(this.claims);
    },
    /** Remembers the name the server uses for this user (from `welcome.user`). */
    rememberServerUser(user) {
      confirmed = user?.name && user.id === this.userId ? { token: this.token, name: user.name } : null;
    },
    /** The server's name for the signed-in user, if a room has told us for this token; else null. */
    get serverName() {
      return confirmed && confirmed.token === this.token ? confirmed.name : null;
    },
    /** `handler()` runs when another tab signs in, out, or as someone else. Returns the unsubscribe. */
    onChange(handler, target = globalThis) {
      const listener = (event) => {
        if (event.key === TOKEN_KEY || event.key === null) handler();
      };
      target.addEventListener?.("storage", listener);
      return () => target.removeEventListener?.("storage", listener);
    },
  };
}
