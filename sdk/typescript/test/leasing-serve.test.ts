// The SDK against a real `leasing serve`: every method's happy path, each error class, pagination, waiting.

import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { type AddressInfo, createServer } from "node:net";
import { after, before, describe, test } from "node:test";

import {
  APIConnectionError,
  AuthenticationError,
  BillingExhaustedError,
  ConflictError,
  Layers,
  NotFoundError,
  PermissionDeniedError,
  ServiceUnavailableError,
  ValidationError,
  WaitTimeoutError,
} from "../src/index.js";
import { DEMO_KEY, TEST_SEED } from "./support/paths.js";
import { type LeasingServer, seededKey, startServer } from "./support/server.js";

let server: LeasingServer;
let layers: Layers;

function clientFor(orgId: string, extra: ConstructorParameters<typeof Layers>[0] = {}): Layers {
  return new Layers({ apiKey: seededKey(TEST_SEED, orgId), baseURL: server.url, ...extra });
}

before(async () => {
  server = await startServer();
  layers = new Layers({ apiKey: DEMO_KEY, baseURL: server.url });
});

after(async () => {
  await server?.stop();
});

describe("every method against leasing serve", () => {
  let requestId = "";

  test("request answers 202 with the lease request's id, apart from the HTTP request id", async () => {
    // Given the demo project, When two coffee accounts are requested
    const accepted = await layers.leasedAccounts.request(
      { projectId: "prj_demo", count: 2, niche: { vertical: "coffee", language: "en", geo: ["US", "CA"] } },
      { idempotencyKey: randomUUID() },
    );
    // Then the request is queued under an lreq_ id, and the answer's X-Request-Id is a req_ id
    assert.match(accepted.requestId, /^lreq_/);
    assert.equal(accepted.status, "requested");
    assert.match(accepted.submittedAt, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    assert.match(accepted._requestId ?? "", /^req_[0-9A-Z]{26}$/);
    requestId = accepted.requestId;
  });

  test("waitForRequest returns the request once a drain has assigned it", async () => {
    const waiting = layers.leasedAccounts.waitForRequest(requestId, { projectId: "prj_demo", pollIntervalMs: 100 });
    await server.drain();
    const done = await waiting;
    assert.ok(done.status === "assigned" || done.status === "partial", done.status);
    assert.ok(done.assignedSocialAccountIds.length >= 1);
    assert.ok(done.assignedAt !== null);
  });

  test("getRequest reads the request organization-wide and through its project", async () => {
    const orgWide = await layers.leasedAccounts.getRequest(requestId);
    const byProject = await layers.leasedAccounts.getRequest(requestId, { projectId: "prj_demo" });
    assert.equal(orgWide.requestId, requestId);
    assert.deepEqual(byProject, orgWide);
    assert.notEqual(byProject._requestId, orgWide._requestId);
  });

  test("list pages through every lease one per page, newest first, as one call with a large page does", async () => {
    // Given the project's seeded lease plus the ones just assigned
    const onePage = await layers.leasedAccounts.list({ projectId: "prj_demo", limit: 200 }).pages().next();
    assert.ok(!onePage.done);
    const expected = onePage.value.items.map((account) => account.socialAccountId);
    assert.ok(expected.length >= 3, `only ${expected.length} leases`);
    // When they are listed one per page
    const seen: string[] = [];
    const pageRequestIds = new Set<string | null>();
    for await (const account of layers.leasedAccounts.list({ projectId: "prj_demo", status: "assigned", limit: 1 })) {
      seen.push(account.socialAccountId);
      pageRequestIds.add(account._requestId);
    }
    // Then every lease came, in the same order, each from its own page
    assert.deepEqual(seen, expected);
    assert.equal(pageRequestIds.size, expected.length);
  });

  test("release gives a leased account back", async () => {
    const released = await layers.leasedAccounts.release({ socialAccountId: "sa_pool_2", reason: "Customer churned" });
    assert.equal(released.socialAccountId, "sa_pool_2");
    assert.equal(released.status, "disconnected");
    assert.equal(released.disconnectedReason, "released_by_partner");
  });

  test("the released account is listed as disconnected", async () => {
    const disconnected = await layers.leasedAccounts.list({ status: "disconnected" }).toArray();
    assert.ok(disconnected.some((account) => account.socialAccountId === "sa_pool_2"));
  });

  test("releasing a connected account is a ConflictError NOT_LEASED with a hint", async () => {
    const error = await layers.leasedAccounts.release({ socialAccountId: "sa_byo_1" }).catch((e: unknown) => e);
    assert.ok(error instanceof ConflictError, String(error));
    assert.equal(error.status, 409);
    assert.equal(error.code, "CONFLICT");
    assert.equal(error.reason, "NOT_LEASED");
    assert.match(error.hint ?? "", /social-accounts/);
    assert.match(error.requestId ?? "", /^req_/);
  });

  test("revoke disconnects a connected account and cancels its queued posts", async () => {
    const revoked = await layers.socialAccounts.revoke({ socialAccountId: "sa_byo_1", reason: "Client left" });
    assert.equal(revoked.status, "disconnected");
    assert.equal(revoked.disconnectedReason, "revoked_by_partner");
    assert.equal(revoked.canceledScheduledPosts, 2);
  });
});

describe("each error class from leasing serve", () => {
  test("an unknown key is an AuthenticationError", async () => {
    const stranger = new Layers({ apiKey: "lp_test_nope", baseURL: server.url });
    const error = await stranger.leasedAccounts.list().toArray().catch((e: unknown) => e);
    assert.ok(error instanceof AuthenticationError, String(error));
    assert.equal(error.status, 401);
    assert.equal(error.code, "UNAUTHENTICATED");
  });

  test("an empty wallet is a BillingExhaustedError", async () => {
    const broke = clientFor("org_sdk_broke");
    const error = await broke.leasedAccounts
      .request({ projectId: "prj_sdk_broke", count: 1, niche: { vertical: "coffee" } })
      .catch((e: unknown) => e);
    assert.ok(error instanceof BillingExhaustedError, String(error));
    assert.equal(error.code, "BILLING_EXHAUSTED");
  });

  test("a key without leased:write is a PermissionDeniedError naming the scope", async () => {
    const socialOnly = clientFor("org_sdk_social");
    const error = await socialOnly.leasedAccounts.getRequest("lreq_demo_1").catch((e: unknown) => e);
    assert.ok(error instanceof PermissionDeniedError, String(error));
    assert.equal(error.code, "FORBIDDEN_SCOPE");
    assert.equal(error.requiredScope, "leased:write");
  });

  test("another organization's request is a NotFoundError", async () => {
    const other = clientFor("org_sdk_limits");
    const error = await other.leasedAccounts.getRequest("lreq_demo_1").catch((e: unknown) => e);
    assert.ok(error instanceof NotFoundError, String(error));
    assert.equal(error.code, "NOT_FOUND");
  });

  test("the same idempotency key with a different body is a ConflictError IDEMPOTENCY_KEY_REUSED", async () => {
    const key = randomUUID();
    const niche = { vertical: "fitness" };
    await layers.leasedAccounts.request({ projectId: "prj_demo", count: 1, niche }, { idempotencyKey: key });
    const error = await layers.leasedAccounts
      .request({ projectId: "prj_demo", count: 2, niche }, { idempotencyKey: key })
      .catch((e: unknown) => e);
    assert.ok(error instanceof ConflictError, String(error));
    assert.equal(error.reason, "IDEMPOTENCY_KEY_REUSED");
  });

  test("a bad body is a ValidationError with one issue per problem, at the request's own paths", async () => {
    const error = await layers.leasedAccounts
      // @ts-expect-error -- "XX" is no ISO 3166-1 code: the generated types refuse it, and so must the server
      .request({ projectId: "prj_demo", count: 0, niche: { vertical: "coffee", geo: ["US", "XX"] } })
      .catch((e: unknown) => e);
    assert.ok(error instanceof ValidationError, String(error));
    assert.deepEqual(
      error.issues.map((issue) => issue.path).sort(),
      ["count", "niche.geo[1]"],
    );
  });

  test("a suspended organization is a ServiceUnavailableError KILL_SWITCH, not retried", async () => {
    const lines: string[] = [];
    const suspended = clientFor("org_sdk_suspended", { debug: true, logger: (line) => lines.push(line) });
    const error = await suspended.leasedAccounts.list().toArray().catch((e: unknown) => e);
    assert.ok(error instanceof ServiceUnavailableError, String(error));
    assert.equal(error.code, "KILL_SWITCH");
    assert.equal(lines.filter((line) => line.includes("->")).length, 1);
  });

  test("a port nobody listens on is an APIConnectionError after the retries", async () => {
    // Given a loopback port that was free a moment ago
    const probe = createServer();
    await new Promise<void>((resolveListen) => probe.listen(0, "127.0.0.1", resolveListen));
    const { port } = probe.address() as AddressInfo;
    await new Promise((resolveClose) => probe.close(resolveClose));
    const lines: string[] = [];
    const closed = new Layers({
      apiKey: DEMO_KEY,
      baseURL: `http://127.0.0.1:${port}`,
      debug: true,
      logger: (line) => lines.push(line),
    });
    // A release refused before it was sent is retried like any call that provably changed nothing.
    const error = await closed.leasedAccounts.release({ socialAccountId: "sa_pool_1" }).catch((e: unknown) => e);
    assert.ok(error instanceof APIConnectionError, String(error));
    assert.equal(error.status, null);
    assert.equal(lines.filter((line) => line.includes("-> APIConnectionError")).length, 3);
  });
});

describe("waiting", () => {
  test("waitForRequest on a request nothing will assign ends with WaitTimeoutError carrying its last state", async () => {
    const error = await layers.leasedAccounts
      .waitForRequest("lreq_demo_2", { timeoutMs: 1_500, pollIntervalMs: 200 })
      .catch((e: unknown) => e);
    assert.ok(error instanceof WaitTimeoutError, String(error));
    const last = error.last as { requestId: string; status: string } | null;
    assert.equal(last?.requestId, "lreq_demo_2");
    assert.equal(last?.status, "requested");
  });
});
