// Hero Tasks web UI, entry point: builds the session, the REST client, the edit queue, the
// live-room slot and the three views, then hands the page to the router. This is the only
// module that does anything when imported; each view attaches its own listeners when shown
// and removes them when hidden (see /ui/*.js). User data only ever reaches the page through
// textContent and attribute setters, never as HTML.

import { restClient } from "/hero-client.js";
import { byId } from "/ui/dom.js";
import { createSession, describeUser } from "/ui/session.js";
import { createRoomSlot } from "/ui/connection.js";
import { createQueueSlot } from "/ui/queue-slot.js";
import { createSyncView } from "/ui/sync-view.js";
import { createRouter } from "/ui/router.js";
import { createSignInView } from "/ui/signin-view.js";
import { createBoardView } from "/ui/board-view.js";
import { createTaskView } from "/ui/task-view.js";

const session = createSession();
// Asked before every call and every (re)connect, so a new token is picked up at once.
const connectOptions = { getToken: () => session.token };
const rest = restClient(connectOptions);
// Every create, edit and delete goes through the signed-in user's queue (IndexedDB).
const queues = createQueueSlot({ session, connectOptions });
const syncView = createSyncView();
queues.watch((queue) => syncView.attach(queue));

const slot = createRoomSlot({
  badge: byId("connection"),
  // Only the end of the session is the app's; every other ending (a task deleted, a room
  // refused) is told by the view that was in that room, in its own message line.
  onClosed({ code }) {
    if (code === 4001 || code === 401) signOut("Your session expired: sign in again.");
  },
  // The server's name for us (its rule, cleaned) is better than our reading of the claims.
  onWelcome(welcome) {
    session.rememberServerUser(welcome.user);
    byId("whoami").textContent = describeUser(session.claims, session.serverName);
  },
  // A room that opens proves the server is back: replay what waits, now.
  onStatus(status) {
    if (status === "open") queues.current()?.sync();
  },
});

/** Signs out (in every tab of this browser); `reason`, if any, is said on the sign-in view. */
function signOut(reason = null) {
  // The copies of tasks kept for offline use go; pending changes stay until this user is back.
  queues.current()?.forgetSnapshots();
  session.token = null;
  slot.use(null);
  queues.current(); // closes the queue; its entries stay here until this user is back
  if (reason) views.signin.explain(reason);
  location.hash = "#/";
  router.route();
}

const views = {
  signin: createSignInView({ session, onSignedIn: () => router.route() }),
  dashboard: createBoardView({ rest, session, slot, connectOptions, queues }),
  task: createTaskView({ rest, session, slot, connectOptions, queues }),
};

const router = createRouter({
  session,
  // Opened (or switched) before each view shows, so a view always finds the right queue.
  beforeRoute: () => queues.current(),
  views,
});

byId("signout").addEventListener("click", () => signOut());
// The tabs of this browser share one sign-in: another tab signing in, out or as someone
// else re-routes this one (the room and the queue follow the new token).
session.onChange(() => {
  if (!session.token) slot.use(null);
  router.route();
});
router.start();

// The app shell from the cache when the network is down (/sw.js); never the API.
navigator.serviceWorker?.register("/sw.js").catch((error) => console.warn("hero-tasks: no offline app shell:", error));
