// The dashboard (#dashboard-view): analytics, the create form, filters and the task list,
// kept live by the workspace board room. Its state lives in this view object; listeners
// are attached when it is shown and removed when it is hidden.
//
// Filters: status, assignee and tag are exact rules that /state/list.js applies to live
// tasks locally. Search (`q`) is the server's alone (it is moving to FTS5 prefix search),
// so while `q` is set a live change refetches the page (debounced) instead of guessing
// whether the task matches. A delete needs no guess and is applied locally either way.
//
// Offline: creates go through the edit queue (/ui/queue-slot.js), and the list is drawn with
// the pending changes applied (a pending create on top under its temporary id, edits shown,
// deletes hidden). When an entry commits, its task goes into the list at once. Each card
// shows who is in that task's room, from the board's `task_presence`.
//
// A viewer gets no create form (the server would refuse it). The view's message line
// (#board-message) holds one message at a time (/ui/message-slot.js) and is cleared when
// the view hides. A task deleted by someone else takes what the queue held for it along,
// and the line says so.

import { connectBoard, emptyTaskPresence } from "/hero-client.js";
import { byId, createScope } from "/ui/dom.js";
import { describeError, isUnreachable, UNREACHABLE_TEXT } from "/ui/errors.js";
import { createMessageSlot } from "/ui/message-slot.js";
import { renderAnalytics, renderTaskList } from "/ui/board-render.js";
import { applyListEvent, appendPage, cleanFilters, emptyList, listFromPage, needsServerFilter, removeTask, upsertTask } from "/state/list.js";
import { abilities } from "/state/roles.js";
import { droppedText } from "/state/messages.js";

const PAGE_SIZE = 50;
const MAX_PAGE_SIZE = 200; // the API's limit
const FILTER_DEBOUNCE_MS = 250;
const REFETCH_DEBOUNCE_MS = 300;
const KEEP_DEBOUNCE_MS = 1000;

export function createBoardView({ rest, session, slot, connectOptions, queues, connect = connectBoard }) {
  let list = emptyList;
  let presence = emptyTaskPresence;
  let filters = {};
  let scope = null;
  let room = null;
  let filterTimer = null;
  let refetchTimer = null;
  // Numbers the list requests: an answer to an older query never overwrites a newer one.
  let latestLoad = 0;
  // Deleted tasks whose queued changes are being dropped: id -> {title, by}, for saying so.
  const titles = new Map();

  const message = createMessageSlot(byId("board-message"));
  const readFilters = () => cleanFilters(new FormData(byId("filters")).entries());
  const showError = (error) => message.error(describeError(error));
  const queue = () => queues.current();
  // The list as the user should see it: the server's tasks with their pending changes.
  const shown = () => ({ ...list, tasks: queue()?.overlayList(list.tasks) ?? list.tasks });
  const render = () => renderTaskList(byId("task-list"), byId("load-more"), shown(), presence);
  // The unfiltered list is kept (debounced) for a reload offline; see recallList below.
  let keepTimer = null;
  const keepCopy = () => {
    clearTimeout(keepTimer);
    if (Object.keys(filters).length) return;
    const owner = queue();
    keepTimer = setTimeout(() => owner?.rememberList(list.tasks), KEEP_DEBOUNCE_MS);
  };
  const setList = (next) => {
    if (next === list) return;
    list = next;
    keepCopy();
    render();
  };

  async function load({ append = false, limit = PAGE_SIZE } = {}) {
    const ticket = append ? latestLoad : ++latestLoad;
    const page = await rest.list({ ...filters, limit, cursor: append ? list.cursor : undefined });
    if (ticket !== latestLoad) return;
    list = append ? appendPage(list, page) : listFromPage(page);
    keepCopy();
    // An answer: whatever said the server could not be reached is out of date.
    message.end("error", UNREACHABLE_TEXT);
    render();
  }
  // Offline with nothing loaded (a reload offline): the last list this browser saw, with
  // the pending changes on top, until the server answers again.
  const reload = (options) =>
    load(options).catch(async (error) => {
      showError(error);
      if (!isUnreachable(error) || list.tasks.length) return;
      const copy = await queue()?.recallList();
      if (copy?.length && !list.tasks.length && scope) {
        list = { tasks: copy, cursor: null };
        render();
      }
    });

  // Refetches as many tasks as are shown, so a search result that was paged on stays.
  function scheduleRefetch() {
    clearTimeout(refetchTimer);
    refetchTimer = setTimeout(() => {
      reload({ limit: Math.min(MAX_PAGE_SIZE, Math.max(PAGE_SIZE, list.tasks.length)) });
    }, REFETCH_DEBOUNCE_MS);
  }

  function onEvent(event) {
    if (event.type === "task_deleted") dropQueued(event);
    if (!needsServerFilter(filters)) {
      setList(applyListEvent(list, event, filters));
    } else if (event.type === "task_deleted" || event.type === "task_redacted") {
      setList(removeTask(list, event.task_id));
    } else if (event.type === "task_created" || event.type === "task_updated") {
      scheduleRefetch();
    }
  }

  // Someone deleted a task I have changes queued for: they can never apply, so they go
  // (the queue's "dropped" says which, and onDropped says so).
  function dropQueued(event) {
    const title = list.tasks.find((task) => task.id === event.task_id)?.title;
    const current = queue();
    if (!current?.entries.some((entry) => entry.taskId === event.task_id)) return;
    titles.set(event.task_id, { title, by: event.actor?.id === session.userId ? "You" : event.actor?.name });
    current.dropTask(event.task_id).catch(() => {});
  }

  // What the queue dropped (here, in another tab, or on a 404), in words, if any was mine to say.
  function onDropped({ taskId, entries }) {
    const known = titles.get(taskId);
    titles.delete(taskId);
    const text = droppedText(entries, { title: known?.title ?? entries[0]?.label, by: known?.by });
    if (text) message.info(text);
  }

  // Queued: shown at once as pending, sent when the server can be reached. A blank title
  // is caught here (the server would refuse it), so it never waits in the queue.
  async function create(event) {
    event.preventDefault();
    const title = byId("new-title").value;
    if (!title.trim()) {
      showError(new Error("A task needs a title."));
      return;
    }
    message.clear();
    try {
      await queue().create({ title, priority: byId("new-priority").value });
      // Ready for the next one: the title empty and the priority back to its default.
      byId("create-form").reset();
      render();
    } catch (error) {
      showError(error);
    }
  }

  // A queued create, edit or delete committed: into the list now, not when the room says so.
  function onAcked({ entry, task, taskId }) {
    if (entry.kind === "delete") setList(removeTask(list, taskId));
    else if (task && needsServerFilter(filters)) scheduleRefetch();
    else if (task) setList(upsertTask(list, task, filters));
    render();
  }

  function onFilterInput() {
    clearTimeout(filterTimer);
    filterTimer = setTimeout(() => {
      filters = readFilters();
      clearTimeout(refetchTimer);
      reload();
    }, FILTER_DEBOUNCE_MS);
  }

  function listen() {
    scope.listen(byId("create-form"), "submit", create);
    // Typing a title is acting on "A task needs a title.": it goes.
    scope.listen(byId("new-title"), "input", () => message.end("error", "A task needs a title."));
    scope.listen(byId("filters"), "input", onFilterInput);
    scope.listen(byId("filters"), "submit", (event) => event.preventDefault());
    scope.listen(byId("load-more"), "click", () => reload({ append: true }));
    scope.track(() => {
      clearTimeout(filterTimer);
      clearTimeout(refetchTimer);
      clearTimeout(keepTimer);
    });
    const current = queue();
    if (current) {
      scope.track(current.on("change", render));
      scope.track(current.on("acked", onAcked));
      scope.track(current.on("dropped", onDropped));
    }
  }

  function join() {
    room = connect(connectOptions);
    slot.use(room);
    // A resumed connection replays what it missed; a fresh one starts from a new page.
    scope.track(
      room.on("welcome", (welcome) => {
        if (!welcome.resumed) reload();
      }),
    );
    scope.track(room.on("event", onEvent));
    // A replayed event about a task deleted since: no fields, only that the task is gone.
    scope.track(room.on("task_redacted", onEvent));
    scope.track(room.on("analytics", (report) => renderAnalytics(byId("analytics"), report)));
    scope.track(
      room.on("task_presence", (map) => {
        presence = map;
        render();
      }),
    );
    scope.track(
      room.on("reloaded", (data) => {
        renderAnalytics(byId("analytics"), data.analytics);
        reload();
      }),
    );
  }

  return {
    name: "dashboard",
    show() {
      scope = createScope();
      // A viewer can change nothing: no create form.
      byId("create-form").hidden = !abilities(session.role).create;
      // The filter form keeps its values while the view is hidden; start from them.
      filters = readFilters();
      presence = emptyTaskPresence;
      listen();
      render(); // pending creates show before the first page arrives (or when it cannot)
      join();
    },
    hide() {
      scope?.dispose();
      slot.release(room);
      scope = null;
      room = null;
      message.clear();
    },
  };
}
