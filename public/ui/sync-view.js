// The edit queue's state, a quiet line in the header (#sync-status): "offline — 2 changes
// pending", "syncing 1 change…", "1 change needs your decision", "all changes synced" once
// the queue drains. Under it, behind "changes" (#sync-details), each pending change (a
// conflict links to its task's prompt; a conflict or a refusal can be discarded); the list
// opens by itself when a change newly needs a decision. The browser tests read #sync-status
// and .sync-item[data-state].

import { byId, h } from "/ui/dom.js";
import { describeEntry, statusLine, summarize } from "/hero-client.js";
import { fieldLabel } from "/state/fields.js";

/** What the line's colour says: offline, a decision needed, synced, or syncing. */
function lineState(entries, reachable) {
  const { total, conflicts, refused } = summarize(entries);
  if (total === 0) return "synced";
  if (conflicts + refused > 0) return "decide";
  return reachable ? "syncing" : "offline";
}

function stateText(entry) {
  switch (entry.state) {
    case "sending":
      return "sending…";
    case "conflict":
      return "conflict: choose a value";
    case "refused": {
      const fields = entry.error?.errors?.map((e) => `${fieldLabel(e.field)}: ${e.message}`).join("; ");
      return `refused: ${fields || entry.error?.detail || "the server said no"}`;
    }
    default:
      return entry.interrupted || entry.attempts > 0 ? "waiting to retry" : "waiting";
  }
}

export function createSyncView() {
  let queue = null;
  let unsubscribe = [];
  // "all changes synced" only means something after there was something to sync.
  let hadChanges = false;
  let lastState = "synced";

  function item(entry) {
    const label = describeEntry(entry, fieldLabel);
    const stuck = entry.state === "conflict" || entry.state === "refused";
    return h(
      "li",
      { class: "sync-item", dataset: { entryId: entry.id, state: entry.state, taskId: entry.taskId } },
      h("span", { class: "sync-what" }, label),
      h("span", { class: "sync-state" }, stateText(entry)),
      entry.state === "conflict" ? h("a", { href: `#/tasks/${entry.taskId}`, class: "sync-resolve" }, "Resolve") : null,
      stuck ? h("button", { type: "button", class: "sync-discard", "aria-label": `Discard: ${label}`, dataset: { entryId: entry.id } }, "Discard") : null,
    );
  }

  function render() {
    const entries = queue?.entries ?? [];
    if (entries.length) hadChanges = true;
    const text = queue ? statusLine(entries, { reachable: queue.reachable, hadChanges }) : "";
    const state = lineState(entries, queue?.reachable ?? true);
    byId("sync").hidden = !text;
    byId("sync").dataset.state = state;
    byId("sync-status").textContent = text;
    byId("sync-items").replaceChildren(...entries.map(item));
    const details = byId("sync-details");
    details.hidden = entries.length === 0;
    details.querySelector("summary").textContent = entries.length === 1 ? "1 change" : `${entries.length} changes`;
    // A decision newly needed is shown; after that the user opens and closes the list.
    if (state === "decide" && lastState !== "decide") details.open = true;
    if (entries.length === 0) details.open = false;
    lastState = state;
  }

  // One listener for every Discard button, whatever the list holds now.
  byId("sync-items").addEventListener("click", (event) => {
    const button = event.target.closest?.(".sync-discard");
    if (button && queue) queue.discard(button.dataset.entryId);
  });

  return {
    /** Shows this queue (null: signed out, nothing to show). */
    attach(next) {
      if (next === queue) return;
      for (const off of unsubscribe.splice(0)) off();
      queue = next;
      hadChanges = false;
      lastState = "synced";
      if (queue) unsubscribe = [queue.on("change", render)];
      render();
    },
  };
}
