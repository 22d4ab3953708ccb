// The checked-in contract types are exactly what the pinned generator makes of docs/openapi.json.

import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { test } from "node:test";
import { promisify } from "node:util";

import { PACKAGE_DIR, REPO_ROOT } from "./support/paths.js";

const run = promisify(execFile);

test("src/generated/openapi.ts is what openapi-typescript generates from docs/openapi.json today", async () => {
  // Given the OpenAPI document as it is now, When the pinned generator runs on it
  const folder = await mkdtemp(join(tmpdir(), "layers-sdk-types-"));
  try {
    const fresh = join(folder, "openapi.ts");
    const cli = resolve(PACKAGE_DIR, "node_modules", "openapi-typescript", "bin", "cli.js");
    await run(process.execPath, [cli, resolve(REPO_ROOT, "docs", "openapi.json"), "--output", fresh], {
      cwd: PACKAGE_DIR,
    });
    // Then its output is the checked-in file, byte for byte
    const checkedIn = await readFile(resolve(PACKAGE_DIR, "src", "generated", "openapi.ts"), "utf8");
    assert.ok(
      (await readFile(fresh, "utf8")) === checkedIn,
      "src/generated/openapi.ts is stale: run `npm run generate` in sdk/typescript (or `make sdk-typescript-types`)",
    );
  } finally {
    await rm(folder, { recursive: true, force: true });
  }
});
