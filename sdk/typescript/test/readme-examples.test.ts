// README.md's examples, as written, from the packed package installed into an empty folder,
// type-checked by tsc (strict) and run against a fresh `leasing serve`.

import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { after, before, test } from "node:test";
import { promisify } from "node:util";

import { DEMO_KEY, PACKAGE_DIR } from "./support/paths.js";
import { type LeasingServer, startServer } from "./support/server.js";

const run = promisify(execFile);
const NPM = process.platform === "win32" ? "npm.cmd" : "npm";

let server: LeasingServer;
let app: string;

/** The ```ts blocks of the README's "Examples" section, in order. */
async function readmeExamples(): Promise<string[]> {
  const readme = await readFile(resolve(PACKAGE_DIR, "README.md"), "utf8");
  const section = readme.split(/^## Examples$/m)[1]?.split(/^## /m)[0] ?? "";
  return [...section.matchAll(/^```ts\n([\s\S]*?)^```$/gm)].map((match) => match[1] ?? "");
}

before(async () => {
  server = await startServer([]); // the demo seed alone, as `make dev` runs it
  // An empty project with nothing but the packed package installed (it has no dependencies).
  app = await mkdtemp(join(tmpdir(), "layers-sdk-readme-"));
  const { stdout } = await run(NPM, ["pack", "--silent", "--pack-destination", app], { cwd: PACKAGE_DIR });
  const tarball = stdout.trim().split("\n").pop() ?? "";
  await writeFile(join(app, "package.json"), JSON.stringify({ name: "readme-examples", private: true, type: "module" }));
  await run(NPM, ["install", "--offline", "--no-audit", "--no-fund", "--ignore-scripts", join(app, tarball)], { cwd: app });
});

after(async () => {
  await server?.stop();
  if (app) {
    await rm(app, { recursive: true, force: true });
  }
});

test("the packed package has no dependencies and ships ESM with declarations", async () => {
  const manifest = JSON.parse(
    await readFile(join(app, "node_modules", "@layers", "sdk", "package.json"), "utf8"),
  ) as { type: string; dependencies?: unknown; exports: Record<string, { types: string; import: string }> };
  assert.equal(manifest.type, "module");
  assert.equal(manifest.dependencies, undefined);
  const entry = manifest.exports["."];
  assert.ok(entry);
  await readFile(join(app, "node_modules", "@layers", "sdk", entry.types));
  await readFile(join(app, "node_modules", "@layers", "sdk", entry.import));
});

test("every README example type-checks strictly and runs as written against leasing serve", async () => {
  // Given the README's examples, each saved as its own file in the empty project
  const examples = await readmeExamples();
  assert.ok(examples.length >= 5, `found ${examples.length} examples`);
  const source = join(app, "src");
  await mkdir(source);
  const names = examples.map((_, index) => `example${index + 1}`);
  await Promise.all(names.map((name, index) => writeFile(join(source, `${name}.ts`), examples[index] ?? "")));
  // When tsc compiles them against the installed package's declarations
  await writeFile(
    join(app, "tsconfig.json"),
    JSON.stringify({
      compilerOptions: {
        target: "ES2022",
        module: "NodeNext",
        moduleResolution: "NodeNext",
        strict: true,
        types: ["node"],
        typeRoots: [resolve(PACKAGE_DIR, "node_modules", "@types")],
        rootDir: "src",
        outDir: "out",
        skipLibCheck: false,
      },
      include: ["src"],
    }),
  );
  const tsc = resolve(PACKAGE_DIR, "node_modules", "typescript", "bin", "tsc");
  await run(process.execPath, [tsc, "-p", "tsconfig.json"], { cwd: app }).catch((error: { stdout?: string }) => {
    assert.fail(`the README examples do not type-check:\n${error.stdout ?? String(error)}`);
  });
  // Then each runs to completion, in order, against the server (the README's environment variables)
  const env = {
    ...process.env,
    LAYERS_API_KEY: DEMO_KEY,
    LAYERS_BASE_URL: server.url,
  };
  const outputs: string[] = [];
  for (const name of names) {
    // The block is plain JavaScript as written, too
    await writeFile(join(source, `${name}.mjs`), examples[names.indexOf(name)] ?? "");
    await run(process.execPath, ["--check", join(source, `${name}.mjs`)]);
    const { stdout } = await run(process.execPath, [join(app, "out", `${name}.js`)], { cwd: app, env, timeout: 90_000 })
      .catch((error: { stderr?: string }) => assert.fail(`${name} failed:\n${error.stderr ?? String(error)}`));
    outputs.push(stdout);
  }
  // The request printed its lreq_ id; the wait ended; the release disconnected; the errors were caught
  assert.match(outputs[0] ?? "", /^lreq_/);
  assert.match(outputs[1] ?? "", /^requested|^assigned|^partial|^rejected/m);
  assert.match(outputs[1] ?? "", /^(assigned|partial|rejected) /m);
  assert.match(outputs[2] ?? "", /sa_01HXZS8N3C5R6STUV7WXYZ9AB brew\.tutorials\.daily/);
  assert.match(outputs[3] ?? "", /^disconnected released_by_partner /);
  assert.match(outputs[4] ?? "", /^count /m);
  assert.match(outputs[4] ?? "", /^niche\.language /m);
  assert.match(outputs[4] ?? "", /^404 NOT_FOUND req_/m);
});
