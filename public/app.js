// Hero Tasks web UI: dashboard and task detail on top of hero-client.js.
// User data only ever reaches the page through textContent and attribute setters: nothing
// from a user is parsed as HTML.

import { connectBoard, connectTask, restClient, ConflictError, ApiError } from "/hero-client.js";

const TOKEN_KEY = "hero-tasks-token";
const FIELDS = ["title", "description", "status", "priority", "assignee_id", "due_date", "tags"];
const FIELD_LABELS = {
  title: "title",
  description: "description",
  status: "status",
  priority: "priority",
  assignee_id: "assignee",
  due_date: "due date",
  tags: "tags",
};
const TYPING_RESEND_MS = 2000;

const $ = (id) => document.getElementById(id);

/** Builds an element; children are nodes or strings (as text, never HTML). */
function h(tag, attrs = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === "class") element.className = value;
    else if (name === "dataset") Object.assign(element.dataset, value);
    else element.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return element;
}

function initials(name) {
  const parts = String(name).trim().split(/\s+/).filter(Boolean);
  const letters = parts.length > 1 ? parts[0][0] + parts[parts.length - 1][0] : (parts[0] ?? "?").slice(0, 2);
  return letters.toUpperCase();
}

function decodeClaims(token) {
  try {
    const payload = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    return JSON.parse(atob(payload));
  } catch {
    return null;
  }
}

// ---------------------------------------------------------------------------------------
// Session

const session = {
  get token() {
    return sessionStorage.getItem(TOKEN_KEY);
  },
  set token(value) {
    if (value) sessionStorage.setItem(TOKEN_KEY, value);
    else sessionStorage.removeItem(TOKEN_KEY);
  },
  get claims() {
    return this.token ? decodeClaims(this.token) : null;
  },
  get userId() {
    return this.claims?.sub ?? null;
  },
};

const options = { getToken: () => session.token };
const rest = restClient(options);

function describeError(error) {
  if (error instanceof ApiError) {
    const fields = error.problem?.errors?.map((e) => `${e.field}: ${e.message}`).join("; ");
    return fields || error.problem?.detail || error.message;
  }
  return error?.message ?? String(error);
}

// ---------------------------------------------------------------------------------------
// Connection badge

const STATUS_TEXT = {
  connecting: "connecting…",
  open: "live",
  reconnecting: "reconnecting…",
  offline: "offline",
  closed: "disconnected",
};

function showStatus(status) {
  const badge = $("connection");
  badge.dataset.status = status;
  badge.textContent = STATUS_TEXT[status] ?? status;
}

let currentRoom = null;
function useRoom(room) {
  currentRoom?.close();
  currentRoom = room;
  if (!room) return;
  showStatus(room.status);
  room.on("status", showStatus);
  room.on("closed", ({ reason, code }) => {
    if (code === 4001 || code === 401) {
      $("task-notice").textContent = "Your session expired: sign in again.";
      signOut();
    } else if (reason && code !== 1000) {
      $("task-notice").textContent = `Disconnected: ${reason}.`;
    }
  });
}

// ---------------------------------------------------------------------------------------
// Views

function showView(name) {
  for (const view of ["signin", "dashboard", "task"]) {
    $(`${view}-view`).hidden = view !== name;
  }
  const signedIn = Boolean(session.token);
  $("signout").hidden = !signedIn;
  const claims = session.claims;
  $("whoami").textContent = claims
    ? `${claims.user_metadata?.full_name ?? claims.sub} · ${claims.app_metadata?.role ?? claims.app_role ?? "member"}`
    : "";
}

function signOut() {
  session.token = null;
  useRoom(null);
  showStatus("closed");
  location.hash = "#/";
  route();
}

async function showSignIn() {
  showView("signin");
  try {
    const config = await fetch("/api/dev/config").then((r) => r.json());
    $("dev-signin").hidden = !config.dev_login;
  } catch {
    $("dev-signin").hidden = true;
  }
}

$("dev-signin").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = new FormData(event.target);
  const name = String(form.get("name")).trim();
  const response = await fetch("/api/dev/token", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ name, role: form.get("role"), workspace: form.get("workspace") }),
  });
  const body = await response.json().catch(() => ({}));
  if (!response.ok) {
    $("signin-error").textContent = body.detail ?? "sign-in failed";
    return;
  }
  session.token = body.token;
  route();
});

$("token-signin").addEventListener("submit", (event) => {
  event.preventDefault();
  const token = $("token-input").value.trim();
  if (!decodeClaims(token)) {
    $("signin-error").textContent = "That does not look like a JWT.";
    return;
  }
  session.token = token;
  route();
});

$("signout").addEventListener("click", signOut);

// ---------------------------------------------------------------------------------------
// Dashboard

const board = { tasks: new Map(), filters: {}, cursor: null };

function matchesFilters(task) {
  const { status, assignee, tag, q } = board.filters;
  if (status && task.status !== status) return false;
  if (assignee && task.assignee_id !== assignee) return false;
  if (tag && !task.tags.includes(tag)) return false;
  if (q) {
    const needle = q.toLowerCase();
    if (!task.title.toLowerCase().includes(needle) && !task.description.toLowerCase().includes(needle)) return false;
  }
  return true;
}

function renderAnalytics(report) {
  const cards = [
    ["Total", report.total],
    ["To do", report.by_status.todo],
    ["In progress", report.by_status.in_progress],
    ["Blocked", report.by_status.blocked],
    ["In review", report.by_status.in_review],
    ["Done", report.by_status.done],
    ["Overdue", report.overdue],
    ["Done this week", report.done_this_week],
  ];
  $("analytics").replaceChildren(
    ...cards.map(([label, value]) =>
      h("div", { class: "stat", dataset: { stat: label } }, h("span", { class: "stat-value" }, value), h("span", { class: "stat-label" }, label)),
    ),
  );
}

function renderTaskList() {
  const tasks = [...board.tasks.values()].sort((a, b) =>
    a.created_at === b.created_at ? (a.id < b.id ? 1 : -1) : a.created_at < b.created_at ? 1 : -1,
  );
  const items = tasks.map((task) =>
    h(
      "li",
      { class: "task-item", dataset: { taskId: task.id, status: task.status } },
      h("a", { href: `#/tasks/${task.id}`, class: "task-title" }, task.title),
      h(
        "span",
        { class: "task-meta" },
        h("span", { class: `pill status-${task.status}` }, task.status.replace("_", " ")),
        h("span", { class: `pill priority-${task.priority}` }, task.priority),
        task.assignee_id ? h("span", { class: "pill" }, `@${task.assignee_id}`) : null,
        task.due_date ? h("span", { class: "pill" }, `due ${task.due_date}`) : null,
        ...task.tags.map((tag) => h("span", { class: "pill tag" }, `#${tag}`)),
      ),
    ),
  );
  $("task-list").replaceChildren(...(items.length ? items : [h("li", { class: "empty" }, "No tasks match.")]));
  $("load-more").hidden = !board.cursor;
}

async function loadTasks({ append = false } = {}) {
  const page = await rest.list({ ...board.filters, limit: 50, cursor: append ? board.cursor : undefined });
  if (!append) board.tasks.clear();
  for (const task of page.tasks) board.tasks.set(task.id, task);
  board.cursor = page.next_cursor;
  renderTaskList();
}

/** Applies a live task, unless we already hold the same or a newer version. */
function upsertBoardTask(task) {
  const known = board.tasks.get(task.id);
  if (known && known.version >= task.version) return;
  if (matchesFilters(task)) board.tasks.set(task.id, task);
  else board.tasks.delete(task.id);
  renderTaskList();
}

async function showDashboard() {
  showView("dashboard");
  const room = connectBoard(options);
  useRoom(room);
  room.on("welcome", (welcome) => {
    if (!welcome.resumed) loadTasks().catch((e) => ($("create-error").textContent = describeError(e)));
  });
  room.on("event", (event) => {
    if (event.type === "task_created" || event.type === "task_updated") upsertBoardTask(event.task);
    if (event.type === "task_deleted") {
      board.tasks.delete(event.task_id);
      renderTaskList();
    }
  });
  room.on("analytics", renderAnalytics);
  room.on("reloaded", (data) => {
    renderAnalytics(data.analytics);
    loadTasks();
  });
}

$("create-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const title = $("new-title").value;
  $("create-error").textContent = "";
  try {
    const task = await rest.create({ title, priority: $("new-priority").value });
    $("new-title").value = "";
    upsertBoardTask(task);
  } catch (error) {
    $("create-error").textContent = describeError(error);
  }
});

let filterTimer = null;
$("filters").addEventListener("input", () => {
  clearTimeout(filterTimer);
  filterTimer = setTimeout(() => {
    const form = new FormData($("filters"));
    board.filters = Object.fromEntries([...form.entries()].map(([k, v]) => [k, String(v).trim()]).filter(([, v]) => v));
    loadTasks();
  }, 250);
});
$("filters").addEventListener("submit", (event) => event.preventDefault());
$("load-more").addEventListener("click", () => loadTasks({ append: true }));

// ---------------------------------------------------------------------------------------
// Task detail

const detail = {
  id: null,
  task: null, // what the server has (as far as we know)
  base: null, // the version the form was loaded from
  dirty: new Set(),
  lastRemoteActor: null,
  typingSentAt: 0,
  typers: new Map(), // user_id -> field
  names: new Map(), // user_id -> name
  pending: null, // our changes while a conflict is shown
};

const input = (field) => document.querySelector(`#task-form [name="${field}"]`);

function formValue(field) {
  const value = input(field).value;
  switch (field) {
    case "assignee_id":
    case "due_date":
      return value.trim() === "" ? null : value.trim();
    case "tags":
      return value.split(",").map((t) => t.trim()).filter(Boolean);
    default:
      return value;
  }
}

function fillForm(task, fields = FIELDS) {
  for (const field of fields) {
    const value = task[field];
    input(field).value = field === "tags" ? value.join(", ") : value ?? "";
  }
}

function loadIntoForm(task) {
  detail.task = task;
  detail.base = task.version;
  detail.dirty.clear();
  fillForm(task);
  $("task-heading").textContent = task.title;
}

function renderPresence(list) {
  for (const entry of list) detail.names.set(entry.user.id, entry.user.name);
  const items = list.map((entry) => {
    const avatar = entry.user.avatar_url
      ? h("img", { src: entry.user.avatar_url, alt: "", class: "avatar" })
      : h("span", { class: "avatar", "aria-hidden": "true" }, initials(entry.user.name));
    const tabs = entry.connections > 1 ? h("span", { class: "tabs" }, `${entry.connections} tabs`) : null;
    const editing = entry.editing.length
      ? h("span", { class: "editing" }, `${entry.user.name} is editing ${entry.editing.map((f) => FIELD_LABELS[f] ?? f).join(", ")}`)
      : null;
    return h("li", { class: "presence-entry", title: entry.user.name, dataset: { userId: entry.user.id } }, avatar, h("span", { class: "visually-hidden" }, entry.user.name), tabs, editing);
  });
  $("presence").replaceChildren(...items);
}

function renderTyping() {
  const lines = [...detail.typers.entries()].map(
    ([userId, field]) => `${detail.names.get(userId) ?? userId} is typing in ${FIELD_LABELS[field] ?? field}…`,
  );
  $("typing").textContent = lines.join(" ");
}

function activityLine(entry) {
  const who = entry.actor.name;
  if (entry.kind === "created") return `${who} created the task`;
  if (entry.kind === "deleted") return `${who} deleted the task`;
  const status = entry.from_status ? ` (status ${entry.from_status} → ${entry.to_status})` : "";
  return `${who} changed ${entry.changed.map((f) => FIELD_LABELS[f] ?? f).join(", ")}${status}`;
}

function prependActivity(entry) {
  const item = h("li", {}, h("time", { datetime: entry.at }, new Date(entry.at).toLocaleString()), " ", activityLine(entry));
  $("activity").prepend(item);
}

async function loadActivity() {
  const page = await rest.activity(detail.id, { limit: 50 });
  $("activity").replaceChildren();
  for (const entry of page.activity.slice().reverse()) prependActivity(entry);
}

function showConflict(current) {
  const who = detail.lastRemoteActor ?? "someone else";
  $("conflict-text").textContent = `Changed by ${who} while you were editing. Take their version, or reapply your changes on top of it?`;
  detail.task = current;
  $("conflict").hidden = false;
  $("take-theirs").focus();
}

async function save(changes, ifMatch) {
  $("task-error").textContent = "";
  try {
    const task = await rest.update(detail.id, changes, { ifMatch });
    loadIntoForm(task);
    $("conflict").hidden = true;
    $("task-notice").textContent = "Saved.";
  } catch (error) {
    if (error instanceof ConflictError) {
      detail.pending = changes;
      showConflict(error.current);
    } else {
      $("task-error").textContent = describeError(error);
    }
  }
}

function changedFields() {
  const changes = {};
  for (const field of detail.dirty) changes[field] = formValue(field);
  return changes;
}

$("task-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const changes = changedFields();
  if (Object.keys(changes).length === 0) return;
  save(changes, detail.base);
});

$("take-theirs").addEventListener("click", () => {
  loadIntoForm(detail.task);
  detail.pending = null;
  $("conflict").hidden = true;
  $("task-notice").textContent = "Loaded their version.";
});

$("reapply-mine").addEventListener("click", () => {
  const mine = detail.pending ?? {};
  save(mine, detail.task.version);
});

$("delete").addEventListener("click", async () => {
  if (!confirm("Delete this task?")) return;
  try {
    await rest.remove(detail.id, { ifMatch: detail.base });
    location.hash = "#/";
  } catch (error) {
    $("task-error").textContent = error instanceof ConflictError ? "It changed meanwhile; reload and try again." : describeError(error);
  }
});

for (const field of FIELDS) {
  const element = input(field);
  element.addEventListener("input", () => {
    detail.dirty.add(field);
    const now = Date.now();
    if (now - detail.typingSentAt > TYPING_RESEND_MS) {
      detail.typingSentAt = now;
      currentRoom?.sendTyping(field, true);
    }
  });
  element.addEventListener("change", () => detail.dirty.add(field));
  element.addEventListener("focus", () => currentRoom?.setEditing(field));
  element.addEventListener("blur", () => {
    currentRoom?.sendTyping(field, false);
    detail.typingSentAt = 0;
    currentRoom?.setEditing(null);
  });
}

async function showTask(id) {
  showView("task");
  detail.id = id;
  detail.typers.clear();
  detail.lastRemoteActor = null;
  $("conflict").hidden = true;
  $("task-notice").textContent = "";
  $("task-error").textContent = "";
  $("typing").textContent = "";
  // Leave the previous room now, so its badge never stands for this one.
  useRoom(null);
  showStatus("connecting");
  try {
    loadIntoForm(await rest.get(id));
  } catch (error) {
    $("task-notice").textContent = describeError(error);
    return;
  }
  loadActivity().catch(() => {});
  const room = connectTask(id, options);
  useRoom(room);
  // A fresh (not resumed) connection replays nothing: whatever changed between the REST
  // load and the connection is fetched again.
  room.on("welcome", async (welcome) => {
    if (welcome.resumed) return;
    try {
      const task = await rest.get(id);
      if (task.version <= (detail.task?.version ?? 0)) return;
      if (detail.dirty.size === 0) loadIntoForm(task);
      else detail.task = task;
      loadActivity().catch(() => {});
    } catch (error) {
      $("task-notice").textContent = describeError(error);
    }
  });
  room.on("presence", renderPresence);
  room.on("typing", (message) => {
    if (message.user_id === session.userId) return;
    if (message.active) detail.typers.set(message.user_id, message.field);
    else detail.typers.delete(message.user_id);
    renderTyping();
  });
  room.on("user_left", (message) => {
    detail.typers.delete(message.user_id);
    renderTyping();
  });
  room.on("event", (event) => {
    if (event.type === "task_updated") {
      detail.lastRemoteActor = event.actor.id === session.userId ? detail.lastRemoteActor : event.actor.name;
      if (event.task.version <= (detail.task?.version ?? 0)) return;
      if (detail.dirty.size === 0) {
        loadIntoForm(event.task);
      } else {
        detail.task = event.task;
        $("task-notice").textContent = `${event.actor.name} changed this task while you were editing.`;
      }
      prependActivity({ kind: "updated", actor: event.actor, at: event.at, changed: event.changed, from_status: null });
    } else if (event.type === "task_status_changed") {
      $("task-notice").textContent = `${event.actor.name} moved it from ${event.from} to ${event.to}.`;
    } else if (event.type === "task_deleted") {
      $("task-notice").textContent = `${event.actor.name} deleted this task.`;
      $("task-form").inert = true;
    }
  });
  room.on("reloaded", (task) => {
    if (detail.dirty.size === 0) loadIntoForm(task);
    else detail.task = task;
    loadActivity().catch(() => {});
    $("task-notice").textContent = "Reloaded the latest version.";
  });
}

// ---------------------------------------------------------------------------------------
// Routing

function route() {
  $("task-form").inert = false;
  if (!session.token) {
    useRoom(null);
    showSignIn();
    return;
  }
  const match = location.hash.match(/^#\/tasks\/([0-9a-f-]{36})$/);
  if (match) showTask(match[1]);
  else showDashboard();
  $("main").focus({ preventScroll: true });
}

window.addEventListener("hashchange", route);
route();
