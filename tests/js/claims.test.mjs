// Token claims (clients/js/src/state/claims.js): only the payload is decoded, whatever the
// algorithm, and the display name follows the server's rule (the Rust `principal_from`).
import { test } from "node:test";
import assert from "node:assert/strict";

import { cleanName, decodeClaims, displayName, queueOwner, tokenExpiresAt } from "../../clients/js/src/state/claims.js";

const part = (value) => Buffer.from(JSON.stringify(value)).toString("base64url");
const token = (claims, header = { alg: "HS256", typ: "JWT" }) => `${part(header)}.${part(claims)}.c2ln`;

test("ES256 and RS256 tokens decode like HS256 ones: the header is never read", () => {
  const claims = { sub: "u1", exp: 1_900_000_000, user_metadata: { full_name: "José Ñúñez" } };
  for (const header of [{ alg: "ES256", kid: "a" }, { alg: "RS256", typ: "JWT", kid: "b" }, { alg: "HS256" }, "not even json"]) {
    const raw = typeof header === "string" ? `${Buffer.from(header).toString("base64url")}.${part(claims)}.sig` : token(claims, header);
    assert.deepEqual(decodeClaims(raw), claims, JSON.stringify(header));
  }
  assert.equal(tokenExpiresAt(token(claims)), 1_900_000_000_000);
  assert.equal(tokenExpiresAt(token({ sub: "u1" })), null, "no exp");
});

test("what is not a JWT decodes to null", () => {
  for (const bad of ["", "abc", "a.b", "a.b.c.d.e", `x.${Buffer.from("[1,2]").toString("base64url")}.y`, `x.${Buffer.from("null").toString("base64url")}.y`, "x.%%%.y", null, 42]) {
    assert.equal(decodeClaims(bad), null, String(bad));
  }
});

test("the display name is full_name, else name, else the email's local part, else sub", () => {
  const meta = (user_metadata, rest = {}) => ({ sub: "u-1", user_metadata, ...rest });
  assert.equal(displayName(meta({ full_name: "Ana Lima", name: "ana" }, { email: "al@x.io" })), "Ana Lima");
  assert.equal(displayName(meta({ name: "ana" }, { email: "al@x.io" })), "ana");
  assert.equal(displayName(meta({}, { email: "al@x.io" })), "al");
  assert.equal(displayName({ sub: "u-1" }), "u-1");
  assert.equal(displayName(meta({ full_name: " \u202E\u0007 ", name: "Bo" })), "Bo", "a name that cleans to nothing is skipped");
  assert.equal(displayName(null), null);
});

test("names are cleaned as the server cleans them", () => {
  assert.equal(cleanName(" Ana\u202Enimda "), "Ananimda");
  assert.equal(cleanName("a\u0000b\u001b[31m"), "ab[31m");
  assert.equal(cleanName("\u2066\u2069 "), null);
  assert.equal([...cleanName("é".repeat(300))].length, 100);
});

test("the edit queue belongs to the token's user in the token's workspace, by the server's rule", () => {
  assert.deepEqual(queueOwner({ sub: "ana", app_metadata: { workspace_id: "w1" }, workspace_id: "other" }), { userId: "ana", workspaceId: "w1" });
  assert.deepEqual(queueOwner({ sub: "ana", workspace_id: "w2" }), { userId: "ana", workspaceId: "w2" });
  assert.equal(queueOwner({ sub: "ana" }), null, "no workspace: no queue");
  assert.equal(queueOwner({ app_metadata: { workspace_id: "w1" } }), null, "no user: no queue");
  assert.equal(queueOwner(null), null);
});
