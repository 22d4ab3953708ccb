// When the SDK retries a call, and how long it waits first: only where a retry cannot act twice.

/** What one attempt ended with, as far as the retry decision needs to know. */
export type AttemptOutcome =
  | { kind: "response"; status: number; code: string | null; reason: string | null; retryAfterMs: number | null }
  /** `sent: false` when the request provably never left (connection refused, name not resolved). */
  | { kind: "connection"; sent: boolean }
  | { kind: "timeout" };

export interface RetryContext {
  method: string;
  /** The call carries an `Idempotency-Key`, so the server replays instead of acting twice. */
  idempotencyKey: boolean;
  /** Retries already made for this call (0 before the first retry). */
  retriesSoFar: number;
  maxRetries: number;
}

export const INITIAL_RETRY_DELAY_MS = 500;
export const MAX_RETRY_DELAY_MS = 8_000;
/** A `Retry-After` longer than this is not waited for: the error goes to the caller. */
export const MAX_RETRY_AFTER_MS = 60_000;

const TRANSIENT_STATUSES = new Set([500, 502, 503, 504]);

/**
 * A repeat of this call cannot act twice: reads, and a POST carrying an idempotency key (the
 * server replays the first answer). A DELETE whose answer was lost may have released the account.
 */
export function isReplayable(method: string, idempotencyKey: boolean): boolean {
  const verb = method.toUpperCase();
  return verb === "GET" || verb === "HEAD" || (verb === "POST" && idempotencyKey);
}

/** Milliseconds to wait before retrying, or `null` when the call must not be retried. */
export function retryDelayMs(
  outcome: AttemptOutcome,
  context: RetryContext,
  random: () => number = Math.random,
): number | null {
  if (context.retriesSoFar >= context.maxRetries) {
    return null;
  }
  const replayable = isReplayable(context.method, context.idempotencyKey);
  const backoff = backoffMs(context.retriesSoFar, random);
  switch (outcome.kind) {
    case "connection":
      // Refused before it was sent: nothing happened on the server, whatever the method.
      return !outcome.sent || replayable ? backoff : null;
    case "timeout":
      return replayable ? backoff : null;
    case "response": {
      if (!shouldRetryStatus(outcome, replayable)) {
        return null;
      }
      if (outcome.retryAfterMs === null) {
        return backoff;
      }
      // At least what the server asked, plus a little jitter so clients do not stampede.
      return outcome.retryAfterMs <= MAX_RETRY_AFTER_MS ? outcome.retryAfterMs + Math.round(250 * random()) : null;
    }
  }
}

function shouldRetryStatus(outcome: Extract<AttemptOutcome, { kind: "response" }>, replayable: boolean): boolean {
  if (outcome.status === 429) {
    return true; // a call answered 429 changed nothing
  }
  if (!replayable) {
    return false;
  }
  if (outcome.status === 409) {
    return outcome.reason === "IDEMPOTENCY_IN_PROGRESS";
  }
  if (outcome.status === 503 && outcome.code === "KILL_SWITCH") {
    return false; // a suspension is not lifted by waiting seconds
  }
  return TRANSIENT_STATUSES.has(outcome.status);
}

/** Exponential backoff (0.5 s, 1 s, 2 s, ... up to 8 s), jittered to between half and all of it. */
export function backoffMs(retriesSoFar: number, random: () => number = Math.random): number {
  const base = Math.min(INITIAL_RETRY_DELAY_MS * 2 ** retriesSoFar, MAX_RETRY_DELAY_MS);
  return Math.round(base * (1 - 0.5 * random()));
}

/** `Retry-After` in milliseconds (the contract sends delta-seconds); `null` when absent or not a number. */
export function parseRetryAfterMs(header: string | null): number | null {
  if (header === null) {
    return null;
  }
  const text = header.trim();
  return /^\d+(\.\d+)?$/.test(text) ? Math.round(Number(text) * 1000) : null;
}

const NOT_SENT_CODES = new Set([
  "ECONNREFUSED",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EADDRNOTAVAIL",
  "UND_ERR_CONNECT_TIMEOUT",
]);

/**
 * Whether a `fetch` failure proves the request never reached the server: every error code in its
 * cause chain (an `AggregateError` holds one per address tried) says the connection was never made.
 */
export function failedBeforeSending(error: unknown): boolean {
  const codes = errorCodes(error);
  return codes.length > 0 && codes.every((code) => NOT_SENT_CODES.has(code));
}

function errorCodes(error: unknown, depth = 0): string[] {
  if (typeof error !== "object" || error === null || depth > 4) {
    return [];
  }
  const record = error as { code?: unknown; cause?: unknown; errors?: unknown };
  const own = typeof record.code === "string" ? [record.code] : [];
  const nested = Array.isArray(record.errors) ? record.errors.flatMap((e) => errorCodes(e, depth + 1)) : [];
  return [...own, ...nested, ...errorCodes(record.cause, depth + 1)];
}
