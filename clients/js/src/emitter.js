// A tiny event emitter: `on` returns its own unsubscribe, and a handler that throws is
// logged without stopping the others.

export function createEmitter() {
  const handlers = new Map();
  return {
    on(type, handler) {
      if (!handlers.has(type)) handlers.set(type, new Set());
      handlers.get(type).add(handler);
      return () => handlers.get(type)?.delete(handler);
    },
    emit(type, value) {
      for (const handler of handlers.get(type) ?? []) {
        try {
          handler(value);
        } catch (error) {
          console.error(`hero-client: a ${type} handler threw`, error);
        }
      }
    },
  };
}
