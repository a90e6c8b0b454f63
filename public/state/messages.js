// Messages with a kind and a lifetime, one line per view (/ui/message-slot.js draws them).
// Pure (no DOM, no clock: `now` comes in), so node tests check every rule:
// - success: green, fades after LIFETIME_MS.success ("Saved.");
// - info: neutral, fades after LIFETIME_MS.info ("Bob changed this task while you were editing.");
// - progress: muted, shown only while it is true; whoever posted it ends it ("Saving…");
// - error: red, stays until acted on (its view ends it) or superseded by another message.
// A newer message always supersedes the one shown. A message belongs to its view: hiding
// the view clears it. Also here: the words the views use for what their queue holds and
// for a deleted task, so node tests check them.

export const LIFETIME_MS = Object.freeze({ success: 4000, info: 8000, progress: null, error: null });

/** How long before the end of its lifetime a message starts to fade. */
export const FADE_MS = 600;

export const KINDS = Object.freeze(Object.keys(LIFETIME_MS));

/** A message posted at `now`: {kind, text, expiresAt} (expiresAt null: until ended or superseded). */
export function post(kind, text, now) {
  if (!KINDS.includes(kind)) throw new TypeError(`unknown message kind: ${kind}`);
  const lifetime = LIFETIME_MS[kind];
  return Object.freeze({ kind, text: String(text), expiresAt: lifetime === null ? null : now + lifetime });
}

/** The message as it stands at `now`: itself while it lives, null once its lifetime is over. */
export function alive(message, now) {
  if (!message) return null;
  return message.expiresAt === null || now < message.expiresAt ? message : null;
}

/** Whether a living message has begun to fade at `now`. */
export function fading(message, now) {
  return Boolean(message && message.expiresAt !== null && now >= message.expiresAt - FADE_MS);
}

/**
 * Ends the message of `kind` (progress that is no longer true, an error that was acted on),
 * or only the one saying `text` when given; a message of another kind, or another text, stays.
 */
export function end(message, kind, text = null) {
  if (!message || message.kind !== kind) return message;
  return text === null || message.text === text ? null : message;
}

/**
 * What a task's pending changes amount to, for its view's progress line: "saving" while one
 * is on its way or can go now; "offline" while they wait for the server; "decide" when one
 * waits for the user (a conflict or a refusal holds up the rest of its task); null when
 * nothing is pending. `entries` are that task's queue entries.
 */
export function pendingState(entries, { reachable }) {
  if (!entries?.length) return null;
  if (entries.some((e) => e.state === "conflict" || e.state === "refused")) return "decide";
  if (entries.some((e) => e.state === "sending")) return "saving";
  return reachable ? "saving" : "offline";
}

/**
 * What the queue dropping a deleted task's entries means for the user, or null when it
 * means nothing to them: only edits count (a delete of mine wanted the same thing).
 * `title`: the task's, when known; `by`: who deleted it, when known; `here`: said on the
 * task's own page ("Your change that had not synced was dropped.").
 */
export function droppedText(entries, { title = null, by = null, here = false } = {}) {
  const edits = (entries ?? []).filter((e) => e.kind !== "delete").length;
  if (edits === 0) return null;
  const what = edits === 1 ? "change" : `${edits} changes`;
  const verb = edits === 1 ? "was" : "were";
  if (here) return `Your ${what} that had not synced ${verb} dropped.`;
  const task = title ? `“${title}”` : "a task";
  const who = by ? `${by} deleted ${task}` : `${task.charAt(0).toUpperCase()}${task.slice(1)} was deleted`;
  return `${who}: your ${what} to it that had not synced ${verb} dropped.`;
}

/**
 * What a task's page says once the task is gone: who deleted it and when, as far as it is
 * known. `deletion`: {by: {id, name} | null, at: RFC 3339 | null, missing: true when the
 * page found no task at all}; `selfId`: the signed-in user; `when(at)`: the time as the page
 * shows it.
 */
export function deletedText({ by = null, at = null, missing = false } = {}, { selfId = null, when = (t) => t } = {}) {
  if (missing) return "There is no such task: it was deleted, or it never existed here.";
  const time = at ? ` at ${when(at)}` : "";
  if (!by) return at ? `This task was deleted${time}.` : "This task was deleted.";
  const who = by.id === selfId ? "You" : by.name || by.id;
  const where = by.id === selfId ? " (in another tab or device)" : "";
  return `${who} deleted this task${time}${where}.`;
}
