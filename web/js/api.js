// The billing API over fetch: one function per route of the contract, errors as ApiError.
import config from "../config.js";

const BASE = String(config.apiBaseUrl ?? "").replace(/\/+$/, "");
const SESSION_KEY = "billing.session";

/** An error answered by the API: {"error": {"code", "message", "details"}}. */
export class ApiError extends Error {
  constructor(status, code, message, details = {}) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.details = details ?? {};
  }

  /** Field messages keyed by the request's field path ("amount", "billing.country"). */
  get fieldErrors() {
    const fields = this.details.fields;
    if (fields && typeof fields === "object") return fields;
    // Tolerate a flat {field: message} details object too.
    return Object.fromEntries(Object.entries(this.details).filter(([, v]) => typeof v === "string"));
  }
}

// Session -------------------------------------------------------------------------------------

const REFRESH_AHEAD_MS = 60_000; // refresh this long before the access token expires
const REFRESH_LOCK = "billing.refresh";
let lapsed = false; // a stored session was found expired with nothing to renew it, not yet told

/**
 * The signed-in user, the access token (15 minutes) and the refresh token, kept in localStorage
 * so email links open signed in. The session lasts while its refresh token does: the client gets
 * a new pair shortly before the access token expires (and once on a 401 token_expired), so a
 * user never sees the expiry. Every tab shares the one session.
 */
export const session = {
  get saved() {
    try {
      const saved = JSON.parse(localStorage.getItem(SESSION_KEY) ?? "null");
      if (saved && typeof saved.token === "string") return saved;
    } catch {
      /* fall through: a corrupt entry is no session */
    }
    return null;
  },
  get current() {
    const saved = this.saved;
    if (saved && (saved.refreshToken || saved.expiresAt > Date.now())) return saved;
    if (saved) lapsed = true;
    localStorage.removeItem(SESSION_KEY);
    return null;
  },
  /** Whether a stored session expired (no refresh token to renew it) since last asked: told once. */
  takeLapsed() {
    const was = lapsed;
    lapsed = false;
    return was;
  },
  get user() {
    return this.current?.user ?? null;
  },
  get isAdmin() {
    return this.user?.role === "admin";
  },
  start(tokenResponse) {
    lapsed = false;
    const expiresAt = Date.now() + (tokenResponse.expires_in ?? 900) * 1000;
    localStorage.setItem(SESSION_KEY, JSON.stringify({
      token: tokenResponse.access_token, refreshToken: tokenResponse.refresh_token ?? null,
      user: tokenResponse.user, expiresAt,
    }));
    scheduleRefresh();
  },
  /** Keep a newer view of the signed-in user (e.g. once the email is verified). */
  updateUser(user) {
    const saved = this.current;
    if (saved && user && saved.user?.id === user.id) {
      localStorage.setItem(SESSION_KEY, JSON.stringify({ ...saved, user }));
    }
  },
  end() {
    lapsed = false;
    localStorage.removeItem(SESSION_KEY);
    clearTimeout(refreshTimer);
  },
};

let refreshing = null; // this tab's refresh in flight
let refreshTimer = null;

/** Refresh the session once (one tab at a time: a token is used once, a reuse ends the session).
 *  `stale` is the access token found wanting; if another tab already replaced it, that is used. */
function refreshSession(stale) {
  if (!refreshing) {
    const run = async () => {
      const saved = session.saved;
      if (!saved?.refreshToken) return false;
      if (saved.token !== stale && saved.expiresAt - REFRESH_AHEAD_MS > Date.now()) return true;
      try {
        const pair = await request("POST", "/auth/refresh", { body: { refresh_token: saved.refreshToken }, auth: false });
        session.start(pair);
        return true;
      } catch (error) {
        if (error instanceof ApiError && error.status === 401) {
          session.end();
          return false;
        }
        throw error;
      }
    };
    const locked = navigator.locks?.request ? () => navigator.locks.request(REFRESH_LOCK, run) : run;
    refreshing = locked().finally(() => { refreshing = null; });
  }
  return refreshing;
}

/** A refresh shortly before the access token expires, while the app is open. */
function scheduleRefresh() {
  clearTimeout(refreshTimer);
  const saved = session.saved;
  if (!saved?.refreshToken) return;
  const wait = Math.max(0, saved.expiresAt - REFRESH_AHEAD_MS - Date.now());
  refreshTimer = setTimeout(() => {
    refreshSession(session.saved?.token).catch(() => scheduleRefresh());
  }, Math.min(wait, 2 ** 31 - 1));
}

/** The access token to send: refreshed first when it expires within a minute. */
async function accessToken() {
  let saved = session.current;
  if (!saved) return null;
  if (saved.expiresAt - REFRESH_AHEAD_MS <= Date.now() && saved.refreshToken) {
    if (!(await refreshSession(saved.token))) throw sessionExpired(); // its refresh token ended
    saved = session.current;
  }
  return saved?.token ?? null;
}

/** What a request answers when the session cannot be renewed: the app goes to the login. */
export function sessionExpired() {
  return new ApiError(401, "session_expired", "Your session has expired. Log in again to continue.");
}

// Requests ------------------------------------------------------------------------------------

function newKey() {
  if (crypto.randomUUID) return crypto.randomUUID();
  return [...crypto.getRandomValues(new Uint8Array(16))].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * Idempotency keys for one form: submitting the same body again (a double click, a retry after a
 * lost connection) sends the same Idempotency-Key, so the API changes nothing twice; a corrected
 * body gets a new key.
 */
export function idempotencyKeys() {
  const keys = new Map();
  return (body) => {
    const json = JSON.stringify(body);
    if (!keys.has(json)) keys.set(json, newKey());
    return keys.get(json);
  };
}

async function request(method, path, { body, auth = true, query, idempotencyKey, accept = "application/json" } = {}) {
  const token = auth ? await accessToken() : null;
  try {
    return await send(method, path, { body, query, idempotencyKey, accept, token });
  } catch (error) {
    // An access token that expired anyway (a sleeping laptop, a skewed clock): refresh once and
    // send the same request again, inside the client (the screen and its form stay as they are).
    if (!(token && error instanceof ApiError && error.status === 401 && error.code === "token_expired")) throw error;
    if (!(await refreshSession(token))) throw sessionExpired();
    return send(method, path, { body, query, idempotencyKey, accept, token: session.current?.token });
  }
}

async function send(method, path, { body, query, idempotencyKey, accept, token }) {
  const headers = { Accept: accept };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (idempotencyKey) headers["Idempotency-Key"] = idempotencyKey;
  if (token) headers.Authorization = `Bearer ${token}`;
  const search = query ? `?${new URLSearchParams(Object.entries(query).filter(([, v]) => v != null))}` : "";
  let response;
  try {
    response = await fetch(`${BASE}${path}${search}`, {
      method, headers, body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new ApiError(0, "network_error",
      "We could not reach the billing service. Check your connection and try again.");
  }
  // A file (an invoice's PDF): its bytes as a Blob. Its errors are JSON like every other.
  if (response.ok && accept !== "application/json") return response.blob();
  // 204 No Content (a revoked key, a logout): no body to read.
  const text = response.status === 204 ? "" : await response.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!response.ok) {
    const error = data?.error ?? {};
    throw new ApiError(response.status, error.code ?? `http_${response.status}`,
      error.message ?? `The billing service answered ${response.status}.`, error.details);
  }
  return data;
}

const post = (path, body, options = {}) => request("POST", path, { ...options, body });
const at = (id) => encodeURIComponent(id);

export const api = {
  // Auth
  register: (body, idempotencyKey) => post("/auth/register", body, { auth: false, idempotencyKey }),
  login: (email, password) => post("/auth/login", { email, password }, { auth: false }),
  logout: (refreshToken) => post("/auth/logout", { refresh_token: refreshToken }, { auth: false }),
  me: () => request("GET", "/auth/me"),
  requestPasswordReset: (email) => post("/auth/password-reset", { email }, { auth: false }),
  completePasswordReset: (token, password) => post("/auth/password-reset/complete", { token, password }, { auth: false }),
  changePassword: (currentPassword, newPassword) => post("/auth/password",
    { current_password: currentPassword, new_password: newPassword }),
  verifyEmail: (token) => post("/auth/verify-email", { token }, { auth: false }),
  resendVerification: () => request("POST", "/auth/verify-email/resend"),
  // Catalog (public)
  plans: () => request("GET", "/billing/plans", { auth: false }),
  paymentMethods: (country) => request("GET", "/billing/admin/payment-methods",
    { auth: false, query: country ? { country } : undefined }),
  // Billing (user)
  invoices: (cursor) => request("GET", "/billing/invoices", { query: { limit: 100, cursor } }),
  invoice: (id) => request("GET", `/billing/invoices/${encodeURIComponent(id)}`),
  // The invoice (a receipt once paid) as a PDF Blob; API Gateway sends its bytes only to this Accept
  invoicePdf: (id) => request("GET", `/billing/invoices/${at(id)}/pdf`, { accept: "application/pdf" }),
  payments: (cursor) => request("GET", "/billing/payments", { query: { limit: 100, cursor } }),
  confirmPayment: (body, idempotencyKey) => post("/billing/admin/payments/confirm", body, { idempotencyKey }),
  startProofUpload: (paymentId, contentType) => post(`/billing/payments/${encodeURIComponent(paymentId)}/proof`,
    { content_type: contentType }),
  completeProofUpload: (paymentId) => request("POST", `/billing/payments/${encodeURIComponent(paymentId)}/proof/complete`),
  // Subscription (user): choose a plan, change it, cancel at the period end, resume
  subscribe: (body, idempotencyKey) => post("/billing/subscription", body, { idempotencyKey }),
  changePreview: (plan) => request("GET", "/billing/subscription/change-preview", { query: { plan } }),
  changePlan: (plan, idempotencyKey) => post("/billing/subscription/change", { plan }, { idempotencyKey }),
  cancelSubscription: (idempotencyKey) => post("/billing/subscription/cancel", {}, { idempotencyKey }),
  resumeSubscription: (idempotencyKey) => post("/billing/subscription/resume", {}, { idempotencyKey }),
  // Credits (user): the buckets, the ledger newest first (paged), use per day; top-up packs
  credits: (cursor, limit = 20) => request("GET", "/billing/credits", { query: { limit, cursor } }),
  buyTopup: (body, idempotencyKey) => post("/billing/topups", body, { idempotencyKey }),
  // Admin
  approvalQueue: (cursor) => request("GET", "/billing/admin/payments",
    { query: { status: "pending_approval", limit: 25, cursor } }),
  payment: (id) => request("GET", `/billing/admin/payments/${encodeURIComponent(id)}`),
  approve: (id, adminNotes, idempotencyKey) => post(`/billing/admin/payments/${encodeURIComponent(id)}/approve`,
    adminNotes ? { admin_notes: adminNotes } : {}, { idempotencyKey }),
  reject: (id, adminNotes, idempotencyKey) => post(`/billing/admin/payments/${encodeURIComponent(id)}/reject`,
    { admin_notes: adminNotes }, { idempotencyKey }),
  status: () => request("GET", "/billing/admin/status"),
  renewals: (cursor) => request("GET", "/billing/admin/renewals", { query: { limit: 25, cursor } }),
  adminInvoicePdf: (id) => request("GET", `/billing/admin/invoices/${at(id)}/pdf`, { accept: "application/pdf" }),
  invoiceByReference: (reference) => request("GET",
    `/billing/admin/invoices/by-reference/${encodeURIComponent(reference)}`),
  // Admin: service keys (the secret `key` only in the answer of create), an account, credit grants
  serviceKeys: () => request("GET", "/billing/admin/service-keys"),
  createServiceKey: (name, idempotencyKey) => post("/billing/admin/service-keys", { name }, { idempotencyKey }),
  revokeServiceKey: (id) => request("DELETE", `/billing/admin/service-keys/${at(id)}`),
  adminAccount: (id) => request("GET", `/billing/admin/accounts/${at(id)}`),
  grantCredits: (id, body, idempotencyKey) => post(`/billing/admin/accounts/${at(id)}/credits`, body, { idempotencyKey }),
  // Admin: exchange rates (units of a currency per 1 USD), each with its recent changes
  fxRates: () => request("GET", "/billing/admin/fx-rates"),
  setFxRate: (currency, rate, idempotencyKey) => request("PUT", `/billing/admin/fx-rates/${at(currency)}`,
    { body: { rate }, idempotencyKey }),
  // Admin: bank statements (import, lines matched to invoices, apply or ignore them)
  importStatement: (body, idempotencyKey) => post("/billing/admin/statements", body, { idempotencyKey }),
  statements: (cursor, limit = 25) => request("GET", "/billing/admin/statements", { query: { limit, cursor } }),
  statement: (id) => request("GET", `/billing/admin/statements/${at(id)}`),
  statementLines: (id, { status, cursor, limit = 50 } = {}) => request("GET",
    `/billing/admin/statements/${at(id)}/lines`, { query: { status: status || null, limit, cursor } }),
  applyExactMatches: (id, idempotencyKey) => post(`/billing/admin/statements/${at(id)}/apply-exact`, undefined,
    { idempotencyKey }),
  applyStatementLine: (lineId, invoiceId, idempotencyKey) => post(`/billing/admin/statement-lines/${at(lineId)}/apply`,
    invoiceId ? { invoice_id: invoiceId } : {}, { idempotencyKey }),
  ignoreStatementLine: (lineId, reason, idempotencyKey) => post(`/billing/admin/statement-lines/${at(lineId)}/ignore`,
    { reason }, { idempotencyKey }),
  unmatchedConfirmations: (cursor, limit = 25) => request("GET", "/billing/admin/unmatched-confirmations",
    { query: { limit, cursor } }),
};

/**
 * Send a file with a presigned POST form ({url, fields}) straight to the file store: every field
 * first, the file last as `file`. The store answers 204 or 201; anything else is an ApiError.
 */
export async function uploadFile(upload, file) {
  const form = new FormData();
  for (const [name, value] of Object.entries(upload.fields ?? {})) form.append(name, value);
  form.append("file", file);
  let response;
  try {
    response = await fetch(upload.url, { method: "POST", body: form });
  } catch {
    throw new ApiError(0, "network_error", "The file could not be sent. Check your connection and try again.");
  }
  if (response.ok) return;
  const text = await response.text().catch(() => "");
  const code = /<Code>([^<]+)<\/Code>/.exec(text)?.[1] ?? `http_${response.status}`;
  const tooLarge = code === "EntityTooLarge";
  throw new ApiError(response.status, tooLarge ? "proof_too_large" : "upload_failed",
    tooLarge ? "The file is larger than 5 MB." : `The file store refused the file (${code}).`,
    { fields: { file: tooLarge ? "at most 5 MB" : "could not be uploaded" } });
}

scheduleRefresh(); // a session kept from an earlier visit

/** Payment methods for a country, one per method slug, the country's own first: a country's method
 *  replaces the global one of the same name (that is the one the API records when you confirm). */
export function distinctMethods(methods) {
  const local = methods.filter((method) => method.country !== null);
  const localSlugs = new Set(local.map((method) => method.payment_method));
  return [...local, ...methods.filter((m) => m.country === null && !localSlugs.has(m.payment_method))];
}

// Admin console: the team and its invitations, account search and holds, payment reversals. Added
// to `api` here, after everything else, so the calls read as the others do (api.admins()).
Object.assign(api, {
  // The admin team (owners): every admin, invite one (an email with a set-password link), change
  // an admin's role or disable them; an invitee accepts with the link's token (signed in after)
  admins: () => request("GET", "/billing/admin/admins"),
  inviteAdmin: (body, idempotencyKey) => post("/billing/admin/admins", body, { idempotencyKey }),
  changeAdmin: (id, body, idempotencyKey) => request("PATCH", `/billing/admin/admins/${at(id)}`,
    { body, idempotencyKey }),
  acceptInvitation: (token, password) => post("/auth/invitations/accept", { token, password }, { auth: false }),
  // Accounts: search by email, invoice number, payment reference or the start of a name; an
  // owner suspends (a hold, with a reason) and reactivates
  searchAccounts: (q) => request("GET", "/billing/admin/accounts", { query: { q } }),
  suspendAccount: (id, reason, idempotencyKey) => post(`/billing/admin/accounts/${at(id)}/suspend`,
    { reason }, { idempotencyKey }),
  reactivateAccount: (id, reason, idempotencyKey) => post(`/billing/admin/accounts/${at(id)}/reactivate`,
    { reason }, { idempotencyKey }),
  // An owner reverses a succeeded payment (with a reason)
  reversePayment: (id, reason, idempotencyKey) => post(`/billing/admin/payments/${at(id)}/reverse`,
    { reason }, { idempotencyKey }),
});

// Webhooks: the SaaS's endpoints (owners add, rotate and delete them; a new secret only in the
// answer of create and rotate), each endpoint's delivery log, and a retry of one delivery.
Object.assign(api, {
  webhooks: () => request("GET", "/billing/admin/webhooks"),
  createWebhook: (body, idempotencyKey) => post("/billing/admin/webhooks", body, { idempotencyKey }),
  deleteWebhook: (id) => request("DELETE", `/billing/admin/webhooks/${at(id)}`),
  rotateWebhookSecret: (id, idempotencyKey) => post(`/billing/admin/webhooks/${at(id)}/rotate-secret`, undefined,
    { idempotencyKey }),
  webhookDeliveries: (id, { status, cursor, limit = 25 } = {}) => request("GET",
    `/billing/admin/webhooks/${at(id)}/deliveries`, { query: { status: status || null, limit, cursor } }),
  retryWebhookDelivery: (id, deliveryId) => post(`/billing/admin/webhooks/${at(id)}/deliveries/${at(deliveryId)}/retry`),
});

// Reports (admins): the monthly summary (months YYYY-MM, the last 12 by default), the aging of
// unpaid invoices, and the owners' CSV exports of a range of days: the file as a Blob (text/csv), or
// for a large one a Blob of JSON {url, expires_at, rows, bytes}, a link to the file in S3.
Object.assign(api, {
  reportSummary: (from, to) => request("GET", "/billing/admin/reports/summary", { query: { from: from || null, to: to || null } }),
  agingReport: () => request("GET", "/billing/admin/reports/aging"),
  exportCsv: (name, from, to) => request("GET", `/billing/admin/exports/${at(name)}.csv`,
    { query: { from, to }, accept: "text/csv, application/json" }),
});
