// The live room the page is on, and the header badge (#connection) that shows its state.
// One room at a time: using a room, or none, closes the previous one first, so the badge
// never stands for a room the page has left.

const STATUS_TEXT = {
  connecting: "connecting…",
  open: "live",
  reconnecting: "reconnecting…",
  offline: "offline",
  closed: "disconnected",
  // The view left its room on purpose (its task was deleted): nothing is wrong.
  left: "not connected",
};

/**
 * `onClosed({reason, code})` hears why the current room ended for good; `onWelcome(welcome)`
 * hears each connection's welcome (the server's name for the user is in `welcome.user`);
 * `onStatus(status)` hears every status of the current room.
 */
export function createRoomSlot({ badge, onClosed, onWelcome, onStatus }) {
  let current = null;
  let handlers = [];

  const showStatus = (status) => {
    badge.dataset.status = status;
    badge.textContent = STATUS_TEXT[status] ?? status;
  };

  function use(room) {
    const previous = current;
    current = room;
    for (const off of handlers.splice(0)) off();
    previous?.close();
    if (!room) {
      showStatus("closed");
      return;
    }
    showStatus(room.status);
    handlers = [
      room.on("status", (status) => {
        showStatus(status);
        onStatus?.(status);
      }),
      room.on("closed", (detail) => onClosed?.(detail)),
      room.on("welcome", (welcome) => onWelcome?.(welcome)),
      // A refused client message (`error`): the connection stays open; worth a trace.
      room.on("error", (error) => console.warn(`hero-tasks: the room refused a message: ${error.code}: ${error.message}`)),
    ];
  }

  return {
    get room() {
      return current;
    },
    use,
    /** Leaves `room` if it is still the current one (a view hiding). */
    release(room) {
      if (room && current === room) use(null);
    },
    showStatus,
  };
}
