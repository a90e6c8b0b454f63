// The requests the edit queue (./edit-queue.js) makes: an entry sent as its REST call, with
// its Idempotency-Key and If-Match and a time limit, and the reads a 412 needs (the task
// now, and who changed each field from its activity log).

import { ApiError, baseOf, fetchOf, resolveToken } from "./rest.js";
import { whoChanged } from "./state/merge.js";

/** `options`: the queue's (getToken | token, baseUrl, fetch); `timers`, and the QUEUE limits it needs. */
export function createQueueRequests(options, { timers, requestTimeoutMs, activityPage }) {
  const base = baseOf(options);
  const fetchImpl = fetchOf(options);

  async function send(entry) {
    let token;
    try {
      token = await resolveToken(options);
    } catch {
      return { status: 401, body: null };
    }
    const headers = { Authorization: `Bearer ${token}`, "Idempotency-Key": entry.key };
    const id = encodeURIComponent(entry.taskId);
    let method = "POST";
    let path = "/api/tasks";
    let body;
    if (entry.kind === "create") {
      headers["Content-Type"] = "application/json";
      body = JSON.stringify(entry.patch);
    } else {
      method = entry.kind === "update" ? "PATCH" : "DELETE";
      path = `/api/tasks/${id}`;
      if (entry.base.version !== null) headers["If-Match"] = `"${entry.base.version}"`;
      if (entry.kind === "update") {
        headers["Content-Type"] = "application/merge-patch+json";
        body = JSON.stringify(entry.patch);
      }
    }
    const controller = typeof AbortController === "function" ? new AbortController() : null;
    const timer = timers.setTimeout(() => controller?.abort(), requestTimeoutMs);
    try {
      const response = await fetchImpl(base + path, { method, headers, body, signal: controller?.signal });
      const payload = response.status === 204 ? null : await response.json().catch(() => null);
      const header = (h) => response.headers?.get?.(h) ?? null;
      const retryAfter = header("Retry-After");
      return {
        status: response.status,
        body: payload,
        retryAfter: retryAfter === null ? null : Number(retryAfter),
        replayed: header("Idempotent-Replayed") === "true",
      };
    } catch {
      return null; // no answer: offline, refused connection, timed out
    } finally {
      timers.clearTimeout(timer);
    }
  }

  async function getJson(path) {
    const response = await fetchImpl(base + path, { headers: { Authorization: `Bearer ${await resolveToken(options)}` } });
    if (!response.ok) throw new ApiError(response.status, await response.json().catch(() => null));
    return response.json();
  }

  // Who set each field to what they have now: the task's activity log names the writer of
  // every version and the fields it changed, which holds even for changes made while this
  // browser was offline. Unknown (null) if it cannot be read.
  async function whoChangedEach(taskId, sinceVersion, fields) {
    try {
      const page = await getJson(`/api/tasks/${encodeURIComponent(taskId)}/activity?limit=${activityPage}`);
      return Object.fromEntries(fields.map((field) => [field, whoChanged(page.activity, sinceVersion, field)]));
    } catch {
      return {};
    }
  }

  return { send, getJson, whoChangedEach };
}
