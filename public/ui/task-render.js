// Task detail rendering: who is here (#presence), who is typing (#typing) and the activity
// log (#activity), drawn from plain data. The browser tests read
// .presence-entry[data-user-id] .avatar (initials), .editing ("… is editing description"),
// #typing ("Ana is typing…") and the read-only values (#task-values dd).

import { h } from "/ui/dom.js";
import { fieldLabel, taskValues } from "/state/fields.js";
import { activityText } from "/state/activity.js";

/** "Bob" → "BO", "Ana Lima" → "AL". */
export function initials(name) {
  const parts = String(name).trim().split(/\s+/).filter(Boolean);
  const letters = parts.length > 1 ? parts[0][0] + parts[parts.length - 1][0] : (parts[0] ?? "?").slice(0, 2);
  return letters.toUpperCase();
}

function presenceEntry(entry) {
  const { user } = entry;
  const avatar = user.avatar_url
    ? h("img", { src: user.avatar_url, alt: "", class: "avatar" })
    : h("span", { class: "avatar", "aria-hidden": "true" }, initials(user.name));
  const tabs = entry.connections > 1 ? h("span", { class: "tabs" }, `${entry.connections} tabs`) : null;
  const editing = entry.editing.length
    ? h("span", { class: "editing" }, `${user.name} is editing ${entry.editing.map(fieldLabel).join(", ")}`)
    : null;
  return h(
    "li",
    { class: "presence-entry", title: user.name, dataset: { userId: user.id } },
    avatar,
    h("span", { class: "visually-hidden" }, user.name),
    tabs,
    editing,
  );
}

/** `list` is the presence list from applyPresence (/hero-client.js). */
export function renderPresence(container, list) {
  container.replaceChildren(...list.map(presenceEntry));
}

/** `typers`: user id → field; `names`: user id → name (unknown ids show as themselves). */
export function renderTyping(element, typers, names) {
  const lines = [...typers.entries()].map(([userId, field]) => `${names.get(userId) ?? userId} is typing in ${fieldLabel(field)}…`);
  element.textContent = lines.join(" ");
}

/** One log line; live and reloaded entries go through here alike. */
export function activityItem(entry) {
  return h("li", {}, h("time", { datetime: entry.at }, new Date(entry.at).toLocaleString()), " ", activityText(entry));
}

/** `entries`: newest first, as the API lists them. */
export function renderActivity(list, entries) {
  list.replaceChildren(...entries.map(activityItem));
}

/** A read-only task's values (#task-values), as text: status in words, tags joined. */
export function renderValues(list, task) {
  list.replaceChildren(...taskValues(task).flatMap(([label, text]) => [h("dt", {}, label), h("dd", {}, text)]));
}
