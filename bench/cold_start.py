"""Cold-start benchmark: each function's handler import, measured against `import boto3` + one client.

For every function of template.yaml, fresh interpreters import the handler module by file path (as
Lambda loads `app`), running its module-level setup, and then create the first DynamoDB client the
way the functions do (`layers_common.repository.dynamodb.dynamodb_client()`). Lambda's Python
runtime does not pre-import boto3: the handler's init pays for it, so the fair comparison is
"handler import + first client" against a bare `import boto3; boto3.client("dynamodb")`.

Baseline and function runs alternate in one run, so machine drift hits both alike; only ratios of
medians measured in the same run are judged. Exits 1 when an API handler (a function with `Api`
events) is over the budget, so CI may gate on it; `make test` never runs it.

    python bench/cold_start.py [--runs 7] [--budget 1.5] [--why]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import sysconfig
from dataclasses import dataclass, field
from pathlib import Path

from leasing_cli.lambda_runtime import function_environment
from leasing_cli.template import Function, Template, load_template

ROOT = Path(__file__).resolve().parent.parent
UNREACHABLE_ENDPOINT = "http://127.0.0.1:1"  # nothing is called at import time; never contacted
MARKER = "#cold-start-phase"  # written to stderr between phases, to split `-X importtime` output

# Each snippet prints one JSON line: milliseconds of "import" and of "import + first client".
# Only `sys`, `time` and `importlib.util` (loaded at interpreter start-up anyway) precede the clock.
BASELINE_CODE = """\
import time
t0 = time.perf_counter()
import boto3
t1 = time.perf_counter()
boto3.client("dynamodb")
t2 = time.perf_counter()
import json
print(json.dumps({"import": (t1 - t0) * 1000, "client": (t2 - t0) * 1000}))
"""

BASELINE_IMPORTTIME_CODE = f"""\
import sys
sys.stderr.write("{MARKER} baseline\\n")
import boto3
boto3.client("dynamodb")
print("{{}}")
"""

HANDLER_CODE = """\
import importlib.util, sys, time
sys.stderr.write("{marker} import\\n")
t0 = time.perf_counter()
spec = importlib.util.spec_from_file_location({module!r}, {source!r})
module = importlib.util.module_from_spec(spec)
sys.modules[{module!r}] = module
spec.loader.exec_module(module)
assert callable(getattr(module, {attribute!r}))
t1 = time.perf_counter()
sys.stderr.write("{marker} client\\n")
from layers_common.repository.dynamodb import dynamodb_client
dynamodb_client()
t2 = time.perf_counter()
import json
print(json.dumps({{"import": (t1 - t0) * 1000, "client": (t2 - t0) * 1000}}))
"""


@dataclass
class Samples:
    name: str
    api: bool
    imports: list[float] = field(default_factory=list)
    clients: list[float] = field(default_factory=list)

    def add(self, measured: dict[str, float]) -> None:
        self.imports.append(measured["import"])
        self.clients.append(measured["client"])


def p90(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.9 * (len(ordered) - 1)))]


def handler_code(function: Function) -> str:
    module_path, _, attribute = function.handler.rpartition(".")
    source = function.code_uri / (module_path.replace(".", "/") + ".py")
    if not source.is_file():
        raise SystemExit(f"{function.logical_id}: handler module {source} does not exist")
    return HANDLER_CODE.format(module=module_path, source=str(source), attribute=attribute, marker=MARKER)


def environment(template: Template, function: Function | None) -> dict[str, str]:
    """The function's environment (as the local runtime sets it), fake credentials, no profile.

    The function's folder is the working directory (Lambda's /var/task) and the repository root is
    on PYTHONPATH (the template's folder: where the layer's `layers_common` is, like /opt/python).
    """
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("AWS_", "POWERTOOLS_", "PYTHON"))
    }
    env.update(function_environment(template, UNREACHABLE_ENDPOINT))
    if function is not None:
        env.update(function.environment)
    # Like Lambda: packages on plain sys.path entries, no `.pth` import hooks. The interpreters run
    # with -S, so the editable install's finder (~20 ms, charged to whatever imports
    # `layers_common` first) is not there; the venv's site-packages are named explicitly.
    env["PYTHONPATH"] = os.pathsep.join([str(template.path.parent), sysconfig.get_paths()["purelib"]])
    return env


def run_once(
    code: str, env: dict[str, str], cwd: Path, *, importtime: bool = False
) -> tuple[dict[str, float], str]:
    command = [sys.executable, "-S", *(["-X", "importtime"] if importtime else []), "-c", code]
    done = subprocess.run(command, env=env, cwd=cwd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"a measured interpreter failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1]), done.stderr


@dataclass(frozen=True)
class ImportLine:
    depth: int
    self_us: int
    cumulative_us: int
    module: str


def parse_importtime(stderr: str) -> dict[str, list[ImportLine]]:
    """`-X importtime` lines by phase: "import" (the handler module) and "client" (the first client).

    Lines before the first marker (interpreter start-up, `site`) are left out.
    """
    phases: dict[str, list[ImportLine]] = {}
    current: list[ImportLine] | None = None
    for raw in stderr.splitlines():
        if raw.startswith(MARKER):
            current = phases.setdefault(raw.removeprefix(MARKER).strip(), [])
            continue
        if current is None or not raw.startswith("import time:") or "self [us]" in raw:
            continue
        self_us, cumulative_us, name = raw.removeprefix("import time:").split("|", 2)
        depth = (len(name) - len(name.lstrip(" ")) - 1) // 2
        current.append(ImportLine(depth, int(self_us), int(cumulative_us), name.strip()))
    return phases


def importtime_lines(code: str, env: dict[str, str], cwd: Path) -> list[ImportLine]:
    """Every module one `-X importtime` run imported after the first marker."""
    phases = parse_importtime(run_once(code, env, cwd, importtime=True)[1])
    return [line for lines in phases.values() for line in lines]


PYDANTIC_FAMILY = {"pydantic", "pydantic_core", "annotated_types", "typing_extensions", "typing_inspection"}


def package_of(module: str) -> str:
    top = module.split(".")[0]
    if top in PYDANTIC_FAMILY:
        return "pydantic (+ pydantic_core, annotated_types, typing_*)"
    if top in sys.stdlib_module_names or top.startswith("_"):
        return "standard library"
    return top


def added_cost(
    function_lines: list[list[ImportLine]], baseline_lines: list[list[ImportLine]]
) -> list[tuple[str, float]]:
    """Self time (median over runs, ms) of the modules the function imports and the baseline does not,
    by package: what the handler adds to `import boto3` + one client."""
    in_baseline = {line.module for run in baseline_lines for line in run}
    per_run: list[dict[str, float]] = []
    for run in function_lines:
        totals: dict[str, float] = {}
        for line in run:
            if line.module not in in_baseline:
                package = package_of(line.module)
                totals[package] = totals.get(package, 0.0) + line.self_us / 1000
        per_run.append(totals)
    packages = {package for totals in per_run for package in totals}
    added = {
        package: statistics.median(totals.get(package, 0.0) for totals in per_run) for package in packages
    }
    return sorted(added.items(), key=lambda item: -item[1])


def paired_ratios(samples: list[float], before: list[float], after: list[float]) -> list[float]:
    """Each function run over the mean of the baseline runs just before and just after it."""
    return [
        value / ((first + second) / 2) for value, first, second in zip(samples, before, after, strict=True)
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=9, help="fresh interpreters per function (default 9)")
    parser.add_argument(
        "--budget", type=float, default=1.5, help="allowed ratio to the baseline (default 1.5)"
    )
    parser.add_argument(
        "--why", action="store_true", help="also list what every API handler adds, not only the slowest"
    )
    parser.add_argument("--template", type=Path, default=ROOT / "template.yaml")
    args = parser.parse_args(argv)

    template = load_template(args.template)
    functions = list(template.functions.values())
    baseline_env = environment(template, None)
    codes = {function.logical_id: handler_code(function) for function in functions}
    envs = {function.logical_id: environment(template, function) for function in functions}

    # One unmeasured run each, so byte-code caches exist for every run that counts.
    run_once(BASELINE_CODE, baseline_env, ROOT)
    for function in functions:
        run_once(codes[function.logical_id], envs[function.logical_id], function.code_uri)

    baseline = Samples("baseline: import boto3 + boto3.client('dynamodb')", api=False)
    samples = {
        function.logical_id: Samples(function.logical_id, api=bool(function.routes)) for function in functions
    }
    # Each round: baseline, f1, baseline, f2, ..., fn, baseline; every function run is compared with
    # the two baseline runs around it, so a machine that slows down or speeds up hits both alike.
    before: dict[str, list[float]] = {function.logical_id: [] for function in functions}
    after: dict[str, list[float]] = {function.logical_id: [] for function in functions}
    for round_number in range(args.runs):
        print(f"\rround {round_number + 1}/{args.runs}", end="", file=sys.stderr, flush=True)
        previous = run_once(BASELINE_CODE, baseline_env, ROOT)[0]
        baseline.add(previous)
        for function in functions:
            samples[function.logical_id].add(
                run_once(codes[function.logical_id], envs[function.logical_id], function.code_uri)[0]
            )
            following = run_once(BASELINE_CODE, baseline_env, ROOT)[0]
            baseline.add(following)
            before[function.logical_id].append(previous["client"])
            after[function.logical_id].append(following["client"])
            previous = following
    print(file=sys.stderr)

    base = statistics.median(baseline.clients)
    header = (
        f"{'function':<30} {'import med':>10} {'+client med':>11} {'+client p90':>11} "
        f"{'ratio':>6}  verdict (budget {args.budget:.2g}x)"
    )
    print(
        f"Cold start, {args.runs} fresh interpreters per function, Python {sys.version.split()[0]}; ms; "
        "ratio = median over runs of (handler import + first DynamoDB client) / (mean of the baseline "
        "runs just before and after it)"
    )
    print(header)
    print("-" * len(header))
    print(
        f"{'baseline (boto3 + client)':<30} {statistics.median(baseline.imports):>10.1f} {base:>11.1f} "
        f"{p90(baseline.clients):>11.1f} {1.0:>6.2f}  ({len(baseline.clients)} runs)"
    )
    over: list[str] = []
    ratios: dict[str, float] = {}
    for function in functions:
        name = function.logical_id
        measured = samples[name]
        ratio = ratios[name] = statistics.median(paired_ratios(measured.clients, before[name], after[name]))
        within = ratio <= args.budget
        verdict = "OK" if within else "over"
        if not measured.api:
            verdict += " (not an API handler: not gated)"
        elif not within:
            over.append(name)
        imports, clients, slow = (
            statistics.median(measured.imports),
            statistics.median(measured.clients),
            p90(measured.clients),
        )
        print(f"{name:<30} {imports:>10.1f} {clients:>11.1f} {slow:>11.1f} {ratio:>6.2f}  {verdict}")

    api_functions = [function for function in functions if function.routes]
    if api_functions:
        baseline_lines = [importtime_lines(BASELINE_IMPORTTIME_CODE, baseline_env, ROOT) for _ in range(3)]
        ranked = sorted(api_functions, key=lambda function: -ratios[function.logical_id])
        print(
            "\nWhat an API handler adds to the baseline: self time of the modules it imports that the "
            "baseline does not (-X importtime, median of 3 runs, ms; import-time profiling inflates them):"
        )
        for function in ranked if args.why else ranked[:1]:
            name = function.logical_id
            runs = [importtime_lines(codes[name], envs[name], function.code_uri) for _ in range(3)]
            added = added_cost(runs, baseline_lines)
            listed = ", ".join(f"{package} {ms:.1f}" for package, ms in added[:6] if ms >= 0.5)
            total = sum(ms for _, ms in added)
            print(f"  {name} (ratio {ratios[name]:.2f}): {total:.0f} in all: {listed}")

    if over:
        print(f"\nFAIL: over {args.budget:.2g}x the baseline: {', '.join(over)}")
        return 1
    print(f"\nOK: every API handler is within {args.budget:.2g}x the baseline")
    return 0


if __name__ == "__main__":
    sys.exit(main())
