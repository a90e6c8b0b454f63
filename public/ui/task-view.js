// The task detail (#task-view): the edit form with conflict handling, presence, typing and
// the activity log, kept live by the task's room. Its state lives in this view object;
// listeners are attached on show and removed on hide, and anything that finishes after
// the view moved on (a slow REST answer) is dropped.
//
// The description is the task's shared text (/ui/task-description.js): live, keystroke by
// keystroke, with no Save and no conflict to resolve. Every other field saves when it
// changes (selects, dates and tags at once, text fields on blur or Enter) through the edit
// queue (/ui/queue-slot.js): the form shows the task with my pending changes applied,
// "Saving…" while a change is on its way, "Saved." once it committed, and the conflict
// prompt (/ui/conflict-prompt.js) when a queued change met someone else's. A task created
// offline opens here under its temporary id, its description a plain field saved with it,
// and moves to its real id (and the shared text) once it commits.
//
// Read-only: a role that can change nothing (a viewer) sees the values as text
// (#task-values) and the shared description read-only; no Delete. A task deleted while it
// is open turns read-only at once: it says who deleted it and when (#task-gone), leaves the
// room (no presence, no typing), offers the way back to the board, and the edit queue drops
// what it held for the task, which is said too. The view's one message line (#task-notice,
// /ui/message-slot.js) is cleared when the view hides.

import { connectTask } from "/hero-client.js";
import { byId, createScope } from "/ui/dom.js";
import { describeError, isUnreachable } from "/ui/errors.js";
import { createMessageSlot } from "/ui/message-slot.js";
import { createConflictPrompt } from "/ui/conflict-prompt.js";
import { changesOf, fieldInput, fillForm } from "/ui/task-form.js";
import { renderActivity, renderPresence, renderTyping, renderValues } from "/ui/task-render.js";
import { createSharedDescription } from "/ui/task-description.js";
import { fieldLabel, statusLabel, TASK_FIELDS } from "/state/fields.js";
import { activityFromRest, applyActivityEvent, emptyActivity } from "/state/activity.js";
import { deletedText, droppedText, pendingState } from "/state/messages.js";
import { abilities } from "/state/roles.js";

const TYPING_RESEND_MS = 2000;

/** A time as the page shows it: the time of day today, the date and time otherwise. */
function when(at) {
  const date = new Date(at);
  const today = date.toDateString() === new Date().toDateString();
  return today ? date.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" }) : date.toLocaleString([], { dateStyle: "medium", timeStyle: "short" });
}

export function createTaskView({ rest, session, slot, connectOptions, queues, connect = connectTask }) {
  let scope = null;
  let room = null;
  let id = null;
  let server = null; // the task as the server has it, as far as we know
  let loaded = null; // what the form was loaded from: `server` with my pending changes (the base of my next edit)
  let pendingCreate = false; // this is a task created offline, under its temporary id
  let gone = null; // the task was deleted: {by, at} as far as known
  const dirty = new Set();
  let typingSentAt = 0;
  const typers = new Map(); // user id -> field
  const names = new Map(); // user id -> name
  let activity = emptyActivity;
  let refusalShown = null; // the refusal's text while the message line shows it
  let shared = null; // the shared description (made on the first show, when the page is there)

  const notice = createMessageSlot(byId("task-notice"));
  const queue = () => queues.current();
  const entriesOfTask = () => (queue()?.entries ?? []).filter((e) => e.taskId === id);
  const prompt = createConflictPrompt({ queue, notice, selfId: () => session.userId });
  /** The description is the shared text (not a field the queue saves) on a task the server has. */
  const isShared = (field) => field === "description" && Boolean(shared?.active);
  const formFields = () => TASK_FIELDS.filter((field) => !isShared(field));
  const can = () => abilities(session.role, { task: server ?? loaded, userId: session.userId });
  const readOnly = () => gone !== null || !can().edit;
  const showTyping = () => renderTyping(byId("typing"), typers, names);
  const showActivity = () => renderActivity(byId("activity"), activity.entries);
  /** The task with my pending changes, as the form should show it. */
  const withPending = (task) => (pendingCreate ? queue()?.pendingTask(id) ?? task : queue()?.overlay(task) ?? task);

  /** Keeps the server's copy for a reload offline (not a pending create: the queue has it). */
  const keepCopy = (task) => {
    if (!pendingCreate && task?.version > 0) queue()?.rememberTask(task);
  };

  /** Edit or read: inputs for who may change the task, its values as text for everyone else. */
  function applyMode() {
    const reading = readOnly();
    byId("task-form").dataset.mode = reading ? "read" : "edit";
    for (const field of TASK_FIELDS) if (field !== "description") fieldInput(field).disabled = reading;
    if (!shared?.active) fieldInput("description").readOnly = reading;
    byId("delete").hidden = reading || !can().delete;
    byId("task-values").hidden = !reading;
    if (reading && loaded) renderValues(byId("task-values"), loaded);
  }

  function loadIntoForm(next) {
    keepCopy(next);
    server = next;
    loaded = withPending(next);
    dirty.clear();
    fillForm(loaded, formFields());
    shared?.showFallback(loaded.description);
    byId("task-heading").textContent = loaded.title;
    applyMode();
  }

  /** A newer task from the server: into the form, unless the user is mid-edit. */
  function takeNewer(next) {
    if (gone || (server && !pendingCreate && next.version < server.version)) return;
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
    if (readOnly()) return;
    const valid = fields.filter((field) => dirty.has(field) && !isShared(field) && fieldInput(field).checkValidity());
    const changes = changesOf(valid);
    if (Object.keys(changes).length === 0) return;
    for (const field of valid) dirty.delete(field);
    try {
      const { outcome } = await queue().update(loaded, changes);
      // The base of the next edit moves on only once nothing else is mid-edit.
      if (dirty.size === 0) loaded = withPending(server);
      byId("task-heading").textContent = withPending(server).title;
      if (outcome === "unchanged") notice.info("Nothing to save: that is how it was.");
      else reflectPending();
    } catch (error) {
      for (const field of valid) dirty.add(field); // not saved: still mine to save
      notice.error(describeError(error));
    }
  }

  async function remove() {
    if (!confirm("Delete this task?")) return;
    try {
      await queue().remove(loaded);
      location.hash = "#/";
    } catch (error) {
      notice.error(describeError(error));
    }
  }

  // ---- What the queue holds for this task --------------------------------------------

  /** Progress only while it is true: saving now, or waiting for the server. */
  function reflectPending() {
    if (gone) return;
    const state = pendingState(entriesOfTask(), { reachable: queue()?.reachable ?? true });
    if (state === "saving") notice.progress("Saving…");
    else if (state === "offline" && pendingCreate) notice.progress("Not synced yet: this task is created when the server can be reached.");
    else if (state === "offline") notice.progress("Saved on this device: it syncs when the server can be reached.");
    else notice.end("progress");
  }

  /** A change the server refused stays listed until discarded; say so where it was made, once. */
  function reflectRefusal(mine) {
    const refused = mine.find((e) => e.state === "refused");
    if (!refused) {
      if (refusalShown) notice.end("error", refusalShown);
      refusalShown = null;
      return;
    }
    const why = refused.error?.errors?.map((e) => `${fieldLabel(e.field)}: ${e.message}`).join("; ") || refused.error?.detail || "refused";
    const text = `Not saved: ${why}. Discard it in the list of changes at the top, then try again.`;
    if (text !== refusalShown) notice.error(text);
    refusalShown = text;
  }

  /** The prompt, the message line and the form follow the queue. */
  function reflectQueue() {
    if (gone) return;
    const mine = entriesOfTask();
    prompt.reflect(mine, queue()?.reachable ?? true);
    reflectPending();
    reflectRefusal(mine);
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
    if (taskId !== id || gone || entry.kind === "delete") return;
    if (task) takeNewer(task);
    prompt.settled(entry.id);
    if (merged) notice.info("Loaded their version.");
    else notice.success("Saved.");
  }

  // ---- Deleted -----------------------------------------------------------------------

  /** The task is gone (deleted here, elsewhere, or while away): read-only, out of its room, queue dropped. */
  function turnGone(deletion = {}) {
    if (gone) return;
    gone = { by: deletion.by ?? null, at: deletion.at ?? null, missing: deletion.missing ?? false };
    prompt.reset();
    notice.clear();
    dirty.clear();
    typers.clear();
    showTyping();
    byId("presence").replaceChildren();
    const left = room;
    room = null;
    slot.release(left);
    slot.showStatus("left");
    shared?.freeze();
    byId("task-gone-text").textContent = deletedText(gone, { selfId: session.userId, when });
    byId("task-gone").hidden = false;
    applyMode();
    // What I had queued for it can never apply: the queue drops it ("dropped" says what).
    queue()?.dropTask(id).catch(() => {});
  }

  function onDropped({ taskId, entries, reason }) {
    if (taskId !== id) return;
    if (reason === "gone") turnGone(); // a write of mine found it deleted before the room said so
    const text = droppedText(entries, { here: true });
    if (!text) return;
    byId("task-gone-dropped").textContent = text;
    byId("task-gone-dropped").hidden = false;
  }

  // ---- Listening ---------------------------------------------------------------------

  function listenToField(field) {
    const element = fieldInput(field);
    scope.listen(element, "input", () => {
      if (readOnly()) return;
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
      if (isShared(field) || readOnly()) return;
      dirty.add(field);
      save([field]);
    });
    scope.listen(element, "focus", () => {
      if (!readOnly()) room?.setEditing(field);
    });
    scope.listen(element, "blur", () => {
      if (readOnly()) return;
      room?.sendTyping(field, false);
      typingSentAt = 0;
      room?.setEditing(null);
    });
  }

  function listenToForm() {
    // Enter in a text field: save what was typed (an invalid value says why instead).
    scope.listen(byId("task-form"), "submit", (event) => {
      event.preventDefault();
      if (readOnly() || !byId("task-form").reportValidity()) return;
      save();
    });
    prompt.listen(scope, entriesOfTask);
    scope.listen(byId("delete"), "click", remove);
    for (const field of TASK_FIELDS) listenToField(field);
    const current = queue();
    if (current) {
      scope.track(current.on("change", reflectQueue));
      scope.track(current.on("acked", onAcked));
      scope.track(current.on("dropped", onDropped));
    }
  }

  function onEvent(event) {
    activity = applyActivityEvent(activity, event, server);
    showActivity();
    const mine = event.actor?.id === session.userId;
    if (event.type === "task_updated") {
      if (event.task.version <= (server?.version ?? 0)) return;
      // The shared text's flush to D1: already on screen, keystroke by keystroke.
      const onlyShared = (event.changed ?? []).every((field) => isShared(field));
      if (dirty.size === 0) {
        loadIntoForm(event.task);
      } else {
        keepCopy(event.task);
        server = event.task;
        if (!mine && !onlyShared) notice.info(`${event.actor.name} changed this task while you were editing.`);
      }
    } else if (event.type === "task_status_changed" && !mine) {
      notice.info(`${event.actor.name} moved it from ${statusLabel(event.from)} to ${statusLabel(event.to)}.`);
    } else if (event.type === "task_deleted") {
      turnGone({ by: event.actor, at: event.at });
    }
  }

  /** The room ended for good: a deleted task (4004, or 404 when it could not even connect), or a refusal. */
  function onClosed({ reason, code }) {
    if (code === 4004 || code === 404) turnGone();
    else if (code !== 4001 && code !== 401 && code !== 1000 && reason) notice.error(`Disconnected: ${reason}.`);
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
        if (current.disposed) return;
        if (error?.status === 404) turnGone();
        else notice.error(describeError(error));
      }
    });
    on("presence", (list) => {
      if (gone) return;
      for (const entry of list) names.set(entry.user.id, entry.user.name);
      renderPresence(byId("presence"), list);
    });
    on("typing", (message) => {
      if (message.user_id === session.userId || gone) return;
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
    on("closed", onClosed);
    on("reloaded", (latest) => {
      takeNewer(latest);
      loadActivity(current).catch(() => {});
      notice.info("Reloaded the latest version.");
    });
  }

  function reset(taskId) {
    id = taskId;
    server = null;
    loaded = null;
    pendingCreate = false;
    gone = null;
    refusalShown = null;
    prompt.reset();
    dirty.clear();
    typingSentAt = 0;
    typers.clear();
    names.clear();
    activity = emptyActivity;
    notice.clear();
    byId("task-gone").hidden = true;
    byId("task-gone-dropped").hidden = true;
    byId("typing").textContent = "";
    byId("presence").replaceChildren();
    showActivity();
    shared ??= createSharedDescription({ textarea: byId("f-description"), hint: document.querySelector('[data-hint-for="description"]'), connectOptions });
    shared.close();
    applyMode();
  }

  /** The shared description of a task the server has; `fallback` shows until it is ready. */
  const openShared = (taskId, fallback) => shared.open(taskId, { fallback, viewer: !can().edit });

  /** Offline on opening: the last copy this browser saw, with my pending changes, until the network is back. */
  async function showOffline(current, taskId) {
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
      notice.progress("Offline: this is the last copy this browser saw. Your changes are kept and sync when the server is back.");
    }
  }

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
        server = fetched; // who created it decides whether I may delete it
        openShared(taskId, fetched.description);
        loadIntoForm(fetched);
      } catch (error) {
        if (current.disposed) return;
        if (error?.status === 404) turnGone({ missing: true });
        else notice.error(describeError(error));
        if (isUnreachable(error)) await showOffline(current, taskId);
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
      notice.clear();
    },
  };
  return view;
}
