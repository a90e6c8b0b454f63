"use client";
// @hero-tasks/client/react: React hooks over the client module (React 18 or newer).
//
//   const client = createHeroClient({ getToken });          // at module scope: opens nothing
//   <HeroProvider client={client}><App /></HeroProvider>    // only provides it
//   const { task, status, presence, typing } = useTaskRoom(taskId);
//   const shared = useSharedText(taskId, "description");    // the live description (Yjs)
//   <textarea ref={useTextareaBinding(shared)} />            // bound, caret kept
//
// Rules (each a bug a hand-written hook over sockets tends to ship): state is read with
// useSyncExternalStore from frozen snapshots that keep their identity until something
// changes; the server (and first) render sees a frozen idle snapshot; one socket per task
// room, one board socket and one document socket per task, per client, shared by every
// component, reference-counted and closed a grace period after the last one leaves
// (StrictMode and quick route changes reuse it); nothing opens during render; handlers and
// getToken sit behind refs.
//
// react/client.js owns the resources (no React in it); react/task-resource.js,
// board-resource.js, queue-resource.js and doc-resource.js build their snapshots;
// react/hooks.js has the hooks.

export { BOARD, createHeroClient, GRACE_MS } from "./react/client.js";
export { TYPING_RESEND_MS } from "./react/task-resource.js";
export { HeroProvider, useBoard, useConnectionStatus, useEditQueue, useFieldEditing, useHeroClient, usePresence, useSharedText, useTaskEvents, useTaskRoom, useTextareaBinding, useTyping } from "./react/hooks.js";
