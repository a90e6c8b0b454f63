// Hash routing: #/tasks/<uuid> is a task, anything else the dashboard; signed out, always
// the sign-in view. Exactly one view is shown: the previous one is hidden (its listeners
// removed, its room left, its message cleared) before the next is shown.

import { byId } from "/ui/dom.js";
import { describeUser } from "/ui/session.js";
import { isReadOnly } from "/state/roles.js";

const TASK_ROUTE = /^#\/tasks\/([0-9a-f-]{36})$/;

/**
 * `views`: {signin, dashboard, task}, each {name, show(param), hide()}; `name` picks its
 * section (#<name>-view). `beforeRoute()` runs before a view is chosen (the app opens the
 * signed-in user's edit queue there).
 */
export function createRouter({ session, views, beforeRoute = () => {} }) {
  let shown = null;

  function showChrome(name) {
    for (const view of Object.values(views)) byId(`${view.name}-view`).hidden = view.name !== name;
    byId("signout").hidden = !session.token;
    byId("whoami").textContent = describeUser(session.claims, session.serverName);
    // A role that can change nothing sees values, not inputs, and is told why.
    byId("view-only").hidden = !session.token || !isReadOnly(session.role);
  }

  function switchTo(view, param) {
    shown?.hide();
    shown = view;
    showChrome(view.name);
    view.show(param);
  }

  function route() {
    beforeRoute();
    if (!session.token) {
      switchTo(views.signin);
      return;
    }
    const match = location.hash.match(TASK_ROUTE);
    if (match) switchTo(views.task, match[1]);
    else switchTo(views.dashboard);
    byId("main").focus({ preventScroll: true });
  }

  return {
    route,
    start() {
      window.addEventListener("hashchange", route);
      route();
    },
  };
}
