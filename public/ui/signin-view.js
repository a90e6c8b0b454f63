// The sign-in view (#signin-view): paste a token, or, where the server allows it, get a
// local development token by name and role. Its message line (#signin-message) says why
// the user is here when they were signed out (an expired session), and what went wrong.

import { byId, createScope } from "/ui/dom.js";
import { createMessageSlot } from "/ui/message-slot.js";
import { decodeClaims } from "/ui/session.js";

export function createSignInView({ session, onSignedIn }) {
  let scope = null;
  let reason = null; // why the user was signed out, said when this view next shows
  const message = createMessageSlot(byId("signin-message"));
  const showError = (text) => message.error(text);

  async function devSignIn(event) {
    event.preventDefault();
    const form = new FormData(event.target);
    const name = String(form.get("name")).trim();
    const response = await fetch("/api/dev/token", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ name, role: form.get("role"), workspace: String(form.get("workspace")).trim() }),
    });
    const body = await response.json().catch(() => ({}));
    if (!response.ok) {
      showError(body.detail ?? "sign-in failed");
      return;
    }
    session.token = body.token;
    onSignedIn();
  }

  function tokenSignIn(event) {
    event.preventDefault();
    // A pasted token may be wrapped over lines or still carry its "Bearer " prefix; a JWT
    // has no whitespace. Only the payload is decoded (any algorithm: HS256, ES256, RS256).
    const token = byId("token-input").value.trim().replace(/^bearer\s+/i, "").replace(/\s+/g, "");
    if (!decodeClaims(token)) {
      showError("That does not look like a JWT.");
      return;
    }
    session.token = token;
    onSignedIn();
  }

  // The dev form only shows where the server says dev login is on.
  async function revealDevSignIn() {
    try {
      const config = await fetch("/api/dev/config").then((r) => r.json());
      byId("dev-signin").hidden = !config.dev_login;
    } catch {
      byId("dev-signin").hidden = true;
    }
  }

  return {
    name: "signin",
    /** Says `text` (an error: it needs doing) when the view next shows. */
    explain(text) {
      reason = text;
    },
    show() {
      scope = createScope();
      if (session.takeExpired()) reason = "Your session expired: sign in again.";
      if (reason) message.error(reason);
      reason = null;
      scope.listen(byId("dev-signin"), "submit", devSignIn);
      scope.listen(byId("token-signin"), "submit", tokenSignIn);
      revealDevSignIn();
    },
    hide() {
      scope?.dispose();
      scope = null;
      message.clear();
    },
  };
}
