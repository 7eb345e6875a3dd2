// The management API: JSON in and out, the ID token as a bearer, an Idempotency-Key on
// every POST and PUT. Errors arrive as ApiError (status, code, message, field).
import { idToken } from "./session.js";

let base = "";
let onSessionEnded = () => {};

export function configure(cfg, sessionEnded) {
  base = (cfg.apiBase || "").replace(/\/$/, "");
  onSessionEnded = sessionEnded;
}

export class ApiError extends Error {
  constructor(status, code, message, field) {
    super(message);
    this.status = status;
    this.code = code;
    this.field = field || null;
  }
}

/** A fresh Idempotency-Key: one per opened form or confirmation, reused by its resubmissions. */
export function newIdempotencyKey() {
  if (crypto.randomUUID) return crypto.randomUUID();
  return Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, "0")).join("");
}

export async function request(method, path, { body, idempotencyKey, query, csvBody, csvAnswer } = {}) {
  const token = await idToken();
  if (!token) {
    onSessionEnded();
    throw new ApiError(401, "unauthorized", "Your session has ended. Sign in again.");
  }
  const headers = { Authorization: `Bearer ${token}`, Accept: csvAnswer ? "text/csv, application/json" : "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (csvBody !== undefined) headers["Content-Type"] = "text/csv";
  if (idempotencyKey) headers["Idempotency-Key"] = idempotencyKey;
  let url = base + path;
  if (query) {
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== null && v !== "") params.set(k, v);
    const qs = params.toString();
    if (qs) url += `?${qs}`;
  }
  let response;
  try {
    const sent = csvBody !== undefined ? csvBody : body === undefined ? undefined : JSON.stringify(body);
    response = await fetch(url, { method, headers, body: sent });
  } catch {
    throw new ApiError(0, "network", "The server cannot be reached. Check the connection and try again.");
  }
  // An export's page: CSV text and the next page's cursor, if any.
  if (csvAnswer && response.ok) return { text: await response.text(), next: response.headers.get("x-next-cursor") };
  const data = await response.json().catch(() => null);
  if (response.status === 401) {
    onSessionEnded();
    throw new ApiError(401, "unauthorized", "Your session has ended. Sign in again.");
  }
  if (!response.ok) {
    const e = (data && data.error) || {};
    const message = e.message || `The server answered ${response.status}.`;
    const withId = e.request_id ? `${message} (request ${e.request_id})` : message;
    throw new ApiError(response.status, e.code || "error", withId, e.field);
  }
  return data;
}

const enc = encodeURIComponent;

export const api = {
  keys: () => request("GET", "/v1/admin/keys"),
  issueKey: (body, idempotencyKey) => request("POST", "/v1/admin/keys", { body, idempotencyKey }),
  keyScopes: (id, scopes, idempotencyKey) =>
    request("POST", `/v1/admin/keys/${enc(id)}/scopes`, { body: { scopes }, idempotencyKey }),
  revokeKey: (id, idempotencyKey) => request("POST", `/v1/admin/keys/${enc(id)}/revoke`, { body: {}, idempotencyKey }),
  rotateKey: (id, idempotencyKey) => request("POST", `/v1/admin/keys/${enc(id)}/rotate`, { body: {}, idempotencyKey }),

  rewards: () => request("GET", "/v1/admin/rewards"),
  addReward: (body, idempotencyKey) => request("POST", "/v1/admin/rewards", { body, idempotencyKey }),
  editReward: (id, body, idempotencyKey) => request("PUT", `/v1/admin/rewards/${enc(id)}`, { body, idempotencyKey }),
  archiveReward: (id, idempotencyKey) =>
    request("POST", `/v1/admin/rewards/${enc(id)}/archive`, { body: {}, idempotencyKey }),

  findMembers: (q) => request("GET", "/v1/admin/members", { query: { q } }),
  member: (id) => request("GET", `/v1/admin/members/${enc(id)}`),
  editMember: (id, body, idempotencyKey) => request("PUT", `/v1/admin/members/${enc(id)}`, { body, idempotencyKey }),
  eraseMember: (id, idempotencyKey) =>
    request("POST", `/v1/admin/members/${enc(id)}/erase`, { body: {}, idempotencyKey }),
  history: (id, cursor) =>
    request("GET", `/v1/admin/members/${enc(id)}/history`, { query: { limit: 20, cursor } }),
  adjust: (id, body, idempotencyKey) =>
    request("POST", `/v1/admin/members/${enc(id)}/adjustments`, { body, idempotencyKey }),
  issueCoupon: (id, body, idempotencyKey) =>
    request("POST", `/v1/admin/members/${enc(id)}/coupons`, { body, idempotencyKey }),

  campaigns: () => request("GET", "/v1/admin/campaigns"),
  createCampaign: (body, idempotencyKey) => request("POST", "/v1/admin/campaigns", { body, idempotencyKey }),
  campaign: (id) => request("GET", `/v1/admin/campaigns/${enc(id)}`),
  runCampaign: (id) => request("POST", `/v1/admin/campaigns/${enc(id)}/run`, { body: {} }),

  webhooks: () => request("GET", "/v1/admin/webhooks"),
  addWebhook: (body, idempotencyKey) => request("POST", "/v1/admin/webhooks", { body, idempotencyKey }),
  rotateWebhook: (id, idempotencyKey) =>
    request("POST", `/v1/admin/webhooks/${enc(id)}/rotate`, { body: {}, idempotencyKey }),
  disableWebhook: (id, idempotencyKey) =>
    request("POST", `/v1/admin/webhooks/${enc(id)}/disable`, { body: {}, idempotencyKey }),
  enableWebhook: (id, idempotencyKey) =>
    request("POST", `/v1/admin/webhooks/${enc(id)}/enable`, { body: {}, idempotencyKey }),
  removeWebhook: (id, idempotencyKey) =>
    request("POST", `/v1/admin/webhooks/${enc(id)}/remove`, { body: {}, idempotencyKey }),
  testWebhook: (id) => request("POST", `/v1/admin/webhooks/${enc(id)}/test`, { body: {} }),
  webhookDeliveries: (id) => request("GET", `/v1/admin/webhooks/${enc(id)}/deliveries`),
  replayWebhook: (id, eventId) =>
    request("POST", `/v1/admin/webhooks/${enc(id)}/replay`, { body: eventId ? { event_id: eventId } : {} }),

  program: () => request("GET", "/v1/admin/program"),
  changeProgram: (body, idempotencyKey) => request("POST", "/v1/admin/program/versions", { body, idempotencyKey }),
  team: () => request("GET", "/v1/admin/team"),
  invitePerson: (body, idempotencyKey) => request("POST", "/v1/admin/team", { body, idempotencyKey }),
  changeRole: (email, body, idempotencyKey) => request("PUT", `/v1/admin/team/${enc(email)}`, { body, idempotencyKey }),
  removePerson: (email, idempotencyKey) => request("DELETE", `/v1/admin/team/${enc(email)}`, { idempotencyKey }),
  dailyReport: (from, to) => request("GET", "/v1/admin/reports/daily", { query: { from, to } }),

  exportMembers: (cursor) => request("GET", "/v1/admin/members/export", { query: { cursor }, csvAnswer: true }),
  exportLedger: (from, to, cursor) =>
    request("GET", "/v1/admin/ledger/export", { query: { from, to, cursor }, csvAnswer: true }),
  importMembers: (csv) => request("POST", "/v1/admin/members/import", { csvBody: csv }),

  audit: (cursor) => request("GET", "/v1/admin/audit", { query: { limit: 20, cursor } }),
};
