// The signed-in session: the token (kept in sessionStorage, so it lives as long as the
// tab) and what its claims say about the user. The token is only decoded, never verified:
// the server checks it on every call.

export const TOKEN_KEY = "hero-tasks-token";

/** The JWT's payload, or null when the string is not a JWT. */
export function decodeClaims(token) {
  try {
    const payload = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    return JSON.parse(atob(payload));
  } catch {
    return null;
  }
}

/** "Ana · member", as the header shows it. */
export function describeUser(claims) {
  if (!claims) return "";
  const name = claims.user_metadata?.full_name ?? claims.sub;
  const role = claims.app_metadata?.role ?? claims.app_role ?? "member";
  return `${name} · ${role}`;
}

export function createSession(storage = globalThis.sessionStorage) {
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
  };
}
