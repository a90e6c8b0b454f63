// Three-way merge of an edit made against an older version of a task, field by field, and
// the set merge of tags. Pure (no DOM, no I/O): the edit queue (../edit-queue.js) uses it when
// the server answers 412 with the task as it is now (`current`), and node tests check every
// rule.
//
// For each field of my patch, with `base` the value I saw when I edited it, `mine` the value
// I set and `theirs` the value the server has now:
// - mine equals base: I did not really change it; theirs stays (dropped, "unchanged");
// - theirs equals base: only I changed it; mine is reapplied;
// - theirs equals mine: we both made the same change; nothing to send (dropped, "same");
// - otherwise we both changed it differently: a conflict for the user to resolve.
// A field only they changed is not in my patch at all, so theirs stays by construction.
//
// Tags are a set, not a value: what I added and removed against base is applied to theirs,
// so my "add urgent" and their "remove later" both survive. A set merge has no conflict.

/** How the server stores a field, for comparing: titles and ids trimmed, tags as a set of trimmed tags. */
export function normalizeField(field, value) {
  if ((field === "title" || field === "assignee_id") && typeof value === "string") return value.trim();
  if (field === "tags") return [...new Set((value ?? []).map((tag) => String(tag).trim()))].sort();
  return value ?? null;
}

/** Whether two values of a field are the same as the server would store them. */
export function sameFieldValue(field, a, b) {
  const left = normalizeField(field, a);
  const right = normalizeField(field, b);
  if (Array.isArray(left) || Array.isArray(right)) {
    return Array.isArray(left) && Array.isArray(right) && left.length === right.length && left.every((v, i) => v === right[i]);
  }
  return left === right;
}

/**
 * Tags after a set merge: theirs, minus what I removed from base, plus what I added to base
 * (in my order, after theirs, so their order is kept). Duplicates are dropped.
 */
export function mergeTags(base, mine, theirs) {
  const baseSet = new Set(base ?? []);
  const mineSet = new Set(mine ?? []);
  const removed = new Set([...baseSet].filter((tag) => !mineSet.has(tag)));
  const merged = [...new Set(theirs ?? [])].filter((tag) => !removed.has(tag));
  for (const tag of mineSet) if (!baseSet.has(tag) && !merged.includes(tag)) merged.push(tag);
  return merged;
}

/**
 * Merges my patch (made on `base`, the values I saw) into `current` (the task now).
 * Returns {patch, conflicts, dropped}:
 * - `patch`: what to send now on top of `current` (fields to reapply, tags merged);
 * - `conflicts`: [{field, base, mine, theirs}] for the user to resolve;
 * - `dropped`: [{field, reason}], reason "unchanged" (mine equals base) or "same" (theirs
 *   already equals what I want).
 */
export function mergePatch(base, patch, current) {
  const merged = {};
  const conflicts = [];
  const dropped = [];
  for (const [field, mine] of Object.entries(patch)) {
    const was = base?.[field];
    const theirs = current?.[field];
    if (field === "tags") {
      const tags = mergeTags(was, mine, theirs);
      if (sameFieldValue(field, tags, theirs)) dropped.push({ field, reason: sameFieldValue(field, mine, was) ? "unchanged" : "same" });
      else merged.tags = tags;
    } else if (sameFieldValue(field, mine, was)) {
      dropped.push({ field, reason: "unchanged" });
    } else if (sameFieldValue(field, theirs, was)) {
      merged[field] = mine;
    } else if (sameFieldValue(field, theirs, mine)) {
      dropped.push({ field, reason: "same" });
    } else {
      conflicts.push({ field, base: was ?? null, mine, theirs: theirs ?? null });
    }
  }
  return { patch: merged, conflicts, dropped };
}

/**
 * The patch once the user has chosen, per conflicting field, "mine" or "theirs": the
 * merged fields plus each conflicting field where they chose mine. A field without a choice
 * keeps theirs (nothing is sent for it).
 */
export function resolvedPatch(merged, conflicts, choices) {
  const patch = { ...merged };
  for (const { field, mine } of conflicts) if (choices?.[field] === "mine") patch[field] = mine;
  return patch;
}

/** The fields whose values differ between two versions of a task (for a delete's conflict). */
export function changedFields(before, after, fields) {
  return fields.filter((field) => !sameFieldValue(field, before?.[field], after?.[field]));
}

/**
 * Who last changed `field` after `sinceVersion`, from a task's activity (newest first, as
 * `GET /api/tasks/{id}/activity` lists it): that entry's actor ({id, name}), or null when
 * the page does not reach back that far. The activity log is the server's durable record of
 * who wrote which fields in which version, so it is right even for changes made while this
 * browser was offline and heard no room event.
 */
export function whoChanged(activity, sinceVersion, field) {
  for (const entry of activity ?? []) {
    if (typeof entry?.version !== "number" || entry.version <= (sinceVersion ?? 0)) continue;
    if (entry.kind === "created" || (entry.changed ?? []).includes(field)) return entry.actor ?? null;
  }
  return null;
}
