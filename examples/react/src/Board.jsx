// The board: the workspace's tasks, live, with who is in each task's room, the analytics,
// and a create form that goes through the edit queue (so it works offline too).
import { useState } from "react";
import { useBoard, useEditQueue } from "@hero-tasks/client/react";
import { Avatar } from "./People.jsx";

export function Board({ me }) {
  const { tasks, analytics, taskPresence, status, closed } = useBoard();
  const queue = useEditQueue(me);
  const [title, setTitle] = useState("");
  const [error, setError] = useState("");

  async function create(event) {
    event.preventDefault();
    try {
      await queue.create({ title });
      setTitle("");
      setError("");
    } catch (problem) {
      setError(problem.message);
    }
  }

  return (
    <section aria-labelledby="board-title">
      <h1 id="board-title">Tasks</h1>
      {analytics && (
        <p id="analytics" className="analytics">
          {analytics.total} tasks · {analytics.by_status?.done ?? 0} done · {analytics.overdue ?? 0} overdue
        </p>
      )}
      {closed && <p className="notice">Disconnected: {closed.reason}</p>}
      <form id="create-form" className="create" onSubmit={create}>
        <label htmlFor="new-title">New task</label>
        <input id="new-title" value={title} onChange={(e) => setTitle(e.target.value)} required maxLength={200} />
        <button type="submit">Create</button>
      </form>
      <p className="error" role="alert">
        {error}
      </p>
      <ul id="task-list" className="task-list" aria-busy={status !== "open"}>
        {queue.overlayList([...tasks]).map((task) => (
          <li key={task.id} className="task-item" data-task-id={task.id} data-status={task.status}>
            <a className="task-title" href={`#/tasks/${encodeURIComponent(task.id)}`}>
              {task.title}
            </a>
            <span className="task-meta">
              {task.status} · {task.priority}
              {task.pending && " · not synced yet"}
            </span>
            {taskPresence[task.id] && (
              <ul className="card-presence" aria-label="Viewing now">
                {taskPresence[task.id].map((user) => (
                  <li key={user.id} data-user-id={user.id} title={user.name}>
                    <Avatar user={user} />
                  </li>
                ))}
              </ul>
            )}
          </li>
        ))}
      </ul>
    </section>
  );
}
