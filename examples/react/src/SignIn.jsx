// Sign-in: a local development token by name (the dev server's /api/dev/token, on a
// loopback host only), or a pasted token (a Supabase access token, or `make token`).
import { useState } from "react";
import { decodeClaims } from "@hero-tasks/client";

export function SignIn({ onToken }) {
  const [error, setError] = useState("");

  async function devSignIn(event) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const response = await fetch("/api/dev/token", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ name: String(form.get("name")).trim(), role: form.get("role"), workspace: String(form.get("workspace")).trim() }),
    });
    const body = await response.json().catch(() => ({}));
    if (response.ok) onToken(body.token);
    else setError(body.detail ?? "sign-in failed");
  }

  function pasted(event) {
    event.preventDefault();
    const token = String(new FormData(event.currentTarget).get("token")).trim().replace(/^bearer\s+/i, "").replace(/\s+/g, "");
    if (decodeClaims(token)) onToken(token);
    else setError("That does not look like a JWT.");
  }

  return (
    <main className="signin">
      <h1>Sign in</h1>
      <form id="dev-signin" onSubmit={devSignIn}>
        <p className="hint">Local development sign-in (make dev): pick a name, a role and a workspace.</p>
        <label htmlFor="dev-name">Your name</label>
        <input id="dev-name" name="name" required maxLength={64} />
        <label htmlFor="dev-role">Role</label>
        <select id="dev-role" name="role" defaultValue="member">
          <option value="member">member</option>
          <option value="admin">admin</option>
          <option value="viewer">viewer</option>
        </select>
        <label htmlFor="dev-workspace">Workspace</label>
        <input id="dev-workspace" name="workspace" defaultValue="demo" required maxLength={64} />
        <button type="submit">Get a dev token</button>
      </form>
      <form id="token-signin" onSubmit={pasted}>
        <label htmlFor="token-input">Or paste a token</label>
        <textarea id="token-input" name="token" rows={3} required spellCheck={false} />
        <button type="submit">Use this token</button>
      </form>
      <p className="error" role="alert">
        {error}
      </p>
    </main>
  );
}
