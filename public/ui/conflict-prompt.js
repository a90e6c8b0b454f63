// The task view's conflict prompt (#conflict): a queued change of mine met someone else's
// (a 412 the queue could not merge by itself). It shows, for each field both of us changed,
// my value and theirs as text, who set theirs, and one pair of buttons, "Keep mine" and
// "Keep theirs": the one set of actions. A delete that met their change asks once instead:
// "Keep it" or "Delete anyway" (#conflict-actions). The chosen values commit through the
// queue; the prompt stays, its buttons off, until that commit is done or cannot be sent now.
// The browser tests read .conflict-field[data-field] .conflict-choice[data-side] and click
// .choose-mine / .choose-theirs, #take-theirs / #reapply-mine.

import { byId, h } from "/ui/dom.js";
import { fieldLabel, fieldText } from "/state/fields.js";
import { conflictText } from "/state/conflict.js";

/** `queue()`: the edit queue; `notice`: the view's message line; `selfId()`: who I am. */
export function createConflictPrompt({ queue, notice, selfId }) {
  let prompted = null; // the entry shown
  let choices = {}; // field -> "mine" | "theirs", chosen so far
  let resolving = null; // the entry whose choice is on its way

  const setButtons = (enabled) => {
    for (const button of byId("conflict").querySelectorAll("button")) button.disabled = !enabled;
  };

  function hide() {
    prompted = null;
    choices = {};
    byId("conflict").hidden = true;
  }

  function choiceRow(conflict, side) {
    const value = side === "mine" ? conflict.mine : conflict.theirs;
    const who = side === "mine" ? "Mine" : `Theirs (${conflict.by?.name ?? "someone else"})`;
    const label = fieldLabel(conflict.field);
    return h(
      "div",
      { class: "conflict-choice", dataset: { side } },
      h("span", { class: "conflict-side" }, who),
      h("span", { class: "conflict-value" }, fieldText(conflict.field, value)),
      h(
        "button",
        {
          type: "button",
          class: `choose-${side}`,
          "aria-pressed": choices[conflict.field] === side ? "true" : "false",
          "aria-label": `Keep ${side === "mine" ? "mine" : "theirs"} for ${label}`,
          dataset: { field: conflict.field, side },
        },
        side === "mine" ? "Keep mine" : "Keep theirs",
      ),
    );
  }

  function deletedRow(conflict) {
    const now = fieldText(conflict.field, conflict.theirs);
    const was = fieldText(conflict.field, conflict.base);
    return h("span", { class: "conflict-value" }, `now ${now} (was ${was}, changed by ${conflict.by?.name ?? "someone else"})`);
  }

  function show(entry) {
    const same = prompted === entry.id && !resolving;
    prompted = entry.id;
    if (same && !byId("conflict").hidden) return; // keep focus and the choices made so far
    const isDelete = entry.kind === "delete";
    byId("conflict-title").textContent = isDelete ? "Deleted, but changed meanwhile" : "Edit conflict";
    byId("conflict-text").textContent = conflictText(entry, selfId());
    byId("conflict-fields").replaceChildren(
      ...entry.conflict.fields.map((conflict) =>
        h(
          "li",
          { class: "conflict-field", dataset: { field: conflict.field } },
          h("span", { class: "field-name" }, fieldLabel(conflict.field)),
          ...(isDelete ? [deletedRow(conflict)] : [choiceRow(conflict, "mine"), choiceRow(conflict, "theirs")]),
        ),
      ),
    );
    byId("conflict-actions").hidden = !isDelete;
    setButtons(true);
    byId("conflict").hidden = false;
    byId("conflict").querySelector(isDelete ? "#take-theirs" : ".choose-mine")?.focus();
  }

  async function resolveWith(entryId, picked) {
    resolving = entryId;
    setButtons(false);
    byId("conflict-text").textContent = "Saving your choice…";
    const outcome = await queue().resolve(entryId, picked);
    if (outcome !== "requeued") {
      resolving = null;
      hide();
      if (outcome === "kept-theirs") notice.info("Loaded their version.");
    }
  }

  const promptedEntry = (entries) => entries.find((e) => e.id === prompted);

  /** A delete's one decision: "theirs" keeps the task, "mine" deletes it anyway. */
  function chooseAll(entries, side) {
    const entry = promptedEntry(entries);
    if (entry) resolveWith(entry.id, side);
  }

  /** One field's choice; once every field has one, that is the answer. */
  function chooseField(entries, field, side) {
    const entry = promptedEntry(entries);
    if (!entry) return;
    choices = { ...choices, [field]: side };
    for (const button of byId("conflict-fields").querySelectorAll(`button[data-field="${field}"]`)) {
      button.setAttribute("aria-pressed", String(button.dataset.side === side));
    }
    if (entry.conflict.fields.every((c) => choices[c.field])) resolveWith(entry.id, choices);
  }

  return {
    /** Hooks the buttons up for as long as `scope` lives; `entries()` are the task's queue entries. */
    listen(scope, entries) {
      scope.listen(byId("take-theirs"), "click", () => chooseAll(entries(), "theirs"));
      scope.listen(byId("reapply-mine"), "click", () => chooseAll(entries(), "mine"));
      scope.listen(byId("conflict-fields"), "click", (event) => {
        const button = event.target.closest?.("button[data-field]");
        if (button) chooseField(entries(), button.dataset.field, button.dataset.side);
      });
    },
    /** Follows the queue: a conflict appears, a choice commits (or waits for the network). */
    reflect(entries, reachable) {
      const conflict = entries.find((e) => e.state === "conflict");
      if (resolving) {
        const waiting = entries.find((e) => e.id === resolving);
        if (waiting?.state === "conflict") resolving = null; // it met another change: ask again
        else if (!waiting || !reachable) {
          resolving = null;
          hide();
          if (waiting) notice.progress("Your choice is saved on this device: it syncs when the server can be reached.");
        }
      }
      if (conflict && !resolving) show(conflict);
      else if (!conflict && !resolving && prompted) hide();
    },
    /** An entry committed: if it was the one prompted or being resolved, the prompt is done. */
    settled(entryId) {
      if (entryId !== resolving && entryId !== prompted) return false;
      resolving = null;
      hide();
      return true;
    },
    reset() {
      resolving = null;
      hide();
    },
  };
}
