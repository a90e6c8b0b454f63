// What the conflict prompt says about a queued change that met someone else's: who changed
// the task, and each field's value as text (./fields.js). Pure (no DOM), so node tests check
// the wording the browser tests look for.

/** "Bob", "Bob and Cy", "Ana, Bob and Cy"; someone whose name is unknown is "someone else". */
export function conflictAuthors(fields, selfId = null) {
  const names = [];
  for (const { by } of fields) {
    const name = !by ? "someone else" : by.id === selfId ? "you (in another tab or device)" : by.name || by.id;
    if (!names.includes(name)) names.push(name);
  }
  if (names.length === 0) return "someone else";
  return names.length === 1 ? names[0] : `${names.slice(0, -1).join(", ")} and ${names[names.length - 1]}`;
}

/** The prompt's sentence for an edit or a delete that met their change. */
export function conflictText(entry, selfId = null) {
  const who = conflictAuthors(entry.conflict?.fields ?? [], selfId);
  if (entry.kind === "delete") return `Changed by ${who} after you deleted it. Keep their version, or delete it anyway?`;
  return `Changed by ${who} while you were editing. Keep your value or theirs for each field:`;
}

/** A field's value as the prompt shows it (the one spelling, from ./fields.js). */
export { fieldText } from "./fields.js";
