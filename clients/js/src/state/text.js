// The two pure halves of binding a text control to a shared text (../textarea.js): turning
// what the control now holds into one minimal edit, and moving a caret through someone
// else's edit. Positions are UTF-16 code units, as JavaScript strings and Yjs count them.
// Pure: node tests check each rule.

const isHigh = (code) => code >= 0xd800 && code <= 0xdbff;
const isLow = (code) => code >= 0xdc00 && code <= 0xdfff;

/**
 * The edit that turns `before` into `after`: delete `remove` units at `index`, then insert
 * `insert` there. The common prefix and suffix are kept, so typing one character is one
 * insert and a paste over a selection is one replace. `caret` (where the caret is in
 * `after`, e.g. the control's selectionEnd after the input) picks the place among equal
 * characters (without it, the longest common suffix wins): typing "a" after the first "a"
 * of "aa" is an insert at 1, not at 2, so a concurrent edit lands where its author meant.
 * An edit never splits a surrogate pair.
 */
export function diffText(before, after, caret) {
  const shortest = Math.min(before.length, after.length);
  // The suffix first, no further left than the caret (if one is given); then the prefix, up to the suffix.
  let suffix = 0;
  const suffixCap = caret === undefined ? shortest : Math.min(shortest, after.length - Math.max(0, Math.min(caret, after.length)));
  while (suffix < suffixCap && before.charCodeAt(before.length - 1 - suffix) === after.charCodeAt(after.length - 1 - suffix)) suffix += 1;
  let prefix = 0;
  const prefixCap = shortest - suffix;
  while (prefix < prefixCap && before.charCodeAt(prefix) === after.charCodeAt(prefix)) prefix += 1;
  if (prefix > 0 && isHigh(before.charCodeAt(prefix - 1))) prefix -= 1;
  if (suffix > 0 && isLow(before.charCodeAt(before.length - suffix))) suffix -= 1;
  return { index: prefix, remove: before.length - prefix - suffix, insert: after.slice(prefix, after.length - suffix) };
}

/** Whether an edit from diffText changes anything. */
export const isEmptyEdit = (edit) => edit.remove === 0 && edit.insert === "";

/**
 * Where position `pos` of the old text is after an edit given as a Yjs delta
 * (`[{retain}, {insert}, {delete}]`, in the old text's positions). Text inserted before
 * `pos` pushes it right and text deleted before it pulls it left; a deletion that spans
 * `pos` leaves it at the deletion's start. Text inserted exactly at `pos` pushes it right
 * when `stickRight` (a caret stays after what someone typed at it, as a Y.RelativePosition
 * does), and not otherwise (the end of a selection does not swallow it).
 */
export function mapPosition(pos, delta, stickRight = true) {
  let old = 0; // where we are in the old text
  let moved = pos;
  for (const op of delta) {
    if (old > pos || (old === pos && !stickRight && op.insert !== undefined)) break;
    if (op.retain !== undefined) old += op.retain;
    else if (op.insert !== undefined) moved += typeof op.insert === "string" ? op.insert.length : 1;
    else if (op.delete !== undefined) {
      moved -= Math.max(0, Math.min(op.delete, pos - old));
      old += op.delete;
    }
  }
  return moved;
}

/** A selection {start, end} after a delta: a caret sticks right; a range keeps its ends outside inserts at them. */
export function mapSelection({ start, end }, delta) {
  if (start === end) {
    const at = mapPosition(start, delta, true);
    return { start: at, end: at };
  }
  return { start: mapPosition(start, delta, true), end: mapPosition(end, delta, false) };
}
