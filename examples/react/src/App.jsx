// The example app: sign in, then the board (#/) or a task (#/tasks/<id>). Everything live
// comes from @hero-tasks/client/react; nothing here opens a socket by itself.
import { useState } from "react";
import { useConnectionStatus } from "@hero-tasks/client/react";
import { Board } from "./Board.jsx";
import { TaskView } from "./TaskView.jsx";
import { SignIn } from "./SignIn.jsx";
import { useRoute } from "./route.js";
import { clearToken, readToken, saveToken, whoIs } from "./session.js";

const STATUS_TEXT = { idle: "…", connecting: "connecting…", open: "live", reconnecting: "reconnecting…", offline: "offline", closed: "disconnected" };

function ConnectionBadge({ room }) {
  const status = useConnectionStatus(room);
  return (
    <span id="connection" className="badge" role="status" data-status={status}>
      {STATUS_TEXT[status] ?? status}
    </span>
  );
}

export function App() {
  const [token, setToken] = useState(readToken);
  const route = useRoute();
  const me = token ? whoIs(token) : null;
  if (!me) {
    return (
      <SignIn
        onToken={(next) => {
          saveToken(next);
          setToken(next);
        }}
      />
    );
  }
  const signOut = () => {
    clearToken();
    // A fresh page: every room and queue of the old user goes with it.
    window.location.assign(window.location.pathname);
  };
  return (
    <>
      <header className="topbar">
        <a className="brand" href="#/">
          Hero Tasks · React
        </a>
        <ConnectionBadge room={route.view === "task" ? route.taskId : "board"} />
        <span id="whoami">{me.name}</span>
        <button type="button" onClick={signOut}>
          Sign out
        </button>
      </header>
      <main>{route.view === "task" ? <TaskView key={route.taskId} taskId={route.taskId} me={me} /> : <Board me={me} />}</main>
    </>
  );
}
