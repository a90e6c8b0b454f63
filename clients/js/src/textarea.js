// A <textarea> (or <input>) bound to a Y.Text, both ways:
//
//   const unbind = bindTextarea(textarea, handle.text);   // handle from openTaskDoc
//
// - Local input becomes the one minimal edit that explains it (common prefix and suffix,
//   placed at the caret: ./state/text.js diffText), applied to the Y.Text in one
//   transaction, so a keystroke is one insert and the other editors see exactly it.
// - A remote edit rewrites the control's value and moves the caret and selection through
//   the edit's delta (mapSelection): text others type before my caret pushes it along, text
//   they type after it leaves it alone, and the scroll position stays.
// - While an IME composes (compositionstart … compositionend), neither side touches the
//   value: remote edits wait, and the composed text goes in once, mapped through them.
//
// `options.readOnly`: remote edits show, local input is undone (a viewer, whose updates the
// server refuses). `options.onLocalEdit(edit)`: told after each local edit went in.
// Returns a function that unbinds (listeners and observer off; the value stays).

import { diffText, isEmptyEdit, mapPosition, mapSelection } from "./state/text.js";

export function bindTextarea(textarea, ytext, options = {}) {
  const origin = { binding: "textarea" }; // our own transactions, told apart in the observer
  let shown = ytext.toString(); // what the control held after our last sync with it
  let composing = false;
  let waiting = []; // deltas of remote edits that arrived while composing

  const selection = () => ({ start: textarea.selectionStart ?? 0, end: textarea.selectionEnd ?? 0, direction: textarea.selectionDirection ?? "none" });

  /** Writes `value` into the control, the selection placed at `at` (mapped), the scroll kept. */
  function show(value, at) {
    const { scrollTop, scrollLeft } = textarea;
    textarea.value = value;
    shown = value;
    if (at) textarea.setSelectionRange(at.start, at.end, at.direction);
    textarea.scrollTop = scrollTop;
    textarea.scrollLeft = scrollLeft;
  }

  /** The control's value differs from `shown`: apply that as one edit (mapped through `deltas`). */
  function takeLocal(deltas = []) {
    const value = textarea.value;
    if (value === shown && deltas.length === 0) return;
    if (options.readOnly) {
      show(ytext.toString(), null);
      return;
    }
    const edit = diffText(shown, value, textarea.selectionEnd ?? value.length);
    if (isEmptyEdit(edit) && deltas.length === 0) return;
    // Through the remote edits that came in meanwhile (composition): where the edit now goes.
    let start = edit.index;
    let end = edit.index + edit.remove;
    for (const delta of deltas) {
      start = mapPosition(start, delta, true);
      end = Math.max(start, mapPosition(end, delta, false));
    }
    if (!isEmptyEdit(edit)) {
      ytext.doc.transact(() => {
        if (end > start) ytext.delete(start, end - start);
        if (edit.insert) ytext.insert(start, edit.insert);
      }, origin);
    }
    const caret = start + edit.insert.length;
    if (ytext.toString() !== value) show(ytext.toString(), { start: caret, end: caret, direction: "none" });
    else shown = value;
    if (!isEmptyEdit(edit)) options.onLocalEdit?.({ index: start, remove: end - start, insert: edit.insert });
  }

  const onInput = () => {
    if (!composing) takeLocal();
  };
  const onCompositionStart = () => {
    composing = true;
  };
  const onCompositionEnd = () => {
    composing = false;
    const deltas = waiting;
    waiting = [];
    takeLocal(deltas);
  };

  function observer(event, transaction) {
    if (transaction.origin === origin) return;
    if (composing) {
      waiting.push(event.delta);
      return;
    }
    // Anything typed but not yet taken (an input event still on its way) goes in, mapped
    // through this edit, and the caret follows it.
    if (textarea.value !== shown) {
      takeLocal([event.delta]);
      return;
    }
    const at = selection();
    const mapped = mapSelection(at, event.delta);
    show(ytext.toString(), { ...mapped, direction: at.direction });
  }

  textarea.value = shown;
  textarea.addEventListener("input", onInput);
  textarea.addEventListener("compositionstart", onCompositionStart);
  textarea.addEventListener("compositionend", onCompositionEnd);
  ytext.observe(observer);
  return function unbind() {
    textarea.removeEventListener("input", onInput);
    textarea.removeEventListener("compositionstart", onCompositionStart);
    textarea.removeEventListener("compositionend", onCompositionEnd);
    ytext.unobserve(observer);
  };
}
