// One task, live: who is here (avatars, "N tabs", what they edit), who is typing, the
// description as the task's shared text (everyone's keystrokes as they happen, no Save),
// and the other fields, each saved through the edit queue when it changes (selects at
// once, text on blur or Enter). Someone else's saved edit shows at once unless I am
// editing that field; a clash on the same field comes back as a conflict to settle.
import { useState } from "react";
import { useEditQueue, useFieldEditing, useSharedText, useTaskEvents, useTaskRoom, useTextareaBinding, useTyping } from "@hero-tasks/client/react";
import { Presence } from "./People.jsx";

const STATUSES = ["todo", "in_progress", "blocked", "in_review", "done"];
const PRIORITIES = ["low", "medium", "high", "critical"];

/** One field: says when I edit it and type in it, and shows who else is editing it. */
function Field({ taskId, field, label, value, onSave, children }) {
  const { editors, start, stop } = useFieldEditing(taskId, field);
  const { setTyping } = useTyping(taskId);
  const [draft, setDraft] = useState(null);
  const save = () => {
    stop();
    setTyping(field, false);
    if (draft !== null && draft !== value) onSave(draft);
    setDraft(null);
  };
  const control = children({
    id: `f-${field}`,
    name: field,
    value: draft ?? value ?? "",
    onFocus: start,
    onBlur: save,
    onChange: (event) => {
      setDraft(event.target.value);
      setTyping(field, true);
    },
    onKeyDown: (event) => {
      if (event.key === "Enter" && event.target.tagName === "INPUT") event.target.blur();
    },
  });
  return (
    <div className="field">
      <label htmlFor={`f-${field}`}>{label}</label>
      {control}
      <p className="field-hint" data-hint-for={field}>
        {editors.length > 0 && `${editors.map((user) => user.name).join(", ")} ${editors.length === 1 ? "is" : "are"} editing this`}
      </p>
    </div>
  );
}

/** The description: the task's shared text, bound to the textarea; read-only until it is ready (and for a viewer). */
function SharedDescription({ taskId, fallback, viewer }) {
  const shared = useSharedText(taskId, "description");
  const ref = useTextareaBinding(shared, { readOnly: viewer });
  const { editors, start, stop } = useFieldEditing(taskId, "description");
  const { setTyping } = useTyping(taskId);
  const state = shared.closed ? "closed" : !shared.ready ? "loading" : shared.status === "open" ? "live" : "offline";
  return (
    <div className="field">
      <label htmlFor="f-description">Description</label>
      <textarea
        id="f-description"
        ref={ref}
        rows={6}
        maxLength={10000}
        defaultValue={fallback}
        readOnly={!shared.ready || viewer}
        data-shared={state}
        onFocus={start}
        onBlur={() => {
          stop();
          setTyping("description", false);
        }}
        onInput={() => setTyping("description", true)}
      />
      <p className="field-hint" data-hint-for="description">
        {editors.length > 0 && `${editors.map((user) => user.name).join(", ")} ${editors.length === 1 ? "is" : "are"} editing this`}
        {state === "offline" && " Offline: what you type is kept here and merges when you are back."}
      </p>
    </div>
  );
}

/** A select saves as soon as it changes. */
function Choice({ taskId, field, label, value, options, onSave }) {
  const { start, stop } = useFieldEditing(taskId, field);
  return (
    <div className="field">
      <label htmlFor={`f-${field}`}>{label}</label>
      <select id={`f-${field}`} value={value ?? ""} onFocus={start} onBlur={stop} onChange={(event) => onSave(event.target.value)}>
        {options.map((option) => (
          <option key={option} value={option}>
            {option.replace("_", " ")}
          </option>
        ))}
      </select>
    </div>
  );
}

function Conflict({ entry, resolve }) {
  const fields = entry.conflict.fields;
  const pick = (side) => resolve(entry.id, Object.fromEntries(fields.map((f) => [f.field, side])));
  return (
    <div id="conflict" className="conflict" role="alertdialog" aria-labelledby="conflict-title">
      <h2 id="conflict-title">Edit conflict</h2>
      <ul>
        {fields.map((f) => (
          <li key={f.field}>
            {f.field}: mine “{String(f.mine)}”, theirs “{String(f.theirs)}” ({f.by?.name ?? "someone else"})
          </li>
        ))}
      </ul>
      <button type="button" onClick={() => pick("theirs")}>
        Take theirs
      </button>
      <button type="button" onClick={() => pick("mine")}>
        Keep mine
      </button>
    </div>
  );
}

export function TaskView({ taskId, me }) {
  const { task, status, closed, presence, typing } = useTaskRoom(taskId);
  const queue = useEditQueue(me);
  const [notice, setNotice] = useState("");
  useTaskEvents(taskId, (event) => {
    // The description's flushes to the server are already on screen, keystroke by keystroke.
    const fields = event.type === "task_updated" ? event.changed.filter((field) => field !== "description") : [];
    if (fields.length && event.actor.id !== me.userId) setNotice(`${event.actor.name} changed ${fields.join(", ")}.`);
  });
  const shown = task ? queue.overlay(task) : null;
  const conflict = queue.entries.find((e) => e.taskId === taskId && e.state === "conflict");
  const save = (field) => async (value) => {
    try {
      await queue.update(shown, { [field]: value });
    } catch (error) {
      setNotice(error.message);
    }
  };

  if (!shown) {
    return <p className="notice">{closed ? `Cannot open this task: ${closed.reason}.` : status === "open" ? "Loading…" : "Connecting…"}</p>;
  }
  return (
    <section aria-labelledby="task-heading">
      <p>
        <a href="#/">← All tasks</a>
      </p>
      <h1 id="task-heading">{shown.title}</h1>
      <div className="presence-row">
        <Presence presence={presence} />
        <p id="typing" className="typing" aria-live="polite">
          {typing.map((t) => `${t.name} is typing in ${t.field}…`).join(" ")}
        </p>
      </div>
      <p id="task-notice" className="notice" role="status">
        {closed ? `Closed: ${closed.reason}.` : notice}
      </p>
      {conflict && <Conflict entry={conflict} resolve={queue.resolve} />}
      <form id="task-form" className="task-form" onSubmit={(e) => e.preventDefault()} inert={closed ? true : undefined}>
        <Field taskId={taskId} field="title" label="Title" value={shown.title} onSave={save("title")}>
          {(props) => <input {...props} required maxLength={200} />}
        </Field>
        <SharedDescription taskId={taskId} fallback={task.description} viewer={me.role === "viewer"} />
        <div className="row">
          <Choice taskId={taskId} field="status" label="Status" value={shown.status} options={STATUSES} onSave={save("status")} />
          <Choice taskId={taskId} field="priority" label="Priority" value={shown.priority} options={PRIORITIES} onSave={save("priority")} />
        </div>
        <p className="sync">{shown.pending ? "Saving…" : `Version ${shown.version}`}</p>
      </form>
    </section>
  );
}
