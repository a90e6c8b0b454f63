// Turns a failed call into one line for an error paragraph.

import { ApiError } from "/hero-client.js";

/** fetch() rejects with a TypeError when no answer came: offline, or the server is down. */
export function isUnreachable(error) {
  return error instanceof TypeError && /fetch|network|load failed/i.test(error.message);
}

export const UNREACHABLE_TEXT = "The server cannot be reached (offline?). Your changes are kept and sync when it is back.";

/** A validation problem lists its fields; anything else gives its detail or message. */
export function describeError(error) {
  if (error instanceof ApiError) {
    const fields = error.problem?.errors?.map((e) => `${e.field}: ${e.message}`).join("; ");
    return fields || error.problem?.detail || error.message;
  }
  if (isUnreachable(error)) return UNREACHABLE_TEXT;
  return error?.message ?? String(error);
}
