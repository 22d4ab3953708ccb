// Unit tests of the retry decision: which outcomes are retried, and how long the SDK waits first.

import assert from "node:assert/strict";
import { describe, test } from "node:test";

import {
  type AttemptOutcome,
  MAX_RETRY_AFTER_MS,
  type RetryContext,
  backoffMs,
  failedBeforeSending,
  parseRetryAfterMs,
  retryDelayMs,
} from "../src/retry.js";

const GET: RetryContext = { method: "GET", idempotencyKey: false, retriesSoFar: 0, maxRetries: 2 };
const KEYED_POST: RetryContext = { method: "POST", idempotencyKey: true, retriesSoFar: 0, maxRetries: 2 };
const DELETE: RetryContext = { method: "DELETE", idempotencyKey: false, retriesSoFar: 0, maxRetries: 2 };

function answered(status: number, extra: Partial<Extract<AttemptOutcome, { kind: "response" }>> = {}): AttemptOutcome {
  return { kind: "response", status, code: null, reason: null, retryAfterMs: null, ...extra };
}

const dropped: AttemptOutcome = { kind: "connection", sent: true };
const refused: AttemptOutcome = { kind: "connection", sent: false };
const timedOut: AttemptOutcome = { kind: "timeout" };

describe("retry decisions", () => {
  test("a GET answered 500, 502, 503 or 504 is retried", () => {
    // Given a read, When it is answered with a transient 5xx, Then a retry is scheduled
    for (const status of [500, 502, 503, 504]) {
      assert.notEqual(retryDelayMs(answered(status), GET), null, `status ${status}`);
    }
  });

  test("a DELETE answered 500 is not retried, because the release may have happened", () => {
    assert.equal(retryDelayMs(answered(500), DELETE), null);
  });

  test("a POST with an idempotency key is retried after a dropped connection", () => {
    assert.notEqual(retryDelayMs(dropped, KEYED_POST), null);
  });

  test("a POST without an idempotency key is not retried after a dropped connection", () => {
    assert.equal(retryDelayMs(dropped, { ...KEYED_POST, idempotencyKey: false }), null);
  });

  test("a DELETE whose connection dropped is not retried", () => {
    assert.equal(retryDelayMs(dropped, DELETE), null);
  });

  test("a DELETE refused before it was sent is retried", () => {
    assert.notEqual(retryDelayMs(refused, DELETE), null);
  });

  test("a timed-out GET is retried and a timed-out DELETE is not", () => {
    assert.notEqual(retryDelayMs(timedOut, GET), null);
    assert.equal(retryDelayMs(timedOut, DELETE), null);
  });

  test("a 429 is retried whatever the method, after the Retry-After plus at most 250 ms of jitter", () => {
    for (const context of [GET, KEYED_POST, DELETE]) {
      const delay = retryDelayMs(answered(429, { retryAfterMs: 7_000 }), context, () => 0.999);
      assert.ok(delay !== null && delay >= 7_000 && delay <= 7_250, `${context.method}: ${delay}`);
    }
  });

  test("a Retry-After longer than a minute is left to the caller", () => {
    assert.equal(retryDelayMs(answered(429, { retryAfterMs: MAX_RETRY_AFTER_MS + 1_000 }), GET), null);
  });

  test("a keyed POST answered 409 IDEMPOTENCY_IN_PROGRESS is retried after its Retry-After", () => {
    const outcome = answered(409, { code: "CONFLICT", reason: "IDEMPOTENCY_IN_PROGRESS", retryAfterMs: 1_000 });
    const delay = retryDelayMs(outcome, KEYED_POST, () => 0);
    assert.equal(delay, 1_000);
  });

  test("other 409 reasons are never retried", () => {
    for (const reason of ["IDEMPOTENCY_KEY_REUSED", "NOT_LEASED", "REQUEST_ID_IN_USE"]) {
      assert.equal(retryDelayMs(answered(409, { code: "CONFLICT", reason }), KEYED_POST), null, reason);
    }
  });

  test("a 503 KILL_SWITCH is not retried, another 503 is", () => {
    assert.equal(retryDelayMs(answered(503, { code: "KILL_SWITCH" }), GET), null);
    assert.notEqual(retryDelayMs(answered(503), GET), null);
  });

  test("client errors are never retried", () => {
    for (const status of [400, 401, 402, 403, 404, 413, 415, 422]) {
      assert.equal(retryDelayMs(answered(status), GET), null, `status ${status}`);
    }
  });

  test("nothing is retried once maxRetries retries were made", () => {
    assert.equal(retryDelayMs(answered(429), { ...GET, retriesSoFar: 2 }), null);
    assert.equal(retryDelayMs(refused, { ...DELETE, maxRetries: 0 }), null);
  });

  test("the backoff doubles from 0.5 s up to 8 s, jittered to between half and all of it", () => {
    assert.deepEqual(
      [0, 1, 2, 3, 4, 5].map((n) => backoffMs(n, () => 0)),
      [500, 1_000, 2_000, 4_000, 8_000, 8_000],
    );
    assert.equal(backoffMs(0, () => 1), 250);
  });

  test("Retry-After is read as delta-seconds; anything else is absent", () => {
    assert.equal(parseRetryAfterMs("12"), 12_000);
    assert.equal(parseRetryAfterMs(" 1.5 "), 1_500);
    assert.equal(parseRetryAfterMs("soon"), null);
    assert.equal(parseRetryAfterMs("-1"), null);
    assert.equal(parseRetryAfterMs(null), null);
  });

  test("fetch failures whose every cause is a refused connection count as never sent", () => {
    const refusedOnce = new TypeError("fetch failed", { cause: Object.assign(new Error("connect"), { code: "ECONNREFUSED" }) });
    const refusedTwice = new TypeError("fetch failed", {
      cause: Object.assign(new AggregateError([
        Object.assign(new Error("v6"), { code: "ECONNREFUSED" }),
        Object.assign(new Error("v4"), { code: "ECONNREFUSED" }),
      ]), { code: "ECONNREFUSED" }),
    });
    assert.equal(failedBeforeSending(refusedOnce), true);
    assert.equal(failedBeforeSending(refusedTwice), true);
  });

  test("a socket closed by the other side may have been sent", () => {
    const closed = new TypeError("fetch failed", {
      cause: Object.assign(new Error("other side closed"), { code: "UND_ERR_SOCKET" }),
    });
    assert.equal(failedBeforeSending(closed), false);
    assert.equal(failedBeforeSending(new TypeError("fetch failed")), false);
  });
});
