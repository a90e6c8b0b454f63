// Presence reducer: the room's "who is here" list, rebuilt from the server's messages.
// Pure (no DOM, no I/O): the rooms (../room.js), the UI and the node tests share this one copy.
//
// The server's rule (the Rust room's `presence()`): one entry per user, sorted by user id;
// `connections` is the number of that user's sockets; `editing` is the sorted,
// de-duplicated union of the fields any of those sockets is editing. `welcome` and
// `presence` (sent by protocol-1 servers) carry that whole list, so they replace ours. The
// rest are deltas (docs/protocol.md):
// - `user_joined {user, connections}`: a user's first socket (not a return within the grace
//   period, which comes as `presence_diff`), so they edit nothing yet.
// - `user_left {user_id}`: their last socket closed and the grace period passed.
// - `presence_diff {joins, leaves}` (protocol 2): each entry in `joins` is that user's whole
//   entry now (a second tab, a tab closed, a quick return) and replaces or adds theirs;
//   each id in `leaves` removes that user.
// - `editing {user_id, field}`: ONE of that user's sockets now edits `field` (null: nothing).

const sortedUnique = (fields) => [...new Set(fields)].sort();

const entryOf = (entry) => ({
  user: entry.user,
  connections: entry.connections,
  editing: sortedUnique(entry.editing ?? []),
});

function withEditing(entry, field) {
  // A user with one socket: that socket's field is the whole union.
  if (entry.connections <= 1) return field ? [field] : [];
  // Several sockets: the message does not say which socket changed or what it edited
  // before, so the exact union is unknown. Dropping the other fields would hide another
  // tab's edit (the old bug); keeping them may briefly show a field nobody edits any more.
  // We prefer the latter: the server sends the user's whole entry (`presence_diff`, or a
  // full `presence` from older servers) whenever one of their sockets comes or goes, which
  // corrects it.
  return field ? sortedUnique([...entry.editing, field]) : entry.editing;
}

function insertSorted(list, entry) {
  const rest = list.filter((e) => e.user.id !== entry.user.id);
  const at = rest.findIndex((e) => e.user.id > entry.user.id);
  return at === -1 ? [...rest, entry] : [...rest.slice(0, at), entry, ...rest.slice(at)];
}

/**
 * The presence list after `message`. Returns `list` itself when the message changes
 * nothing (not a presence message, or about a user we do not know).
 */
export function applyPresence(list, message) {
  switch (message?.type) {
    case "welcome":
    case "presence":
      return (message.presence ?? []).map(entryOf);
    case "user_joined":
      return insertSorted(list, { user: message.user, connections: message.connections, editing: [] });
    case "user_left":
      return list.some((e) => e.user.id === message.user_id) ? list.filter((e) => e.user.id !== message.user_id) : list;
    case "presence_diff": {
      let next = list;
      for (const joined of message.joins ?? []) {
        if (joined?.user?.id !== undefined) next = insertSorted(next, entryOf(joined));
      }
      const leaves = new Set(message.leaves ?? []);
      // Unknown ids are ignored (they left before we saw them); with none known, `list` stays itself.
      if (next.some((e) => leaves.has(e.user.id))) next = next.filter((e) => !leaves.has(e.user.id));
      return next;
    }
    case "editing": {
      // Unknown user: we have no name or avatar to show, and the next full list has them.
      if (!list.some((e) => e.user.id === message.user_id)) return list;
      return list.map((e) => (e.user.id === message.user_id ? { ...e, editing: withEditing(e, message.field ?? null) } : e));
    }
    default:
      return list;
  }
}
