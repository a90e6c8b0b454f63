// The route is the URL's hash (#/tasks/<id>, or the board), read with useSyncExternalStore
// like everything else here: "" on the server.
import { useSyncExternalStore } from "react";

const subscribe = (listener) => {
  window.addEventListener("hashchange", listener);
  return () => window.removeEventListener("hashchange", listener);
};

export function useRoute() {
  const hash = useSyncExternalStore(subscribe, () => window.location.hash, () => "");
  const task = hash.match(/^#\/tasks\/([^/]+)$/);
  return task ? { view: "task", taskId: decodeURIComponent(task[1]) } : { view: "board" };
}
