// What the signed-in user may do, from the token's claims, as the server decides it (the
// Rust `principal_from` and `decide_*`): `viewer` reads only; `member` creates and edits, and
// deletes what it created; `admin` does everything in its workspace. Pure, so node tests
// check it. The server still checks every write: this only keeps the UI from offering what
// would be refused.

export const ROLES = Object.freeze(["viewer", "member", "admin"]);

const nonEmpty = (value) => (typeof value === "string" && value !== "" ? value : null);

/**
 * The role a token names: `app_metadata.role`, else top-level `app_role`, else "member".
 * A role the server does not know is returned as it is (the server refuses such a token).
 */
export function roleOf(claims) {
  if (!claims) return null;
  return nonEmpty(claims.app_metadata?.role) ?? nonEmpty(claims.app_role) ?? "member";
}

/**
 * What `role` may do: `create` and `edit` tasks, `delete` this `task` (a member only the
 * tasks it created: `task.created_by === userId`). An unknown role may do nothing.
 */
export function abilities(role, { task = null, userId = null } = {}) {
  const writes = role === "member" || role === "admin";
  const owns = Boolean(task && userId && task.created_by === userId);
  return Object.freeze({
    create: writes,
    edit: writes,
    delete: role === "admin" || (role === "member" && owns),
  });
}

/** True when the user can change nothing (a viewer, or a role the server does not know). */
export function isReadOnly(role) {
  return !abilities(role).edit;
}
