// Turns a failed call into one line for an error paragraph.

import { ApiError } from "/hero-client.js";

/** A validation problem lists its fields; anything else gives its detail or message. */
export function describeError(error) {
  if (error instanceof ApiError) {
    const fields = error.problem?.errors?.map((e) => `${e.field}: ${e.message}`).join("; ");
    return fields || error.problem?.detail || error.message;
  }
  return error?.message ?? String(error);
}
