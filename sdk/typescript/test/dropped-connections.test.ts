// Lost answers, through a proxy in front of `leasing serve` that drops or holds responses.

import assert from "node:assert/strict";
import { after, before, beforeEach, describe, test } from "node:test";

import { APIConnectionError, APITimeoutError, Layers, NotFoundError } from "../src/index.js";
import { DEMO_KEY } from "./support/paths.js";
import { DroppingProxy } from "./support/proxy.js";
import { type LeasingServer, startServer } from "./support/server.js";

let server: LeasingServer;
let proxy: DroppingProxy;
let layers: Layers;

before(async () => {
  server = await startServer();
  proxy = new DroppingProxy(server.url);
  layers = new Layers({ apiKey: DEMO_KEY, baseURL: await proxy.start() });
});

after(async () => {
  await proxy?.stop();
  await server?.stop();
});

beforeEach(() => {
  proxy.calls.length = 0;
  proxy.dropNext = 0;
  proxy.holdMs = 0;
});

describe("a lost answer", () => {
  test("a lease request whose 202 was lost is retried with the same key and replayed, not queued twice", async () => {
    // Given the server accepts the first attempt but its answer never arrives
    proxy.dropNext = 1;
    // When the SDK makes the request (no idempotency key given)
    const accepted = await layers.leasedAccounts.request({
      projectId: "prj_demo",
      count: 1,
      niche: { vertical: "fitness", language: "en" },
    });
    // Then the retry carried the same key, the server replayed its first answer, and the caller got it
    const [first, second] = proxy.calls;
    assert.equal(proxy.calls.length, 2);
    assert.ok(first?.dropped && first.status === 202);
    assert.equal(second?.idempotencyKey, first.idempotencyKey);
    assert.equal(second?.replayed, true);
    assert.equal(accepted.requestId, (JSON.parse(first.body) as { requestId: string }).requestId);
  });

  test("a release whose answer was lost is not retried: the account is already released", async () => {
    // Given the release reaches the server but its answer is lost
    proxy.dropNext = 1;
    // When the SDK releases the account, Then the caller hears of the lost connection, after one attempt
    await assert.rejects(layers.leasedAccounts.release({ socialAccountId: "sa_pool_2" }), APIConnectionError);
    assert.equal(proxy.calls.length, 1);
    assert.equal(proxy.calls[0]?.status, 200);
    // And a blind second release would have answered 404: that is why it is not retried
    await assert.rejects(layers.leasedAccounts.release({ socialAccountId: "sa_pool_2" }), NotFoundError);
  });

  test("a read whose answer was lost is retried", async () => {
    proxy.dropNext = 1;
    const request = await layers.leasedAccounts.getRequest("lreq_demo_1");
    assert.equal(request.requestId, "lreq_demo_1");
    assert.equal(proxy.calls.length, 2);
  });

  test("an answer slower than timeoutMs is an APITimeoutError", async () => {
    proxy.holdMs = 1_000;
    await assert.rejects(
      layers.leasedAccounts.getRequest("lreq_demo_1", { timeoutMs: 200, maxRetries: 0 }),
      APITimeoutError,
    );
  });
});
