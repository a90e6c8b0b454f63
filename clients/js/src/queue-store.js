// Where the edit queue (./edit-queue.js) keeps its entries: IndexedDB in a browser, memory
// in tests and in browsers without it; and the lock that keeps two tabs from replaying at
// once.

import { sortEntries } from "./state/queue.js";

/** Whether a transition's result differs from what it was given. */
function changedBy(before, after) {
  const prior = new Set(before);
  return after.length !== before.length || after.some((entry) => !prior.has(entry));
}

/** A queue store in memory: for tests, and for browsers without IndexedDB (nothing survives a reload). */
export function memoryStore(initial = []) {
  let rows = structuredClone(initial);
  const snapshots = new Map();
  return {
    async getSnapshot(key) {
      return snapshots.has(key) ? structuredClone(snapshots.get(key)) : null;
    },
    async putSnapshot(key, value) {
      snapshots.set(key, structuredClone(value));
    },
    async clearSnapshots() {
      snapshots.clear();
    },
    async read() {
      return sortEntries(structuredClone(rows));
    },
    async transact(transition) {
      const before = sortEntries(structuredClone(rows));
      const result = transition(before);
      rows = structuredClone(result.entries);
      return { ...result, changed: changedBy(before, result.entries) };
    },
    close() {},
  };
}

/**
 * The queue's IndexedDB store: one database per user and workspace, one object store of
 * entries keyed by entry id. `transact(transition)` reads every entry, applies the pure
 * transition and writes back only what it changed, all in one readwrite transaction, so a
 * transition is atomic across tabs. Writes ask for strict durability: an acknowledged
 * enqueue is on disk, not only in the OS cache. A second object store keeps snapshots: the
 * last copy of the tasks the UI loaded, so a page reloaded offline has something to show.
 */
export function indexedDbStore(name, idb = globalThis.indexedDB) {
  const STORE = "entries";
  const SNAPSHOTS = "snapshots";
  let opening = null;
  const open = () =>
    (opening ??= new Promise((resolve, reject) => {
      const request = idb.open(name, 2);
      request.onupgradeneeded = () => {
        const db = request.result;
        if (!db.objectStoreNames.contains(STORE)) db.createObjectStore(STORE, { keyPath: "id" });
        if (!db.objectStoreNames.contains(SNAPSHOTS)) db.createObjectStore(SNAPSHOTS);
      };
      request.onsuccess = () => {
        const db = request.result;
        // A newer page wants to upgrade the schema: let it, and reopen on next use.
        db.onversionchange = () => {
          db.close();
          opening = null;
        };
        resolve(db);
      };
      request.onerror = () => {
        opening = null;
        reject(request.error);
      };
    }));
  const run = async (mode, work, storeName = STORE) => {
    const db = await open();
    return new Promise((resolve, reject) => {
      // Snapshots are a cache: relaxed durability is enough for them.
      const durability = mode === "readwrite" && storeName === STORE ? "strict" : "relaxed";
      const tx = db.transaction(storeName, mode, { durability });
      let result;
      work(tx.objectStore(storeName), (value) => (result = value), (error) => {
        reject(error);
        tx.abort();
      });
      tx.oncomplete = () => resolve(result);
      tx.onabort = () => reject(tx.error ?? new Error("the queue's transaction was aborted"));
    });
  };
  return {
    read: () =>
      run("readonly", (store, done) => {
        const all = store.getAll();
        all.onsuccess = () => done(sortEntries(all.result));
      }),
    transact: (transition) =>
      run("readwrite", (store, done, fail) => {
        const all = store.getAll();
        all.onsuccess = () => {
          const before = sortEntries(all.result);
          let result;
          try {
            result = transition(before);
          } catch (error) {
            fail(error);
            return;
          }
          const kept = new Set(result.entries.map((e) => e.id));
          const prior = new Set(before);
          for (const entry of before) if (!kept.has(entry.id)) store.delete(entry.id);
          for (const entry of result.entries) if (!prior.has(entry)) store.put(entry);
          done({ ...result, changed: changedBy(before, result.entries) });
        };
      }),
    getSnapshot: (key) =>
      run(
        "readonly",
        (store, done) => {
          const got = store.get(key);
          got.onsuccess = () => done(got.result ?? null);
        },
        SNAPSHOTS,
      ),
    putSnapshot: (key, value) => run("readwrite", (store) => store.put(value, key), SNAPSHOTS),
    clearSnapshots: () => run("readwrite", (store) => store.clear(), SNAPSHOTS),
    close() {
      opening?.then((db) => db.close()).catch(() => {});
      opening = null;
    },
  };
}

// Web Locks where the browser has them (secure contexts); otherwise one tab's own mutex.
export function lockRunner(locks, name) {
  if (typeof locks?.request === "function") return (work) => locks.request(name, { mode: "exclusive" }, work);
  let tail = Promise.resolve();
  return (work) => {
    const run = tail.then(work, work);
    tail = run.catch(() => {});
    return run;
  };
}

