// The client's behaviour around one call, with a stubbed fetch: keys, retries, errors, timeouts, debug.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { describe, test } from "node:test";

import {
  APIConnectionError,
  APIStatusError,
  APITimeoutError,
  APIUserAbortError,
  AuthenticationError,
  BillingExhaustedError,
  ConflictError,
  type FetchLike,
  InternalServerError,
  Layers,
  LayersError,
  NotFoundError,
  PermissionDeniedError,
  RateLimitError,
  ServiceUnavailableError,
  VERSION,
  ValidationError,
  WaitTimeoutError,
} from "../src/index.js";
import { PACKAGE_DIR } from "./support/paths.js";

const KEY = "lp_test_ABCDEFGHIJKLMNOP_secretsecretsecretsecretsecretsecretsecr";

interface Sent {
  url: string;
  method: string;
  headers: Record<string, string>;
  body: string | null;
}

type Reply = Response | Error | "hang";

/** A fetch that records what it was asked and answers from a script, one reply per call. */
function scriptedFetch(...replies: Reply[]): { fetch: FetchLike; sent: Sent[] } {
  const sent: Sent[] = [];
  const fetch: FetchLike = async (url, init) => {
    sent.push({
      url,
      method: init.method ?? "GET",
      headers: { ...(init.headers as Record<string, string>) },
      body: typeof init.body === "string" ? init.body : null,
    });
    const reply = replies.shift();
    if (reply === undefined) {
      throw new Error(`unexpected call ${init.method} ${url}`);
    }
    if (reply === "hang") {
      return new Promise<Response>((_, reject) => {
        init.signal?.addEventListener("abort", () => reject(new DOMException("aborted", "AbortError")));
      });
    }
    if (reply instanceof Error) {
      throw reply;
    }
    return reply;
  };
  return { fetch, sent };
}

function json(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json", "x-request-id": `req_${status}`, ...headers },
  });
}

function envelope(code: string, details?: Record<string, unknown>): unknown {
  return { error: { code, message: `${code} happened`, requestId: "req_body", ...(details ? { details } : {}) } };
}

function dropped(): Error {
  return new TypeError("fetch failed", { cause: Object.assign(new Error("other side closed"), { code: "UND_ERR_SOCKET" }) });
}

function refused(): Error {
  return new TypeError("fetch failed", { cause: Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" }) });
}

const ACCEPTED = { requestId: "lreq_1", status: "requested", submittedAt: "2026-04-18T19:24:11Z" };
const LEASE_REQUEST = { projectId: "prj_1", count: 2, niche: { vertical: "coffee" } };
const RELEASED = {
  socialAccountId: "sa_1",
  status: "disconnected",
  disconnectedReason: "released_by_partner",
  disconnectedAt: "2026-04-18T19:27:03Z",
};

function client(fetch: FetchLike, extra: Partial<ConstructorParameters<typeof Layers>[0]> = {}): Layers {
  return new Layers({ apiKey: KEY, baseURL: "http://api.test/", fetch, ...extra });
}

describe("idempotency keys", () => {
  test("a lease request without a key gets one generated and reused by the retry after a dropped connection", async () => {
    // Given a first attempt whose connection drops and a second that is answered
    const { fetch, sent } = scriptedFetch(dropped(), json(202, ACCEPTED));
    // When a request is made without an idempotency key
    const accepted = await client(fetch).leasedAccounts.request(LEASE_REQUEST);
    // Then both attempts carried the same generated UUID key
    assert.equal(accepted.requestId, "lreq_1");
    assert.equal(sent.length, 2);
    const keys = sent.map((call) => call.headers["Idempotency-Key"]);
    assert.match(keys[0] ?? "", /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.equal(keys[1], keys[0]);
  });

  test("two lease requests get two different generated keys", async () => {
    const { fetch, sent } = scriptedFetch(json(202, ACCEPTED), json(202, ACCEPTED));
    const layers = client(fetch);
    await layers.leasedAccounts.request(LEASE_REQUEST);
    await layers.leasedAccounts.request(LEASE_REQUEST);
    assert.notEqual(sent[0]?.headers["Idempotency-Key"], sent[1]?.headers["Idempotency-Key"]);
  });

  test("the caller's idempotency key is sent as given, with the body and the project's path", async () => {
    const { fetch, sent } = scriptedFetch(json(202, ACCEPTED));
    await client(fetch).leasedAccounts.request(LEASE_REQUEST, { idempotencyKey: "my-key-1" });
    assert.equal(sent[0]?.headers["Idempotency-Key"], "my-key-1");
    assert.equal(sent[0]?.url, "http://api.test/v1/projects/prj_1/leased-accounts/request");
    assert.deepEqual(JSON.parse(sent[0]?.body ?? "null"), LEASE_REQUEST);
    assert.equal(sent[0]?.headers["Content-Type"], "application/json");
  });
});

describe("retries", () => {
  test("a release whose connection dropped is not retried", async () => {
    const { fetch, sent } = scriptedFetch(dropped());
    await assert.rejects(client(fetch).leasedAccounts.release({ socialAccountId: "sa_1" }), APIConnectionError);
    assert.equal(sent.length, 1);
  });

  test("a release refused before it was sent is retried", async () => {
    const { fetch, sent } = scriptedFetch(refused(), json(200, RELEASED));
    const released = await client(fetch).leasedAccounts.release({ socialAccountId: "sa_1" });
    assert.equal(released.status, "disconnected");
    assert.equal(sent.length, 2);
  });

  test("a 429 is retried after waiting its Retry-After", async () => {
    // Given a first answer 429 with Retry-After: 1
    const { fetch, sent } = scriptedFetch(
      json(429, envelope("RATE_LIMITED"), { "retry-after": "1" }),
      json(200, RELEASED),
    );
    const started = Date.now();
    // When a release is made
    await client(fetch).leasedAccounts.release({ socialAccountId: "sa_1" });
    // Then the second attempt came at least a second later
    assert.equal(sent.length, 2);
    assert.ok(Date.now() - started >= 1_000, `waited ${Date.now() - started} ms`);
  });

  test("after maxRetries retries the last error is thrown", async () => {
    const { fetch, sent } = scriptedFetch(
      json(500, envelope("INTERNAL")),
      json(502, {}),
      json(500, envelope("INTERNAL")),
    );
    await assert.rejects(client(fetch).leasedAccounts.getRequest("lreq_1"), (error: unknown) => {
      assert.ok(error instanceof InternalServerError);
      assert.equal(error.status, 500);
      return true;
    });
    assert.equal(sent.length, 3);
  });

  test("maxRetries 0 on one call sends it once", async () => {
    const { fetch, sent } = scriptedFetch(json(500, envelope("INTERNAL")));
    await assert.rejects(client(fetch).leasedAccounts.getRequest("lreq_1", { maxRetries: 0 }), InternalServerError);
    assert.equal(sent.length, 1);
  });

  test("a suspended organization's 503 is not retried", async () => {
    const { fetch, sent } = scriptedFetch(json(503, envelope("KILL_SWITCH")));
    await assert.rejects(client(fetch).leasedAccounts.getRequest("lreq_1"), ServiceUnavailableError);
    assert.equal(sent.length, 1);
  });
});

describe("errors", () => {
  const cases: [number, string, new (...args: never[]) => LayersError][] = [
    [401, "UNAUTHENTICATED", AuthenticationError],
    [402, "BILLING_EXHAUSTED", BillingExhaustedError],
    [403, "FORBIDDEN_SCOPE", PermissionDeniedError],
    [404, "NOT_FOUND", NotFoundError],
    [409, "CONFLICT", ConflictError],
    [413, "PAYLOAD_TOO_LARGE", APIStatusError],
    [415, "UNSUPPORTED_MEDIA_TYPE", APIStatusError],
    [422, "VALIDATION", ValidationError],
    [429, "RATE_LIMITED", RateLimitError],
    [500, "INTERNAL", InternalServerError],
    [503, "KILL_SWITCH", ServiceUnavailableError],
  ];
  for (const [status, code, errorClass] of cases) {
    test(`a ${status} ${code} answer becomes ${errorClass.name}, carrying status, code, message, request id and details`, async () => {
      const { fetch } = scriptedFetch(json(status, envelope(code, { extra: 1 })));
      const layers = client(fetch, { maxRetries: 0 });
      await assert.rejects(layers.leasedAccounts.release({ socialAccountId: "sa_1" }), (error: unknown) => {
        assert.ok(error instanceof errorClass, `got ${String(error)}`);
        assert.ok(error instanceof LayersError);
        assert.equal(error.name, errorClass.name);
        assert.equal(error.status, status);
        assert.equal(error.code, code);
        assert.equal(error.message, `${code} happened`);
        assert.equal(error.requestId, `req_${status}`);
        assert.deepEqual(error.details, { extra: 1 });
        return true;
      });
    });
  }

  test("a conflict carries its reason and hint", async () => {
    const details = { reason: "NOT_LEASED", hint: "DELETE /v1/social-accounts/sa_1" };
    const { fetch } = scriptedFetch(json(409, envelope("CONFLICT", details)));
    const error = await client(fetch).leasedAccounts.release({ socialAccountId: "sa_1" }).catch((e: unknown) => e);
    assert.ok(error instanceof ConflictError);
    assert.equal(error.reason, "NOT_LEASED");
    assert.equal(error.hint, "DELETE /v1/social-accounts/sa_1");
  });

  test("a validation error carries its issues", async () => {
    const issues = [{ path: "niche.geo[1]", message: "not a country" }];
    const { fetch } = scriptedFetch(json(422, envelope("VALIDATION", { issues })));
    const error = await client(fetch).leasedAccounts.request(LEASE_REQUEST).catch((e: unknown) => e);
    assert.ok(error instanceof ValidationError);
    assert.deepEqual(error.issues, issues);
  });

  test("a rate-limit error carries Retry-After in seconds", async () => {
    const { fetch } = scriptedFetch(json(429, envelope("RATE_LIMITED"), { "retry-after": "42" }));
    const error = await client(fetch, { maxRetries: 0 }).leasedAccounts.getRequest("lreq_1").catch((e: unknown) => e);
    assert.ok(error instanceof RateLimitError);
    assert.equal(error.retryAfter, 42);
  });

  test("a permission error names the scope it lacked", async () => {
    const { fetch } = scriptedFetch(json(403, envelope("FORBIDDEN_SCOPE", { requiredScope: "leased:write" })));
    const error = await client(fetch).leasedAccounts.getRequest("lreq_1").catch((e: unknown) => e);
    assert.ok(error instanceof PermissionDeniedError);
    assert.equal(error.requiredScope, "leased:write");
  });

  test("an answer that is not the envelope still becomes an error with its status", async () => {
    const { fetch } = scriptedFetch(new Response("<html>bad gateway</html>", { status: 502 }));
    const error = await client(fetch, { maxRetries: 0 }).leasedAccounts.getRequest("lreq_1").catch((e: unknown) => e);
    assert.ok(error instanceof InternalServerError);
    assert.equal(error.status, 502);
    assert.equal(error.code, null);
    assert.equal(error.requestId, null);
  });
});

describe("timeouts and abort", () => {
  test("an attempt that outlives timeoutMs is an APITimeoutError, and a read is retried", async () => {
    const { fetch, sent } = scriptedFetch("hang", "hang");
    const layers = client(fetch, { timeoutMs: 50, maxRetries: 1 });
    await assert.rejects(layers.leasedAccounts.getRequest("lreq_1"), APITimeoutError);
    assert.equal(sent.length, 2);
  });

  test("a release that times out is not retried", async () => {
    const { fetch, sent } = scriptedFetch("hang");
    await assert.rejects(
      client(fetch).leasedAccounts.release({ socialAccountId: "sa_1" }, { timeoutMs: 50 }),
      APITimeoutError,
    );
    assert.equal(sent.length, 1);
  });

  test("the caller's AbortSignal ends the call with APIUserAbortError and no retry", async () => {
    const { fetch, sent } = scriptedFetch("hang");
    const controller = new AbortController();
    const call = client(fetch).leasedAccounts.getRequest("lreq_1", { signal: controller.signal });
    setTimeout(() => controller.abort(), 20);
    await assert.rejects(call, APIUserAbortError);
    assert.equal(sent.length, 1);
  });
});

describe("responses", () => {
  test("a response carries the X-Request-Id of its HTTP answer, apart from the body's requestId", async () => {
    const { fetch } = scriptedFetch(json(202, ACCEPTED));
    const accepted = await client(fetch).leasedAccounts.request(LEASE_REQUEST);
    assert.equal(accepted._requestId, "req_202");
    assert.equal(accepted.requestId, "lreq_1");
    assert.deepEqual(JSON.parse(JSON.stringify(accepted)), ACCEPTED);
  });

  test("getRequest uses the project's route when projectId is given, and escapes ids", async () => {
    const { fetch, sent } = scriptedFetch(json(200, {}), json(200, {}));
    const layers = client(fetch);
    await layers.leasedAccounts.getRequest("lreq_1", { projectId: "prj_1" });
    await layers.leasedAccounts.getRequest("a/b");
    assert.equal(sent[0]?.url, "http://api.test/v1/projects/prj_1/leased-accounts/requests/lreq_1");
    assert.equal(sent[1]?.url, "http://api.test/v1/leased-accounts/requests/a%2Fb");
  });

  test("a release sends its reason as the body, and no body without one", async () => {
    const { fetch, sent } = scriptedFetch(json(200, RELEASED), json(200, RELEASED));
    const layers = client(fetch);
    await layers.leasedAccounts.release({ socialAccountId: "sa_1", reason: "churned" });
    await layers.leasedAccounts.release({ socialAccountId: "sa_1" });
    assert.deepEqual(JSON.parse(sent[0]?.body ?? "null"), { reason: "churned" });
    assert.equal(sent[1]?.body, null);
    assert.equal(sent[1]?.headers["Content-Type"], undefined);
  });
});

describe("pagination", () => {
  test("list sends nothing until it is iterated", async () => {
    const { fetch, sent } = scriptedFetch();
    client(fetch).leasedAccounts.list({ limit: 1 });
    assert.equal(sent.length, 0);
  });

  test("list follows nextCursor across pages and stops at null", async () => {
    const { fetch, sent } = scriptedFetch(
      json(200, { items: [{ socialAccountId: "sa_1" }, { socialAccountId: "sa_2" }], nextCursor: "c1" }),
      json(200, { items: [{ socialAccountId: "sa_3" }], nextCursor: null }),
    );
    const ids: string[] = [];
    for await (const account of client(fetch).leasedAccounts.list({ projectId: "prj_1", status: "assigned", limit: 2 })) {
      ids.push(account.socialAccountId);
    }
    assert.deepEqual(ids, ["sa_1", "sa_2", "sa_3"]);
    assert.equal(sent[0]?.url, "http://api.test/v1/projects/prj_1/leased-accounts?status=assigned&limit=2");
    assert.equal(sent[1]?.url, "http://api.test/v1/projects/prj_1/leased-accounts?status=assigned&limit=2&cursor=c1");
  });
});

describe("waitForRequest", () => {
  const view = (status: string): unknown => ({ requestId: "lreq_1", projectId: "prj_1", status });

  test("a status this SDK does not know yet ends the wait", async () => {
    const { fetch, sent } = scriptedFetch(json(200, view("requested")), json(200, view("escalated")));
    const done = await client(fetch).leasedAccounts.waitForRequest("lreq_1", { pollIntervalMs: 10 });
    assert.equal(done.status, "escalated");
    assert.equal(sent.length, 2);
  });

  test("a 429 while polling waits for Retry-After and goes on polling", async () => {
    const { fetch, sent } = scriptedFetch(
      json(429, envelope("RATE_LIMITED"), { "retry-after": "1" }),
      json(200, view("assigned")),
    );
    const started = Date.now();
    const done = await client(fetch, { maxRetries: 0 }).leasedAccounts.waitForRequest("lreq_1", { pollIntervalMs: 10 });
    assert.equal(done.status, "assigned");
    assert.equal(sent.length, 2);
    assert.ok(Date.now() - started >= 1_000);
  });

  test("running out of time is a WaitTimeoutError carrying the last state", async () => {
    const replies = Array.from({ length: 50 }, () => json(200, view("requested")));
    const { fetch } = scriptedFetch(...replies);
    const error = await client(fetch)
      .leasedAccounts.waitForRequest("lreq_1", { timeoutMs: 200, pollIntervalMs: 20 })
      .catch((e: unknown) => e);
    assert.ok(error instanceof WaitTimeoutError);
    assert.ok(error instanceof APITimeoutError);
    assert.equal((error.last as { status: string } | null)?.status, "requested");
  });
});

describe("configuration and debug", () => {
  test("without an API key the client refuses to start", () => {
    const saved = process.env["LAYERS_API_KEY"];
    delete process.env["LAYERS_API_KEY"];
    try {
      assert.throws(() => new Layers({ fetch: scriptedFetch().fetch }), LayersError);
    } finally {
      if (saved !== undefined) process.env["LAYERS_API_KEY"] = saved;
    }
  });

  test("the key and base URL come from LAYERS_API_KEY and LAYERS_BASE_URL", async () => {
    process.env["LAYERS_API_KEY"] = KEY;
    process.env["LAYERS_BASE_URL"] = "http://env.test";
    try {
      const { fetch, sent } = scriptedFetch(json(200, {}));
      await new Layers({ fetch }).leasedAccounts.getRequest("lreq_1");
      assert.equal(sent[0]?.url, "http://env.test/v1/leased-accounts/requests/lreq_1");
      assert.equal(sent[0]?.headers["Authorization"], `Bearer ${KEY}`);
    } finally {
      delete process.env["LAYERS_API_KEY"];
      delete process.env["LAYERS_BASE_URL"];
    }
  });

  test("the base URL defaults to https://api.layers.com", () => {
    assert.equal(new Layers({ apiKey: KEY, fetch: scriptedFetch().fetch }).baseURL, "https://api.layers.com");
  });

  test("debug logs method, path, status, request id and retries, and never the key", async () => {
    const lines: string[] = [];
    const { fetch } = scriptedFetch(dropped(), json(202, ACCEPTED));
    const layers = client(fetch, { debug: true, logger: (line) => lines.push(line) });
    await layers.leasedAccounts.request(LEASE_REQUEST);
    const log = lines.join("\n");
    assert.match(log, /POST \/v1\/projects\/prj_1\/leased-accounts\/request -> APIConnectionError \(attempt 1\)/);
    assert.match(log, /retrying in \d+\.\d\ds/);
    assert.match(log, /POST \/v1\/projects\/prj_1\/leased-accounts\/request -> 202 \(X-Request-Id req_202, attempt 2\)/);
    assert.ok(!log.includes(KEY) && !log.includes("secretsecret"), log);
  });

  test("LAYERS_LOG=debug switches debug on, and it is off otherwise", async () => {
    const lines: string[] = [];
    const logger = (line: string): number => lines.push(line);
    await client(scriptedFetch(json(200, {})).fetch, { logger }).leasedAccounts.getRequest("lreq_1");
    assert.equal(lines.length, 0);
    process.env["LAYERS_LOG"] = "debug";
    try {
      await client(scriptedFetch(json(200, {})).fetch, { logger }).leasedAccounts.getRequest("lreq_1");
    } finally {
      delete process.env["LAYERS_LOG"];
    }
    assert.equal(lines.length, 1);
  });

  test("the User-Agent names this package's version, which is package.json's", async () => {
    const { fetch, sent } = scriptedFetch(json(200, {}));
    await client(fetch).leasedAccounts.getRequest("lreq_1");
    const manifest = JSON.parse(readFileSync(resolve(PACKAGE_DIR, "package.json"), "utf8")) as { version: string };
    assert.equal(VERSION, manifest.version);
    assert.equal(sent[0]?.headers["User-Agent"], `layers-sdk-typescript/${manifest.version}`);
  });
});
