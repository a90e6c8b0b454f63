// The REST API: a small client for the CRUD calls, its two errors, and how every part of
// the client finds the token, the server and fetch in its options.

/** A 412 from the API: `current` is the task as the server has it now. */
export class ConflictError extends Error {
  constructor(problem) {
    super(problem.detail || "the task changed since you loaded it");
    this.name = "ConflictError";
    this.current = problem.current ?? null;
    this.problem = problem;
  }
}

/** Any other non-2xx answer, with the problem+json body. */
export class ApiError extends Error {
  constructor(status, problem) {
    super(problem?.detail || `HTTP ${status}`);
    this.name = "ApiError";
    this.status = status;
    this.problem = problem;
  }
}

/** The token: `getToken()` asked afresh on every call, or the fixed `token`. */
export async function resolveToken(options) {
  if (typeof options.getToken === "function") return await options.getToken();
  if (options.token) return options.token;
  throw new Error("pass {token} or {getToken}");
}

/** The server's origin: `baseUrl`, else the page's. */
export function baseOf(options) {
  return (options.baseUrl ?? globalThis.location?.origin ?? "").replace(/\/$/, "");
}

/** `options.fetch`, else the global one (looked up at call time). */
export function fetchOf(options) {
  return options.fetch ?? ((...args) => globalThis.fetch(...args));
}

function query(params) {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params ?? {})) {
    if (value !== undefined && value !== null && value !== "") search.set(key, String(value));
  }
  const text = search.toString();
  return text ? `?${text}` : "";
}

/** REST helper for the CRUD calls. Every method returns parsed JSON or throws. */
export function restClient(options = {}) {
  const base = baseOf(options);
  const fetchImpl = fetchOf(options);
  async function call(method, path, { body, ifMatch, contentType, idempotencyKey } = {}) {
    const headers = { Authorization: `Bearer ${await resolveToken(options)}` };
    if (body !== undefined) headers["Content-Type"] = contentType ?? "application/json";
    if (ifMatch !== undefined && ifMatch !== null) headers["If-Match"] = `"${ifMatch}"`;
    if (idempotencyKey) headers["Idempotency-Key"] = idempotencyKey;
    const response = await fetchImpl(base + path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (response.status === 204) return null;
    const payload = await response.json().catch(() => null);
    if (response.status === 412) throw new ConflictError(payload ?? {});
    if (!response.ok) throw new ApiError(response.status, payload);
    return payload;
  }
  const task = (id) => `/api/tasks/${encodeURIComponent(id)}`;
  return {
    list: (params) => call("GET", `/api/tasks${query(params)}`),
    get: (id) => call("GET", task(id)),
    /** Pass {idempotencyKey} to make a retry safe: the server answers a repeat with the first response. */
    create: (fields, { idempotencyKey } = {}) => call("POST", "/api/tasks", { body: fields, idempotencyKey }),
    /** JSON merge patch; pass {ifMatch: version} to refuse if someone else wrote first. */
    update: (id, patch, { ifMatch, idempotencyKey } = {}) =>
      call("PATCH", task(id), { body: patch, ifMatch, idempotencyKey, contentType: "application/merge-patch+json" }),
    remove: (id, { ifMatch, idempotencyKey } = {}) => call("DELETE", task(id), { ifMatch, idempotencyKey }),
    activity: (id, params) => call("GET", `${task(id)}/activity${query(params)}`),
    analytics: () => call("GET", "/api/analytics"),
  };
}
