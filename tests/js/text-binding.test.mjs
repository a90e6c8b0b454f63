// The textarea binding (clients/js/src/textarea.js) and its pure halves
// (clients/js/src/state/text.js): local input as one minimal edit placed at the caret, and
// the caret and selection moved through someone else's edit. The binding runs on a jsdom
// textarea with two Y.Docs synced by hand, as two browsers would be by the server.
import { window } from "./support/dom.mjs";
import { test } from "node:test";
import assert from "node:assert/strict";
import * as Y from "yjs";

import { bindTextarea, diffText, mapPosition, mapSelection } from "../../clients/js/src/index.js";

// ---- diffText --------------------------------------------------------------------------

test("diffText: one typed character is one insert, one deleted character one delete", () => {
  assert.deepEqual(diffText("helo", "hello", 4), { index: 3, remove: 0, insert: "l" });
  assert.deepEqual(diffText("hello", "helo", 3), { index: 3, remove: 1, insert: "" });
  assert.deepEqual(diffText("same", "same", 2), { index: 2, remove: 0, insert: "" });
  assert.deepEqual(diffText("", "abc", 3), { index: 0, remove: 0, insert: "abc" });
  assert.deepEqual(diffText("abc", "", 0), { index: 0, remove: 3, insert: "" });
});

test("diffText: a paste over a selection is one replace of just the changed middle", () => {
  assert.deepEqual(diffText("the red fox", "the blue fox", 8), { index: 4, remove: 3, insert: "blue" });
  // A whole new value set at once (the caret at the end): only the middle that differs.
  assert.deepEqual(diffText("one two three", "one 2 three"), { index: 4, remove: 3, insert: "2" });
});

test("diffText: the caret picks the place among equal characters", () => {
  // "aa" → "aaa" typed after the first "a": the caret is at 2, the insert at 1.
  assert.deepEqual(diffText("aa", "aaa", 2), { index: 1, remove: 0, insert: "a" });
  assert.deepEqual(diffText("aa", "aaa", 1), { index: 0, remove: 0, insert: "a" });
  assert.deepEqual(diffText("aa", "aaa", 3), { index: 2, remove: 0, insert: "a" });
  // Backspace in "aaa" at 2 (the caret ends at 1): the second "a" goes.
  assert.deepEqual(diffText("aaa", "aa", 1), { index: 1, remove: 1, insert: "" });
  // A newline typed between two newlines.
  assert.deepEqual(diffText("x\n\ny", "x\n\n\ny", 3), { index: 2, remove: 0, insert: "\n" });
});

test("diffText: a wrong caret still gives a correct (if longer) edit", () => {
  for (const [before, after, caret] of [["abcabc", "abXcabc", 0], ["hello world", "hello, world", 11], ["aaaa", "aa", 4]]) {
    const { index, remove, insert } = diffText(before, after, caret);
    assert.equal(before.slice(0, index) + insert + before.slice(index + remove), after, `${before} → ${after} @${caret}`);
  }
});

test("diffText: never splits a surrogate pair", () => {
  // 😀 is \ud83d\ude00 and 😁 is \ud83d\ude01: they share the high surrogate.
  const edit = diffText("a😀b", "a😁b", 3);
  assert.deepEqual(edit, { index: 1, remove: 2, insert: "😁" });
  const tail = diffText("x😀", "x😀😀", 5);
  assert.equal(tail.insert, "😀");
  assert.equal(tail.index % 1, 0);
  assert.ok(!/^[\udc00-\udfff]/.test(tail.insert), "the insert does not start with a low surrogate");
});

test("diffText over random edits: applying the edit always gives the new text", () => {
  let seed = 7;
  const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const alphabet = "ab \n😀";
  const pick = (n) => Array.from({ length: n }, () => [...alphabet][Math.floor(random() * 5)]).join("");
  for (let i = 0; i < 500; i += 1) {
    const before = pick(Math.floor(random() * 8));
    const at = Math.floor(random() * (before.length + 1));
    const cut = Math.floor(random() * (before.length - at + 1));
    const typed = pick(Math.floor(random() * 3));
    let after = before.slice(0, at) + typed + before.slice(at + cut);
    if (after.length > 0 && /[\ud800-\udbff]$/.test(after)) after = after.slice(0, -1);
    const { index, remove, insert } = diffText(before, after, at + typed.length);
    assert.equal(before.slice(0, index) + insert + before.slice(index + remove), after, JSON.stringify({ before, after }));
  }
});

// ---- mapPosition -----------------------------------------------------------------------

test("mapPosition: inserts and deletes before a position move it; after it, they do not", () => {
  assert.equal(mapPosition(5, [{ insert: "abc" }]), 8, "insert at the start");
  assert.equal(mapPosition(5, [{ retain: 2 }, { insert: "xy" }]), 7, "insert before");
  assert.equal(mapPosition(5, [{ retain: 6 }, { insert: "xy" }]), 5, "insert after");
  assert.equal(mapPosition(5, [{ retain: 1 }, { delete: 2 }]), 3, "delete before");
  assert.equal(mapPosition(5, [{ retain: 7 }, { delete: 2 }]), 5, "delete after");
  assert.equal(mapPosition(5, [{ retain: 3 }, { delete: 4 }]), 3, "a delete over it leaves it at its start");
  assert.equal(mapPosition(5, [{ retain: 1 }, { delete: 1 }, { retain: 1 }, { insert: "long" }]), 8, "several ops");
});

test("mapPosition: an insert exactly at the position pushes a caret, not the end of a selection", () => {
  assert.equal(mapPosition(4, [{ retain: 4 }, { insert: "zz" }], true), 6);
  assert.equal(mapPosition(4, [{ retain: 4 }, { insert: "zz" }], false), 4);
  assert.deepEqual(mapSelection({ start: 4, end: 4 }, [{ retain: 4 }, { insert: "zz" }]), { start: 6, end: 6 });
  // A selection [2, 6): text inserted at either end stays outside it.
  assert.deepEqual(mapSelection({ start: 2, end: 6 }, [{ retain: 2 }, { insert: "A" }, { retain: 4 }, { insert: "B" }]), { start: 3, end: 7 });
});

// ---- bindTextarea ----------------------------------------------------------------------

/** Two docs that relay every update to each other, as the server would. */
function pair() {
  const a = new Y.Doc();
  const b = new Y.Doc();
  a.on("update", (u, origin) => origin !== "relay" && Y.applyUpdate(b, u, "relay"));
  b.on("update", (u, origin) => origin !== "relay" && Y.applyUpdate(a, u, "relay"));
  return [a, b];
}

function textarea() {
  const element = window.document.createElement("textarea");
  window.document.body.append(element);
  element.focus();
  return element;
}

/** Types `what` at the caret as a browser does: the value changes, the caret moves, `input` fires. */
function type(element, what) {
  const { selectionStart: start, selectionEnd: end, value } = element;
  element.value = value.slice(0, start) + what + value.slice(end);
  element.setSelectionRange(start + what.length, start + what.length);
  element.dispatchEvent(new window.Event("input", { bubbles: true }));
}

test("bindTextarea: typing becomes minimal Y.Text edits that the other doc sees", (t) => {
  const [a, b] = pair();
  a.getText("description").insert(0, "first draft");
  const element = textarea();
  const unbind = bindTextarea(element, a.getText("description"));
  t.after(() => {
    unbind();
    element.remove();
  });
  assert.equal(element.value, "first draft", "the control starts with the text");
  const edits = [];
  a.getText("description").observe((event) => edits.push(event.delta));
  element.setSelectionRange(5, 5);
  type(element, "ish");
  assert.equal(b.getText("description").toString(), "firstish draft");
  assert.deepEqual(edits.at(-1), [{ retain: 5 }, { insert: "ish" }], "one insert at the caret, nothing else");
  element.setSelectionRange(0, 8);
  type(element, "A");
  assert.equal(b.getText("description").toString(), "A draft");
  assert.deepEqual(edits.at(-1), [{ delete: 8 }, { insert: "A" }]);
});

test("bindTextarea: someone typing before my caret moves it along; after it, it stays", (t) => {
  const [a, b] = pair();
  const theirs = b.getText("description");
  a.getText("description").insert(0, "hello world");
  const element = textarea();
  const unbind = bindTextarea(element, a.getText("description"));
  t.after(() => {
    unbind();
    element.remove();
  });
  element.setSelectionRange(6, 6); // before "world"
  theirs.insert(0, ">> ");
  assert.equal(element.value, ">> hello world");
  assert.deepEqual([element.selectionStart, element.selectionEnd], [9, 9], "pushed by the 3 characters typed before it");
  theirs.insert(element.value.length, "!");
  assert.deepEqual([element.selectionStart, element.selectionEnd], [9, 9], "text after the caret leaves it");
  theirs.delete(0, 3);
  assert.deepEqual([element.selectionStart, element.selectionEnd], [6, 6], "text deleted before it pulls it back");
  // A selection over "world": an edit before it moves both ends.
  element.setSelectionRange(6, 11);
  theirs.insert(0, "Oh, ");
  assert.equal(element.value.slice(element.selectionStart, element.selectionEnd), "world");
  // And I keep typing where my caret is: both docs agree.
  element.setSelectionRange(element.value.length, element.value.length);
  type(element, "?");
  assert.equal(theirs.toString(), "Oh, hello world!?");
  assert.equal(a.getText("description").toString(), theirs.toString());
});

test("bindTextarea: two people typing at once at different places converge, every keystroke kept", (t) => {
  const [a, b] = pair();
  a.getText("description").insert(0, "start|end");
  const left = textarea();
  const right = textarea();
  const unbindLeft = bindTextarea(left, a.getText("description"));
  const unbindRight = bindTextarea(right, b.getText("description"));
  t.after(() => {
    unbindLeft();
    unbindRight();
    left.remove();
    right.remove();
  });
  left.setSelectionRange(5, 5);
  right.setSelectionRange(9, 9);
  for (const [l, r] of [["a", "1"], ["b", "2"], ["c", "3"]]) {
    left.focus();
    type(left, l);
    right.focus();
    type(right, r);
  }
  assert.equal(left.value, "startabc|end123");
  assert.equal(right.value, left.value);
});

test("bindTextarea: an IME composition goes in once, mapped through edits that came meanwhile", (t) => {
  const [a, b] = pair();
  a.getText("description").insert(0, "abc");
  const element = textarea();
  const unbind = bindTextarea(element, a.getText("description"));
  t.after(() => {
    unbind();
    element.remove();
  });
  element.setSelectionRange(3, 3);
  element.dispatchEvent(new window.Event("compositionstart"));
  type(element, "に");
  assert.equal(b.getText("description").toString(), "abc", "nothing sent mid-composition");
  b.getText("description").insert(0, "X");
  assert.equal(element.value, "abcに", "the control is left alone while composing");
  element.dispatchEvent(new window.Event("compositionend"));
  assert.equal(b.getText("description").toString(), "Xabcに");
  assert.equal(element.value, "Xabcに");
  assert.equal(element.selectionStart, 5);
});

test("bindTextarea: read-only shows remote edits and undoes local input; unbind stops both", () => {
  const [a, b] = pair();
  a.getText("description").insert(0, "read me");
  const element = textarea();
  const unbind = bindTextarea(element, a.getText("description"), { readOnly: true });
  type(element, "no");
  assert.equal(element.value, "read me");
  assert.equal(b.getText("description").toString(), "read me");
  b.getText("description").insert(7, "!");
  assert.equal(element.value, "read me!");
  unbind();
  b.getText("description").insert(0, "x");
  assert.equal(element.value, "read me!", "unbound: remote edits no longer shown");
  element.remove();
});
