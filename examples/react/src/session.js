// Who is signed in: the token lives in this tab's sessionStorage under the example's own key
// (the built-in UI keeps its sign-in in localStorage, shared by a browser's tabs; the example
// stays per tab), and what its claims say is read with the package's decoder.
import { decodeClaims, displayName, queueOwner } from "@hero-tasks/client";

const KEY = "hero-tasks-react-example-token";

export const readToken = () => sessionStorage.getItem(KEY);
export const saveToken = (token) => sessionStorage.setItem(KEY, token);
export const clearToken = () => sessionStorage.removeItem(KEY);

/** {userId, workspaceId, name, role} for the signed-in token, or null. */
export function whoIs(token) {
  const claims = decodeClaims(token);
  const owner = queueOwner(claims);
  const role = claims?.app_metadata?.role || claims?.app_role || "member";
  return owner ? { ...owner, name: displayName(claims), role } : null;
}
