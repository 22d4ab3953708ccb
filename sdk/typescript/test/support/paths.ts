// Where things are, from the compiled test files (build/test/...).

import { existsSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";

function findPackageDir(start: string): string {
  let dir = start;
  while (!existsSync(resolve(dir, "package.json"))) {
    const parent = dirname(dir);
    if (parent === dir) {
      throw new Error(`no package.json above ${start}`);
    }
    dir = parent;
  }
  return dir;
}

export const PACKAGE_DIR = findPackageDir(dirname(fileURLToPath(import.meta.url)));
export const REPO_ROOT = resolve(PACKAGE_DIR, "..", "..");
export const DEMO_SEED = resolve(REPO_ROOT, "seeds", "demo.json");
export const TEST_SEED = resolve(PACKAGE_DIR, "test", "fixtures", "sdk-test-seed.json");
export const DEMO_KEY = "lp_test_PZJZFAXISQ2BI5FP_4yC9wqsfJBGeiNdjt-fCjAAUNoo8EUXIoeCeoZbBRK4";
