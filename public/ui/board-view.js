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

import { connectBoard, emptyTaskPresence } from "/hero-client.js";
import { byId, createScope } from "/ui/dom.js";
import { describeError, isUnreachable, UNREACHABLE_TEXT } from "/ui/errors.js";
import { renderAnalytics, renderTaskList } from "/ui/board-render.js";
import { applyListEvent, appendPage, cleanFilters, emptyList, listFromPage, needsServerFilter, removeTask, upsertTask } from "/state/list.js";

const PAGE_SIZE = 50;
const MAX_PAGE_SIZE = 200; // the API's limit
const FILTER_DEBOUNCE_MS = 250;
const REFETCH_DEBOUNCE_MS = 300;
const KEEP_DEBOUNCE_MS = 1000;

export function createBoardView({ rest, slot, connectOptions, queues, connect = connectBoard }) {
  let list = emptyList;
  let presence = emptyTaskPresence;
  let filters = {};
  let scope = null;
  let room = null;
  let filterTimer = null;
  let refetchTimer = null;
  // Numbers the list requests: an answer to an older query never overwrites a newer one.
  let latestLoad = 0;

  const readFilters = () => cleanFilters(new FormData(byId("filters")).entries());
  const showError = (error) => (byId("create-error").textContent = describeError(error));
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
    if (byId("create-error").textContent === UNREACHABLE_TEXT) byId("create-error").textContent = "";
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
    if (!needsServerFilter(filters)) {
      setList(applyListEvent(list, event, filters));
    } else if (event.type === "task_deleted" || event.type === "task_redacted") {
      setList(removeTask(list, event.task_id));
    } else if (event.type === "task_created" || event.type === "task_updated") {
      scheduleRefetch();
    }
  }

  // Queued: shown at once as pending, sent when the server can be reached. A blank title
  // is caught here (the server would refuse it), so it never waits in the queue.
  async function create(event) {
    event.preventDefault();
    byId("create-error").textContent = "";
    const title = byId("new-title").value;
    if (!title.trim()) {
      showError(new Error("A task needs a title."));
      return;
    }
    try {
      await queue().create({ title, priority: byId("new-priority").value });
      byId("new-title").value = "";
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
    },
  };
}
