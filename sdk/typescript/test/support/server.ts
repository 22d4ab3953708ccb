// `leasing serve` from the project's venv, started as a subprocess on a free loopback port.

import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { createInterface } from "node:readline";

import { DEMO_SEED, REPO_ROOT, TEST_SEED } from "./paths.js";

const LISTENING = /Listening on (http:\/\/127\.0\.0\.1:\d+)/;
const STARTUP_MS = 60_000;

export interface LeasingServer {
  url: string;
  /** Wait until every stream record and event is processed (`POST /_local/drain`). */
  drain(): Promise<void>;
  stop(): Promise<void>;
}

/** The leasing CLI of the project's venv (`make venv`), or `LEASING_BIN`. */
export function leasingBin(): string {
  return process.env["LEASING_BIN"] ?? resolve(REPO_ROOT, ".venv", "bin", "leasing");
}

/** Start `leasing serve` with the demo seed, then `extraSeeds` (the SDK tests' own orgs by default). */
export async function startServer(extraSeeds: string[] = [TEST_SEED]): Promise<LeasingServer> {
  const seeds = [DEMO_SEED, ...extraSeeds].flatMap((seed) => ["--seed", seed]);
  const child = spawn(leasingBin(), ["serve", "--host", "127.0.0.1", "--port", "0", ...seeds], {
    cwd: REPO_ROOT,
    env: { ...process.env, PYTHONUNBUFFERED: "1" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-20_000);
  });
  const url = await new Promise<string>((resolveUrl, reject) => {
    const timer = setTimeout(() => reject(new Error(`leasing serve did not start:\n${stderr}`)), STARTUP_MS);
    const lines = createInterface({ input: child.stdout! });
    lines.on("line", (line) => {
      const match = LISTENING.exec(line);
      if (match?.[1]) {
        clearTimeout(timer);
        resolveUrl(match[1]);
      }
    });
    child.once("error", (error) => {
      clearTimeout(timer);
      reject(new Error(`cannot run ${leasingBin()} (run \`make venv\` first): ${error.message}`));
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`leasing serve exited with ${code}:\n${stderr}`));
    });
  });
  return {
    url,
    async drain() {
      const response = await fetch(`${url}/_local/drain`, { method: "POST" });
      if (!response.ok) {
        throw new Error(`drain answered ${response.status}`);
      }
      await response.text();
    },
    stop: () => stop(child),
  };
}

function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) {
    return Promise.resolve();
  }
  return new Promise((resolveStop) => {
    const kill = setTimeout(() => child.kill("SIGKILL"), 10_000);
    child.once("exit", () => {
      clearTimeout(kill);
      resolveStop();
    });
    child.kill("SIGTERM");
  });
}

/** The first API key of a seeded organization. */
export function seededKey(seedFile: string, orgId: string): string {
  const seed = JSON.parse(readFileSync(seedFile, "utf8")) as {
    orgs: { id: string; apiKeys: { key: string }[] }[];
  };
  const key = seed.orgs.find((org) => org.id === orgId)?.apiKeys[0]?.key;
  if (key === undefined) {
    throw new Error(`${seedFile} has no key for ${orgId}`);
  }
  return key;
}
