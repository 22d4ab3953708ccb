// The HTTP machinery under every method: one call = attempts with retries, timeouts, errors, debug lines.

import {
  APIConnectionError,
  APITimeoutError,
  APIUserAbortError,
  LayersError,
  errorFromResponse,
  isRecord,
} from "./errors.js";
import { type AttemptOutcome, failedBeforeSending, parseRetryAfterMs, retryDelayMs } from "./retry.js";
import { VERSION } from "./version.js";

export type FetchLike = (url: string, init: RequestInit) => Promise<Response>;

/** Per-call options every method accepts. */
export interface RequestOptions {
  /** Abort the call (no retry follows); the method rejects with `APIUserAbortError`. */
  signal?: AbortSignal | undefined;
  /** Time allowed for each attempt, in milliseconds (default: the client's `timeoutMs`). */
  timeoutMs?: number | undefined;
  /** Retries for this call (default: the client's `maxRetries`). */
  maxRetries?: number | undefined;
}

export interface TransportSettings {
  apiKey: string;
  baseURL: string;
  maxRetries: number;
  timeoutMs: number;
  fetch: FetchLike;
  log: ((line: string) => void) | null;
}

export interface CallSpec {
  method: "GET" | "POST" | "DELETE";
  path: string;
  query?: Record<string, string | number | null | undefined>;
  body?: unknown;
  idempotencyKey?: string;
  options?: RequestOptions | undefined;
  /** Epoch milliseconds after which no retry is started (used by `waitForRequest`). */
  deadlineAt?: number;
}

export interface CallResult<T> {
  data: T;
  status: number;
  requestId: string | null;
  headers: Headers;
}

/** A response object carrying the `X-Request-Id` of the HTTP response it came from. */
export type WithRequestId<T> = T & { readonly _requestId: string | null };

/** Attach `_requestId` without making it part of the object's JSON. */
export function withRequestId<T extends object>(value: T, requestId: string | null): WithRequestId<T> {
  Object.defineProperty(value, "_requestId", { value: requestId, enumerable: false });
  return value as WithRequestId<T>;
}

type Attempt<T> = { ok: true; result: CallResult<T> } | { ok: false; error: LayersError; outcome: AttemptOutcome };

export class Transport {
  constructor(private readonly settings: TransportSettings) {}

  async call<T>(spec: CallSpec): Promise<CallResult<T>> {
    const url = this.url(spec.path, spec.query);
    const maxRetries = spec.options?.maxRetries ?? this.settings.maxRetries;
    const signal = spec.options?.signal;
    for (let retriesSoFar = 0; ; retriesSoFar += 1) {
      const attempt = await this.attempt<T>(spec, url, retriesSoFar + 1);
      if (attempt.ok) {
        return attempt.result;
      }
      const delay = retryDelayMs(attempt.outcome, {
        method: spec.method,
        idempotencyKey: spec.idempotencyKey !== undefined,
        retriesSoFar,
        maxRetries,
      });
      if (delay === null || (spec.deadlineAt !== undefined && Date.now() + delay > spec.deadlineAt)) {
        throw attempt.error;
      }
      this.debug(`retrying in ${(delay / 1000).toFixed(2)}s`);
      await sleep(delay, signal);
    }
  }

  private async attempt<T>(spec: CallSpec, url: string, attemptNumber: number): Promise<Attempt<T>> {
    const signal = spec.options?.signal;
    if (signal?.aborted) {
      throw new APIUserAbortError("The request was aborted.", { cause: signal.reason });
    }
    const timeoutMs = spec.options?.timeoutMs ?? this.settings.timeoutMs;
    const controller = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, timeoutMs);
    const forwardAbort = (): void => controller.abort();
    signal?.addEventListener("abort", forwardAbort, { once: true });
    let response: Response;
    let text: string;
    try {
      response = await this.settings.fetch(url, {
        method: spec.method,
        headers: this.headers(spec),
        body: spec.body === undefined ? null : JSON.stringify(spec.body),
        signal: controller.signal,
      });
      text = await response.text();
    } catch (error) {
      if (signal?.aborted) {
        throw new APIUserAbortError("The request was aborted.", { cause: error });
      }
      if (timedOut) {
        this.debug(`${spec.method} ${spec.path} -> APITimeoutError (attempt ${attemptNumber})`);
        return {
          ok: false,
          error: new APITimeoutError(`The request timed out after ${timeoutMs} ms.`, { cause: error }),
          outcome: { kind: "timeout" },
        };
      }
      const sent = !failedBeforeSending(error);
      this.debug(`${spec.method} ${spec.path} -> APIConnectionError (attempt ${attemptNumber})`);
      return {
        ok: false,
        error: new APIConnectionError(`Connection error: ${describe(error)}`, { cause: error }),
        outcome: { kind: "connection", sent },
      };
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener("abort", forwardAbort);
    }
    const requestId = response.headers.get("x-request-id");
    this.debug(
      `${spec.method} ${spec.path} -> ${response.status} (X-Request-Id ${requestId ?? "-"}, attempt ${attemptNumber})`,
    );
    const body = parseJson(text);
    if (response.ok) {
      if (body === undefined) {
        const error = new LayersError(`The response (HTTP ${response.status}) is not JSON.`, {
          status: response.status,
          requestId,
        });
        return { ok: false, error, outcome: { kind: "response", status: response.status, code: null, reason: null, retryAfterMs: null } };
      }
      return { ok: true, result: { data: body as T, status: response.status, requestId, headers: response.headers } };
    }
    const retryAfterMs = parseRetryAfterMs(response.headers.get("retry-after"));
    const error = errorFromResponse(
      response.status,
      body,
      requestId,
      retryAfterMs === null ? null : retryAfterMs / 1000,
    );
    const reason = error.details["reason"];
    return {
      ok: false,
      error,
      outcome: {
        kind: "response",
        status: response.status,
        code: error.code,
        reason: typeof reason === "string" ? reason : null,
        retryAfterMs,
      },
    };
  }

  private url(path: string, query: CallSpec["query"]): string {
    const params = new URLSearchParams();
    for (const [name, value] of Object.entries(query ?? {})) {
      if (value !== undefined && value !== null) {
        params.set(name, String(value));
      }
    }
    const search = params.toString();
    return `${this.settings.baseURL}${path}${search ? `?${search}` : ""}`;
  }

  private headers(spec: CallSpec): Record<string, string> {
    const headers: Record<string, string> = {
      Authorization: `Bearer ${this.settings.apiKey}`,
      Accept: "application/json",
      "User-Agent": `layers-sdk-typescript/${VERSION}`,
    };
    if (spec.body !== undefined) {
      headers["Content-Type"] = "application/json";
    }
    if (spec.idempotencyKey !== undefined) {
      headers["Idempotency-Key"] = spec.idempotencyKey;
    }
    return headers;
  }

  private debug(line: string): void {
    this.settings.log?.(`[layers] ${line}`);
  }
}

/** Milliseconds until the rate-limit window resets when this response spent its last call, else 0. */
export function rateLimitPauseMs(headers: Headers, now: number = Date.now()): number {
  const remaining = headers.get("x-ratelimit-remaining");
  const reset = Number(headers.get("x-ratelimit-reset"));
  if (remaining === null || Number(remaining) > 0 || !Number.isFinite(reset)) {
    return 0;
  }
  return Math.max(0, reset * 1000 - now);
}

/** Wait `ms`, or reject with `APIUserAbortError` as soon as `signal` fires. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(new APIUserAbortError("The request was aborted.", { cause: signal.reason }));
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(new APIUserAbortError("The request was aborted.", { cause: signal?.reason }));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

function describe(error: unknown): string {
  if (error instanceof Error) {
    const cause = error.cause;
    if (isRecord(cause) && typeof cause["code"] === "string") {
      return `${error.message} (${cause["code"]})`;
    }
    return cause instanceof Error ? `${error.message}: ${cause.message}` : error.message;
  }
  return String(error);
}
