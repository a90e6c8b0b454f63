// Avatars, for a room's presence list and for a board card.

/** "Bob" → "BO", "Ana Lima" → "AL". */
export function initials(name) {
  const parts = String(name).trim().split(/\s+/).filter(Boolean);
  const letters = parts.length > 1 ? parts[0][0] + parts[parts.length - 1][0] : (parts[0] ?? "?").slice(0, 2);
  return letters.toUpperCase();
}

export function Avatar({ user }) {
  return user.avatar_url ? (
    <img className="avatar" src={user.avatar_url} alt="" />
  ) : (
    <span className="avatar" aria-hidden="true">
      {initials(user.name)}
    </span>
  );
}

/** The people in a task's room: [{user, connections, editing}]. */
export function Presence({ presence }) {
  return (
    <ul id="presence" className="presence" aria-label="Who is here">
      {presence.map(({ user, connections, editing }) => (
        <li key={user.id} className="presence-entry" data-user-id={user.id} title={user.name}>
          <Avatar user={user} />
          <span className="visually-hidden">{user.name}</span>
          {connections > 1 && <span className="tabs">{connections} tabs</span>}
          {editing.length > 0 && (
            <span className="editing">
              {user.name} is editing {editing.join(", ")}
            </span>
          )}
        </li>
      ))}
    </ul>
  );
}
