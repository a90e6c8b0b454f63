// The clock and timers every part of the client takes from its options, so tests can pass
// fakes. Each default reads the global only when called: importing the client touches
// nothing.

export const defaultTimers = Object.freeze({
  now: () => Date.now(),
  setTimeout: (fn, ms) => globalThis.setTimeout(fn, ms),
  clearTimeout: (id) => globalThis.clearTimeout(id),
  setInterval: (fn, ms) => globalThis.setInterval(fn, ms),
  clearInterval: (id) => globalThis.clearInterval(id),
});

/** The defaults with whatever `options.timers` replaces. */
export const timersOf = (options) => ({ ...defaultTimers, ...options?.timers });

/** The browser says it is offline (`navigator.onLine === false`); true anywhere else. */
export const browserOnline = () => globalThis.navigator?.onLine !== false;
