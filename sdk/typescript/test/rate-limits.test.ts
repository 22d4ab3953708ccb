// 429 from `leasing serve` once a key's write budget for the minute is spent, and Retry-After honoured.

import assert from "node:assert/strict";
import { after, before, test } from "node:test";

import { Layers, NotFoundError, RateLimitError } from "../src/index.js";
import { TEST_SEED } from "./support/paths.js";
import { type LeasingServer, seededKey, startServer } from "./support/server.js";

let server: LeasingServer;
let key: string;

before(async () => {
  server = await startServer();
  key = seededKey(TEST_SEED, "org_sdk_limits");
});

after(async () => {
  await server?.stop();
});

/** Spend the key's write budget (a standard key has 60 writes a minute) until a write is refused. */
async function spendWriteBudget(): Promise<void> {
  for (let call = 0; call < 200; call += 1) {
    const response = await fetch(`${server.url}/v1/social-accounts/sa_missing`, {
      method: "DELETE",
      headers: { Authorization: `Bearer ${key}` },
    });
    await response.text();
    if (response.status === 429) {
      return;
    }
  }
  throw new Error("the write budget was never spent");
}

test("a spent write budget is a RateLimitError carrying Retry-After, then the SDK waits it out", async () => {
  // Given a key whose writes for this minute are spent
  await spendWriteBudget();
  // When a call is made with retries off, Then it is a RateLimitError with the server's Retry-After
  const layers = new Layers({ apiKey: key, baseURL: server.url });
  const error = await layers.socialAccounts
    .revoke({ socialAccountId: "sa_missing" }, { maxRetries: 0 })
    .catch((e: unknown) => e);
  assert.ok(error instanceof RateLimitError, String(error));
  assert.equal(error.status, 429);
  assert.equal(error.code, "RATE_LIMITED");
  const retryAfter = error.retryAfter ?? 0;
  assert.ok(retryAfter > 0 && retryAfter <= 60, `Retry-After ${error.retryAfter}`);
  // When the same call is made with the default retries
  const lines: string[] = [];
  const patient = new Layers({ apiKey: key, baseURL: server.url, debug: true, logger: (line) => lines.push(line) });
  const started = Date.now();
  const outcome = await patient.socialAccounts.revoke({ socialAccountId: "sa_missing" }).catch((e: unknown) => e);
  // Then it waited for the window to reset and got through to the server's real answer
  assert.ok(outcome instanceof NotFoundError, String(outcome));
  assert.ok(Date.now() - started >= (retryAfter - 1) * 1000, `waited ${Date.now() - started} ms of ${retryAfter} s`);
  assert.match(lines.join("\n"), /-> 429 .*\n.*retrying in/);
});
