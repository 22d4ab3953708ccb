// Builds dist/ whenever npm prepares this package: on `npm ci` here, and on `npm install <this
// folder>` from another project, which runs `prepare` without installing dev dependencies first
// (then the pinned ones are installed from package-lock.json, with scripts off).

import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const packageDir = join(dirname(fileURLToPath(import.meta.url)), "..");
const tsc = join(packageDir, "node_modules", "typescript", "bin", "tsc");

if (!existsSync(tsc)) {
  const npmCli = process.env.npm_execpath;
  const [command, args] = npmCli ? [process.execPath, [npmCli]] : ["npm", []];
  execFileSync(command, [...args, "ci", "--ignore-scripts", "--no-audit", "--no-fund"], {
    cwd: packageDir,
    stdio: "inherit",
  });
}
execFileSync(process.execPath, [tsc, "-p", "tsconfig.json"], { cwd: packageDir, stdio: "inherit" });
