// A jsdom window as the globals React and Testing Library expect. Import this first: it
// must run before react-dom is loaded.
import { JSDOM } from "jsdom";

const dom = new JSDOM("<!doctype html><html><body></body></html>", { url: "http://127.0.0.1/", pretendToBeVisual: true });
const { window } = dom;

globalThis.window = window;
globalThis.document = window.document;
for (const name of ["navigator", "HTMLElement", "HTMLInputElement", "HTMLTextAreaElement", "Element", "Node", "Text", "DocumentFragment", "Event", "KeyboardEvent", "MouseEvent", "FocusEvent", "InputEvent", "MutationObserver"]) {
  if (!(name in globalThis)) Object.defineProperty(globalThis, name, { value: window[name], configurable: true, writable: true });
}
globalThis.getComputedStyle = window.getComputedStyle.bind(window);
// Testing Library's act() environment.
globalThis.IS_REACT_ACT_ENVIRONMENT = true;

export { window };
