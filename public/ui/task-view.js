// The task detail (#task-view): the edit form with conflict handling, presence, typing and
// the activity log, kept live by the task's room. Its state lives in this view object;
// listeners are attached on show and removed on hide, and anything that finishes after
// the view moved on (a slow REST answer) is dropped.

import { connectTask, ConflictError } from "/hero-client.js";
import { byId, createScope } from "/ui/dom.js";
import { describeError } from "/ui/errors.js";
import { changesOf, fieldInput, fillForm } from "/ui/task-form.js";
import { renderActivity, renderPresence, renderTyping } from "/ui/task-render.js";
import { TASK_FIELDS } from "/state/fields.js";
import { activityFromRest, applyActivityEvent, emptyActivity } from "/state/activity.js";

const TYPING_RESEND_MS = 2000;

export function createTaskView({ rest, session, slot, connectOptions, connect = connectTask }) {
  let scope = null;
  let room = null;
  let id = null;
  let task = null; // what the server has, as far as we know
  let base = null; // the version the form was loaded from
  const dirty = new Set();
  let lastRemoteActor = null;
  let typingSentAt = 0;
  const typers = new Map(); // user id -> field
  const names = new Map(); // user id -> name
  let pending = null; // our changes while a conflict is shown
  let activity = emptyActivity;

  const notice = (text) => (byId("task-notice").textContent = text);
  const showTyping = () => renderTyping(byId("typing"), typers, names);
  const showActivity = () => renderActivity(byId("activity"), activity.entries);

  function loadIntoForm(next) {
    task = next;
    base = next.version;
    dirty.clear();
    fillForm(next);
    byId("task-heading").textContent = next.title;
  }

  /** A newer task from the server: into the form, unless the user is mid-edit. */
  function takeNewer(next) {
    if (dirty.size === 0) loadIntoForm(next);
    else task = next;
  }

  async function loadActivity(current) {
    const page = await rest.activity(id, { limit: 50 });
    if (current.disposed) return;
    activity = activityFromRest(activity, page.activity);
    showActivity();
  }

  function showConflict(current) {
    const who = lastRemoteActor ?? "someone else";
    byId("conflict-text").textContent = `Changed by ${who} while you were editing. Take their version, or reapply your changes on top of it?`;
    task = current;
    byId("conflict").hidden = false;
    byId("take-theirs").focus();
  }

  async function save(changes, ifMatch) {
    byId("task-error").textContent = "";
    try {
      loadIntoForm(await rest.update(id, changes, { ifMatch }));
      byId("conflict").hidden = true;
      notice("Saved.");
    } catch (error) {
      if (error instanceof ConflictError) {
        pending = changes;
        showConflict(error.current);
      } else {
        byId("task-error").textContent = describeError(error);
      }
    }
  }

  async function remove() {
    if (!confirm("Delete this task?")) return;
    try {
      await rest.remove(id, { ifMatch: base });
      location.hash = "#/";
    } catch (error) {
      byId("task-error").textContent = error instanceof ConflictError ? "It changed meanwhile; reload and try again." : describeError(error);
    }
  }

  function listenToForm() {
    scope.listen(byId("task-form"), "submit", (event) => {
      event.preventDefault();
      const changes = changesOf(dirty);
      if (Object.keys(changes).length > 0) save(changes, base);
    });
    scope.listen(byId("take-theirs"), "click", () => {
      loadIntoForm(task);
      pending = null;
      byId("conflict").hidden = true;
      notice("Loaded their version.");
    });
    scope.listen(byId("reapply-mine"), "click", () => save(pending ?? {}, task.version));
    scope.listen(byId("delete"), "click", remove);
    for (const field of TASK_FIELDS) {
      const element = fieldInput(field);
      scope.listen(element, "input", () => {
        dirty.add(field);
        // Re-sent every couple of seconds while typing goes on: the room ends typing by itself.
        const now = Date.now();
        if (now - typingSentAt > TYPING_RESEND_MS) {
          typingSentAt = now;
          room?.sendTyping(field, true);
        }
      });
      scope.listen(element, "change", () => dirty.add(field));
      scope.listen(element, "focus", () => room?.setEditing(field));
      scope.listen(element, "blur", () => {
        room?.sendTyping(field, false);
        typingSentAt = 0;
        room?.setEditing(null);
      });
    }
  }

  function onEvent(event) {
    activity = applyActivityEvent(activity, event, task);
    showActivity();
    if (event.type === "task_updated") {
      if (event.actor.id !== session.userId) lastRemoteActor = event.actor.name;
      if (event.task.version <= (task?.version ?? 0)) return;
      if (dirty.size === 0) {
        loadIntoForm(event.task);
      } else {
        task = event.task;
        notice(`${event.actor.name} changed this task while you were editing.`);
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
        if (current.disposed || latest.version <= (task?.version ?? 0)) return;
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
    task = null;
    pending = null;
    lastRemoteActor = null;
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
  }

  return {
    name: "task",
    async show(taskId) {
      const current = (scope = createScope());
      reset(taskId);
      listenToForm();
      // Leave the previous room now, so its badge never stands for this one.
      slot.use(null);
      slot.showStatus("connecting");
      try {
        const loaded = await rest.get(taskId);
        if (current.disposed) return;
        loadIntoForm(loaded);
      } catch (error) {
        if (!current.disposed) notice(describeError(error));
        return;
      }
      loadActivity(current).catch(() => {});
      join(current);
    },
    hide() {
      scope?.dispose();
      slot.release(room);
      scope = null;
      room = null;
    },
  };
}
