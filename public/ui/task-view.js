// The task detail (#task-view): the edit form with conflict handling, presence, typing and
// the activity log, kept live by the task's room. Its state lives in this view object;
// listeners are attached on show and removed on hide, and anything that finishes after
// the view moved on (a slow REST answer) is dropped.
//
// The description is the task's shared text (/ui/task-description.js): live, keystroke by
// keystroke, with no Save and no conflict to resolve. Every other field saves when it
// changes (selects, dates and tags at once, text fields on blur or Enter) through the edit
// queue (/ui/queue-slot.js): the form shows the task with my pending changes applied,
// "Saved." once the change committed, and the conflict prompt when a queued change met
// someone else's (a 412 the queue could not merge by itself): both values of each field and
// who set theirs; the chosen ones commit. A task created offline opens here under its
// temporary id, its description a plain field saved with it, and moves to its real id (and
// the shared text) once it commits.

import { connectTask } from "/hero-client.js";
import { byId, createScope, h } from "/ui/dom.js";
import { describeError, isUnreachable } from "/ui/errors.js";
import { changesOf, fieldInput, fillForm } from "/ui/task-form.js";
import { renderActivity, renderPresence, renderTyping } from "/ui/task-render.js";
import { createSharedDescription } from "/ui/task-description.js";
import { fieldLabel, TASK_FIELDS } from "/state/fields.js";
import { activityFromRest, applyActivityEvent, emptyActivity } from "/state/activity.js";
import { conflictText, fieldText } from "/state/conflict.js";

const TYPING_RESEND_MS = 2000;

export function createTaskView({ rest, session, slot, connectOptions, queues, connect = connectTask }) {
  let scope = null;
  let room = null;
  let id = null;
  let server = null; // the task as the server has it, as far as we know
  let loaded = null; // what the form was loaded from: `server` with my pending changes (the base of my next edit)
  let pendingCreate = false; // this is a task created offline, under its temporary id
  const dirty = new Set();
  let typingSentAt = 0;
  const typers = new Map(); // user id -> field
  const names = new Map(); // user id -> name
  let activity = emptyActivity;
  // The conflict prompt: the entry it shows, the choices made so far, and the entry whose
  // choice is on its way (the prompt stays until that commits, or cannot be sent now).
  let prompted = null;
  let choices = {};
  let resolving = null;
  let showingRefusal = false;
  let shared = null; // the shared description (made on the first show, when the page is there)

  const queue = () => queues.current();
  /** The description is the shared text (not a field the queue saves) on a task the server has. */
  const isShared = (field) => field === "description" && Boolean(shared?.active);
  const formFields = () => TASK_FIELDS.filter((field) => !isShared(field));
  const role = () => session.claims?.app_metadata?.role || session.claims?.app_role || "member";
  const notice = (text) => (byId("task-notice").textContent = text);
  const showTyping = () => renderTyping(byId("typing"), typers, names);
  const showActivity = () => renderActivity(byId("activity"), activity.entries);
  const entriesOfTask = () => (queue()?.entries ?? []).filter((e) => e.taskId === id);
  /** The task with my pending changes, as the form should show it. */
  const withPending = (task) => (pendingCreate ? queue()?.pendingTask(id) ?? task : queue()?.overlay(task) ?? task);

  /** Keeps the server's copy for a reload offline (not a pending create: the queue has it). */
  const keepCopy = (task) => {
    if (!pendingCreate && task?.version > 0) queue()?.rememberTask(task);
  };

  function loadIntoForm(next) {
    keepCopy(next);
    server = next;
    loaded = withPending(next);
    dirty.clear();
    fillForm(loaded, formFields());
    shared?.showFallback(loaded.description);
    byId("task-heading").textContent = loaded.title;
  }

  /** A newer task from the server: into the form, unless the user is mid-edit. */
  function takeNewer(next) {
    if (server && !pendingCreate && next.version < server.version) return;
    if (dirty.size === 0) loadIntoForm(next);
    else {
      keepCopy(next);
      server = next;
    }
  }

  async function loadActivity(current) {
    const page = await rest.activity(id, { limit: 50 });
    if (current.disposed) return;
    activity = activityFromRest(activity, page.activity);
    showActivity();
  }

  // ---- Saving ------------------------------------------------------------------------

  /** Saves the touched fields among `fields` that hold a valid value (a blank title waits). */
  async function save(fields = [...dirty]) {
    const valid = fields.filter((field) => dirty.has(field) && !isShared(field) && fieldInput(field).checkValidity());
    const changes = changesOf(valid);
    if (Object.keys(changes).length === 0) return;
    for (const field of valid) dirty.delete(field);
    byId("task-error").textContent = "";
    try {
      const { outcome } = await queue().update(loaded, changes);
      // The base of the next edit moves on only once nothing else is mid-edit.
      if (dirty.size === 0) loaded = withPending(server);
      byId("task-heading").textContent = withPending(server).title;
      if (outcome === "unchanged") notice("Nothing to save: that is how it was.");
      else if (pendingCreate || !queue().reachable) notice("Saved on this device: it syncs when the server can be reached.");
      else notice("Saving…");
    } catch (error) {
      for (const field of valid) dirty.add(field); // not saved: still mine to save
      byId("task-error").textContent = describeError(error);
    }
  }

  async function remove() {
    if (!confirm("Delete this task?")) return;
    try {
      await queue().remove(loaded);
      location.hash = "#/";
    } catch (error) {
      byId("task-error").textContent = describeError(error);
    }
  }

  // ---- The conflict prompt -----------------------------------------------------------

  function hidePrompt() {
    prompted = null;
    choices = {};
    byId("conflict").hidden = true;
  }

  function choiceButton(entry, conflict, side) {
    const value = side === "mine" ? conflict.mine : conflict.theirs;
    const who = side === "mine" ? "Mine" : `Theirs (${conflict.by?.name ?? "someone else"})`;
    return h(
      "button",
      {
        type: "button",
        class: `choose-${side}`,
        "aria-pressed": choices[conflict.field] === side ? "true" : "false",
        dataset: { field: conflict.field, side },
      },
      `${who}: ${fieldText(conflict.field, value)}`,
    );
  }

  function showPrompt(entry) {
    const same = prompted === entry.id && !resolving;
    prompted = entry.id;
    if (same && !byId("conflict").hidden) return; // keep focus and the choices made so far
    const isDelete = entry.kind === "delete";
    byId("conflict-title").textContent = isDelete ? "Deleted, but changed meanwhile" : "Edit conflict";
    byId("conflict-text").textContent = conflictText(entry, session.userId);
    byId("conflict-fields").replaceChildren(
      ...entry.conflict.fields.map((conflict) =>
        h(
          "li",
          { class: "conflict-field", dataset: { field: conflict.field } },
          h("span", { class: "field-name" }, fieldLabel(conflict.field)),
          isDelete ? h("span", {}, `now: ${fieldText(conflict.field, conflict.theirs)} (was ${fieldText(conflict.field, conflict.base)}, changed by ${conflict.by?.name ?? "someone else"})`) : choiceButton(entry, conflict, "mine"),
          isDelete ? null : choiceButton(entry, conflict, "theirs"),
        ),
      ),
    );
    byId("take-theirs").textContent = isDelete ? "Keep it" : "Take theirs";
    byId("reapply-mine").textContent = isDelete ? "Delete anyway" : "Reapply mine";
    for (const button of byId("conflict").querySelectorAll("button")) button.disabled = false;
    byId("conflict").hidden = false;
    byId("take-theirs").focus();
  }

  async function resolveWith(entryId, picked) {
    resolving = entryId;
    for (const button of byId("conflict").querySelectorAll("button")) button.disabled = true;
    byId("conflict-text").textContent = "Saving your choice…";
    const outcome = await queue().resolve(entryId, picked);
    if (outcome !== "requeued") {
      resolving = null;
      hidePrompt();
      if (outcome === "kept-theirs") notice("Loaded their version.");
    }
    reflectQueue();
  }

  function choose(side) {
    const entry = entriesOfTask().find((e) => e.id === prompted);
    if (!entry) return;
    const picked = Object.fromEntries(entry.conflict.fields.map((c) => [c.field, side]));
    resolveWith(entry.id, entry.kind === "delete" ? side : picked);
  }

  function chooseField(field, side) {
    const entry = entriesOfTask().find((e) => e.id === prompted);
    if (!entry) return;
    choices = { ...choices, [field]: side };
    for (const button of byId("conflict-fields").querySelectorAll(`button[data-field="${field}"]`)) {
      button.setAttribute("aria-pressed", String(button.dataset.side === side));
    }
    // Once every field has a choice, that is the answer.
    if (entry.conflict.fields.every((c) => choices[c.field])) resolveWith(entry.id, choices);
  }

  /** The prompt and the form follow the queue: a conflict appears, a choice commits. */
  function reflectQueue() {
    const mine = entriesOfTask();
    const conflict = mine.find((e) => e.state === "conflict");
    if (resolving) {
      const waiting = mine.find((e) => e.id === resolving);
      if (waiting?.state === "conflict") resolving = null; // it met another change: ask again
      else if (!waiting || !queue().reachable) {
        resolving = null;
        hidePrompt();
        if (waiting) notice("Your choice is saved on this device: it syncs when the server can be reached.");
      }
    }
    if (conflict && !resolving) showPrompt(conflict);
    else if (!conflict && !resolving && prompted) hidePrompt();
    // A change the server refused stays listed until discarded; say so where it was made.
    const refused = mine.find((e) => e.state === "refused");
    if (refused) {
      const why = refused.error?.errors?.map((e) => `${fieldLabel(e.field)}: ${e.message}`).join("; ") || refused.error?.detail || "refused";
      byId("task-error").textContent = `Not saved: ${why}. Discard it in the list of changes at the top, then try again.`;
      showingRefusal = true;
    } else if (showingRefusal) {
      byId("task-error").textContent = "";
      showingRefusal = false;
    }
    // A pending change came or went (here or in another tab): show it, unless mid-edit.
    if (server && dirty.size === 0) {
      const next = withPending(server);
      if (JSON.stringify(next) !== JSON.stringify(loaded)) loadIntoForm(server);
    }
  }

  /** One of my queued changes committed (in this tab or another). */
  function onAcked({ entry, task, taskId, tempId, merged }) {
    if (tempId && tempId === id) {
      // The task made offline is real now: its page is under its real id.
      location.replace(`#/tasks/${taskId}`);
      return;
    }
    if (taskId !== id) return;
    if (entry.kind === "delete") {
      notice("Deleted.");
      byId("task-form").inert = true;
      return;
    }
    if (task) takeNewer(task);
    if (entry.id === resolving || entry.id === prompted) {
      resolving = null;
      hidePrompt();
    }
    notice(merged ? "Loaded their version." : "Saved.");
  }

  // ---- Listening ---------------------------------------------------------------------

  function listenToForm() {
    // Enter in a text field: save what was typed (an invalid value says why instead).
    scope.listen(byId("task-form"), "submit", (event) => {
      event.preventDefault();
      if (!byId("task-form").reportValidity()) return;
      save();
    });
    scope.listen(byId("take-theirs"), "click", () => choose("theirs"));
    scope.listen(byId("reapply-mine"), "click", () => choose("mine"));
    scope.listen(byId("conflict-fields"), "click", (event) => {
      const button = event.target.closest?.("button[data-field]");
      if (button) chooseField(button.dataset.field, button.dataset.side);
    });
    scope.listen(byId("delete"), "click", remove);
    for (const field of TASK_FIELDS) {
      const element = fieldInput(field);
      scope.listen(element, "input", () => {
        if (!isShared(field)) dirty.add(field);
        // Re-sent every couple of seconds while typing goes on: the room ends typing by itself.
        const now = Date.now();
        if (now - typingSentAt > TYPING_RESEND_MS) {
          typingSentAt = now;
          room?.sendTyping(field, true);
        }
      });
      // Selects, dates and tags at once; text fields when they lose focus (or on Enter).
      scope.listen(element, "change", () => {
        if (isShared(field)) return;
        dirty.add(field);
        save([field]);
      });
      scope.listen(element, "focus", () => room?.setEditing(field));
      scope.listen(element, "blur", () => {
        room?.sendTyping(field, false);
        typingSentAt = 0;
        room?.setEditing(null);
      });
    }
    const current = queue();
    if (current) {
      scope.track(current.on("change", reflectQueue));
      scope.track(current.on("acked", onAcked));
    }
  }

  function onEvent(event) {
    activity = applyActivityEvent(activity, event, server);
    showActivity();
    if (event.type === "task_updated") {
      if (event.task.version <= (server?.version ?? 0)) return;
      const mine = event.actor.id === session.userId;
      // The shared text's flush to D1: already on screen, keystroke by keystroke.
      const onlyShared = (event.changed ?? []).every((field) => isShared(field));
      if (dirty.size === 0) {
        loadIntoForm(event.task);
      } else {
        keepCopy(event.task);
        server = event.task;
        if (!mine && !onlyShared) notice(`${event.actor.name} changed this task while you were editing.`);
      }
    } else if (event.type === "task_status_changed") {
      notice(`${event.actor.name} moved it from ${event.from} to ${event.to}.`);
    } else if (event.type === "task_deleted") {
      notice(`${event.actor.name} deleted this task.`);
      byId("task-form").inert = true;
    }
  }

  function join(current) {
    room = connect(id, connectOptions);
    slot.use(room);
    const on = (type, handler) => current.track(room.on(type, handler));
    // A fresh (not resumed) connection replays nothing: whatever changed between the REST
    // load and the connection is fetched again.
    on("welcome", async (welcome) => {
      if (welcome.resumed) return;
      try {
        const latest = await rest.get(id);
        if (current.disposed || latest.version <= (server?.version ?? 0)) return;
        takeNewer(latest);
        loadActivity(current).catch(() => {});
      } catch (error) {
        if (!current.disposed) notice(describeError(error));
      }
    });
    on("presence", (list) => {
      for (const entry of list) names.set(entry.user.id, entry.user.name);
      renderPresence(byId("presence"), list);
    });
    on("typing", (message) => {
      if (message.user_id === session.userId) return;
      if (message.active) typers.set(message.user_id, message.field);
      else typers.delete(message.user_id);
      showTyping();
    });
    on("user_left", (message) => {
      typers.delete(message.user_id);
      showTyping();
    });
    on("presence_diff", (message) => {
      for (const userId of message.leaves ?? []) typers.delete(userId);
      showTyping();
    });
    on("event", onEvent);
    on("reloaded", (latest) => {
      takeNewer(latest);
      loadActivity(current).catch(() => {});
      notice("Reloaded the latest version.");
    });
  }

  function reset(taskId) {
    id = taskId;
    server = null;
    loaded = null;
    pendingCreate = false;
    prompted = null;
    choices = {};
    resolving = null;
    showingRefusal = false;
    dirty.clear();
    typingSentAt = 0;
    typers.clear();
    names.clear();
    activity = emptyActivity;
    byId("conflict").hidden = true;
    notice("");
    byId("task-error").textContent = "";
    byId("typing").textContent = "";
    byId("presence").replaceChildren();
    showActivity();
    shared ??= createSharedDescription({ textarea: byId("f-description"), hint: document.querySelector('[data-hint-for="description"]'), connectOptions });
    shared.close();
  }

  /** The shared description of a task the server has; `fallback` shows until it is ready. */
  const openShared = (taskId, fallback) => shared.open(taskId, { fallback, viewer: role() === "viewer" });

  const view = {
    name: "task",
    async show(taskId) {
      const current = (scope = createScope());
      reset(taskId);
      listenToForm();
      // Leave the previous room now, so its badge never stands for this one.
      slot.use(null);
      slot.showStatus("connecting");
      // A task created offline: shown from the queue until it commits; no room, no history.
      const pending = queue()?.pendingTask(taskId);
      if (pending) {
        pendingCreate = true;
        loadIntoForm(pending);
        notice("Not synced yet: this task is created when the server can be reached.");
        slot.showStatus(queue().reachable ? "connecting" : "offline");
        reflectQueue();
        return;
      }
      const real = queue()?.realId(taskId) ?? taskId;
      if (real !== taskId) {
        location.replace(`#/tasks/${real}`);
        return;
      }
      try {
        const fetched = await rest.get(taskId);
        if (current.disposed) return;
        openShared(taskId, fetched.description);
        loadIntoForm(fetched);
      } catch (error) {
        if (current.disposed) return;
        notice(describeError(error));
        if (isUnreachable(error)) {
          // Offline: the last copy this browser saw, with my pending changes, can still be
          // edited (the edits queue up); the real thing loads when the network is back.
          slot.showStatus("offline");
          current.listen(window, "online", () => {
            if (current.disposed) return;
            view.hide();
            view.show(taskId);
          });
          const copy = await queue()?.recallTask(taskId);
          // The shared text kept on this device can be typed in offline; it merges when back.
          if (!current.disposed && !server) openShared(taskId, copy?.description ?? "");
          if (copy && !current.disposed && !server) {
            loadIntoForm(copy);
            reflectQueue();
            notice("Offline: this is the last copy this browser saw. Your changes are kept and sync when the server is back.");
          }
        }
        return;
      }
      reflectQueue();
      loadActivity(current).catch(() => {});
      join(current);
    },
    hide() {
      shared?.close();
      scope?.dispose();
      slot.release(room);
      scope = null;
      room = null;
    },
  };
  return view;
}
