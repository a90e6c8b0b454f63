// The dashboard (#dashboard-view): analytics, the create form, filters and the task list,
// kept live by the workspace board room. Its state lives in this view object; listeners
// are attached when it is shown and removed when it is hidden.
//
// Filters: status, assignee and tag are exact rules that /state/list.js applies to live
// tasks locally. Search (`q`) is the server's alone (it is moving to FTS5 prefix search),
// so while `q` is set a live change refetches the page (debounced) instead of guessing
// whether the task matches. A delete needs no guess and is applied locally either way.

import { connectBoard } from "/hero-client.js";
import { byId, createScope } from "/ui/dom.js";
import { describeError } from "/ui/errors.js";
import { renderAnalytics, renderTaskList } from "/ui/board-render.js";
import { applyListEvent, appendPage, cleanFilters, emptyList, listFromPage, needsServerFilter, removeTask, upsertTask } from "/state/list.js";

const PAGE_SIZE = 50;
const MAX_PAGE_SIZE = 200; // the API's limit
const FILTER_DEBOUNCE_MS = 250;
const REFETCH_DEBOUNCE_MS = 300;

export function createBoardView({ rest, slot, connectOptions, connect = connectBoard }) {
  let list = emptyList;
  let filters = {};
  let scope = null;
  let room = null;
  let filterTimer = null;
  let refetchTimer = null;
  // Numbers the list requests: an answer to an older query never overwrites a newer one.
  let latestLoad = 0;

  const readFilters = () => cleanFilters(new FormData(byId("filters")).entries());
  const showError = (error) => (byId("create-error").textContent = describeError(error));
  const render = () => renderTaskList(byId("task-list"), byId("load-more"), list);
  const setList = (next) => {
    if (next === list) return;
    list = next;
    render();
  };

  async function load({ append = false, limit = PAGE_SIZE } = {}) {
    const ticket = append ? latestLoad : ++latestLoad;
    const page = await rest.list({ ...filters, limit, cursor: append ? list.cursor : undefined });
    if (ticket !== latestLoad) return;
    list = append ? appendPage(list, page) : listFromPage(page);
    render();
  }
  const reload = (options) => load(options).catch(showError);

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

  async function create(event) {
    event.preventDefault();
    byId("create-error").textContent = "";
    try {
      const task = await rest.create({ title: byId("new-title").value, priority: byId("new-priority").value });
      byId("new-title").value = "";
      if (needsServerFilter(filters)) scheduleRefetch();
      else setList(upsertTask(list, task, filters));
    } catch (error) {
      showError(error);
    }
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
    });
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
      listen();
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
