// Errors the SDK throws: one class per status and code of the contract's error envelope.

/** One problem of a 422 answer: `path` is in the request's own field names (`niche.geo[1]`). */
export interface ValidationIssue {
  path: string;
  message: string;
  [key: string]: unknown;
}

export interface LayersErrorInit {
  status?: number | null;
  code?: string | null;
  requestId?: string | null;
  details?: Record<string, unknown> | null;
  cause?: unknown;
}

/** The base of every error the SDK throws. */
export class LayersError extends Error {
  /** The HTTP status, or `null` when no response was received. */
  readonly status: number | null;
  /** The envelope's stable machine value (`VALIDATION`, `CONFLICT`, ...), or `null`. */
  readonly code: string | null;
  /** The `X-Request-Id` of the response (quote it to support), or `null`. */
  readonly requestId: string | null;
  /** The envelope's `details`, or `{}`. */
  readonly details: Record<string, unknown>;

  constructor(message: string, init: LayersErrorInit = {}) {
    super(message, init.cause === undefined ? undefined : { cause: init.cause });
    this.name = new.target.name;
    this.status = init.status ?? null;
    this.code = init.code ?? null;
    this.requestId = init.requestId ?? null;
    this.details = init.details ?? {};
  }
}

/** The API answered with a non-2xx status (`status` is set). */
export class APIStatusError extends LayersError {
  declare readonly status: number;
}

/** 401 `UNAUTHENTICATED`: the key is missing, malformed, unknown or revoked. */
export class AuthenticationError extends APIStatusError {}

/** 402 `BILLING_EXHAUSTED`: the wallet cannot cover even one account; nothing was queued. */
export class BillingExhaustedError extends APIStatusError {}

/** 403 `FORBIDDEN_SCOPE`: the key lacks the route's scope (`requiredScope`). */
export class PermissionDeniedError extends APIStatusError {
  get requiredScope(): string | null {
    return text(this.details["requiredScope"]);
  }
}

/** 404 `NOT_FOUND`: absent, of another organization, already released, or a malformed id. */
export class NotFoundError extends APIStatusError {}

/**
 * 409 `CONFLICT`; `reason` says which (`NOT_LEASED`, `LEASED_ACCOUNT`, `IDEMPOTENCY_KEY_REUSED`,
 * `IDEMPOTENCY_IN_PROGRESS`, `REQUEST_ID_IN_USE`, or one this SDK does not know yet).
 */
export class ConflictError extends APIStatusError {
  get reason(): string | null {
    return text(this.details["reason"]);
  }

  /** Where to go instead (for `NOT_LEASED` and `LEASED_ACCOUNT`). */
  get hint(): string | null {
    return text(this.details["hint"]);
  }
}

/** 422 `VALIDATION`; `issues` is `details.issues`, one per problem. */
export class ValidationError extends APIStatusError {
  readonly issues: ValidationIssue[];

  constructor(message: string, init: LayersErrorInit = {}) {
    super(message, init);
    const issues = this.details["issues"];
    this.issues = Array.isArray(issues) ? issues.filter(isIssue) : [];
  }
}

export interface RateLimitErrorInit extends LayersErrorInit {
  retryAfter?: number | null;
}

/** 429 `RATE_LIMITED`; `retryAfter` is the `Retry-After` header in seconds (`null` when absent). */
export class RateLimitError extends APIStatusError {
  readonly retryAfter: number | null;

  constructor(message: string, init: RateLimitErrorInit = {}) {
    super(message, init);
    this.retryAfter = init.retryAfter ?? null;
  }
}

/** 503: `KILL_SWITCH` (the key or organization is suspended) or the service is unavailable. */
export class ServiceUnavailableError extends APIStatusError {}

/** A 5xx other than 503 (`INTERNAL`, or a gateway's 502/504). */
export class InternalServerError extends APIStatusError {}

/** No response: the connection was refused, dropped or reset. */
export class APIConnectionError extends LayersError {}

/** No response within the timeout. */
export class APITimeoutError extends APIConnectionError {}

/** The caller's `AbortSignal` fired; never retried. */
export class APIUserAbortError extends LayersError {}

/** `waitForRequest` ran out of time; `last` is the last state it polled (`null` if none was). */
export class WaitTimeoutError<T = unknown> extends APITimeoutError {
  readonly last: T | null;

  constructor(message: string, last: T | null, init: LayersErrorInit = {}) {
    super(message, init);
    this.last = last;
  }
}

function isIssue(value: unknown): value is ValidationIssue {
  return (
    typeof value === "object" &&
    value !== null &&
    typeof (value as { path?: unknown }).path === "string" &&
    typeof (value as { message?: unknown }).message === "string"
  );
}

/** The error for a non-2xx answer, chosen by status (and code for 503). */
export function errorFromResponse(
  status: number,
  body: unknown,
  requestId: string | null,
  retryAfter: number | null,
): LayersError {
  const envelope = readEnvelope(body);
  const init: RateLimitErrorInit = {
    status,
    code: envelope.code,
    requestId: requestId ?? envelope.requestId,
    details: envelope.details,
    retryAfter,
  };
  const message = envelope.message ?? `HTTP ${status}`;
  switch (status) {
    case 401:
      return new AuthenticationError(message, init);
    case 402:
      return new BillingExhaustedError(message, init);
    case 403:
      return new PermissionDeniedError(message, init);
    case 404:
      return new NotFoundError(message, init);
    case 409:
      return new ConflictError(message, init);
    case 422:
      return new ValidationError(message, init);
    case 429:
      return new RateLimitError(message, init);
    case 503:
      return new ServiceUnavailableError(message, init);
    default:
      return status >= 500 ? new InternalServerError(message, init) : new APIStatusError(message, init);
  }
}

interface Envelope {
  code: string | null;
  message: string | null;
  requestId: string | null;
  details: Record<string, unknown>;
}

function readEnvelope(body: unknown): Envelope {
  const error = isRecord(body) ? body["error"] : undefined;
  if (!isRecord(error)) {
    return { code: null, message: null, requestId: null, details: {} };
  }
  return {
    code: text(error["code"]),
    message: text(error["message"]),
    requestId: text(error["requestId"]),
    details: isRecord(error["details"]) ? error["details"] : {},
  };
}

function text(value: unknown): string | null {
  return typeof value === "string" ? value : null;
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
