"""The deployable artifact, checked as Lambda would load it (`make build-check`, part of `make test`).

1. `sam validate --lint` and `sam build` with the real SAM CLI and Python 3.12 (no container).
2. The layer's dependencies are arm64 builds: its Makefile is run again with a compiled dependency
   and every shared object it installs must be an aarch64 ELF (as must any in the built layer).
3. Every function's handler is imported from `.aws-sam/build` in a fresh `python3.12 -I -S` whose
   `sys.path` holds only the function's folder, the built layer's `python/`, a stand-in for the
   official Powertools layer (the pinned aws-lambda-powertools and pydantic) and the pinned
   boto3/botocore (the runtime's SDK), and invoked with its success sample from `events/` against
   the embedded DynamoDB seeded with seeds/demo.json. A module missing from the layer fails here.

Downloads (the stand-ins, the check's compiled wheel) are kept in `.cache/build-check/`.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
BUILD_DIR = REPO_ROOT / ".aws-sam" / "build"
CACHE = REPO_ROOT / ".cache" / "build-check"
DEV_LOCK = REPO_ROOT / "requirements-dev.lock"
EVENTS = REPO_ROOT / "events"
DEMO_SEED = REPO_ROOT / "seeds" / "demo.json"
TABLE_ID = "LeasingTable"
REGION = "us-east-1"

#: What the official Powertools layer brings (it bundles pydantic); versions from the dev lock.
POWERTOOLS_STAND_IN = ["aws-lambda-powertools", "pydantic"]
#: The SDK the python3.12 runtime provides, at the version the dev lock pins.
RUNTIME_SDK = ["boto3", "botocore"]
#: A compiled distribution (pydantic's core) used to prove the layer build picks arm64 wheels.
COMPILED_PROBE = "pydantic-core"
ELF_MACHINE_AARCH64 = 183

#: The success sample of every function, and what it must answer.
SUCCESS_SAMPLES = {
    "AuthorizerFunction": "allow.json",
    "RequestLeaseFunction": "accepted.json",
    "GetLeaseRequestFunction": "found.json",
    "ListLeasedAccountsFunction": "organization.json",
    "ReleaseLeasedAccountFunction": "released.json",
    "RevokeSocialAccountFunction": "revoked.json",
    "OutboxRelayFunction": "outbox-insert.json",
    "AssignAccountsFunction": "lease-requested.json",
    "CancelScheduledPostsFunction": "social-account-revoked.json",
    "ReturnToPoolFunction": "leased-account-released.json",
    "BillingFunction": "leased-account-released.json",
    "RenewLeasesFunction": "hourly.json",
}

# Runs inside the fresh interpreter: sys.path is set to exactly the given folders (after the
# standard library), then the handler module is imported and invoked once.
BOOTSTRAP = r"""
import json, sys, time, uuid
folders, handler, event_file, result_file, function_name = sys.argv[1:6]
stdlib = [p for p in sys.path if p and "site-packages" not in p]
sys.path[:] = json.loads(folders) + stdlib

class Context:
    def __init__(self):
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.memory_limit_in_mb = 512
        self.aws_request_id = str(uuid.uuid4())
        self.invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:" + function_name
        self.log_group_name = "/aws/lambda/" + function_name
        self.log_stream_name = "build-check"
        self._deadline = time.monotonic() + 60
    def get_remaining_time_in_millis(self):
        return int((self._deadline - time.monotonic()) * 1000)

module_name, _, attribute = handler.rpartition(".")
module = __import__(module_name)
with open(event_file) as source:
    event = json.load(source)
result = getattr(module, attribute)(event, Context())
outside = sorted(
    name for name, loaded in sys.modules.items()
    if getattr(loaded, "__file__", None) and not any(
        loaded.__file__.startswith(folder) for folder in json.loads(folders) + stdlib
    )
)
with open(result_file, "w") as sink:
    json.dump({"result": result, "sys_path": sys.path, "outside": outside}, sink, default=str)
"""


class CheckFailed(RuntimeError):
    pass


def step(message: str) -> None:
    print(f"build-check: {message}", flush=True)


def pinned(names: list[str]) -> list[str]:
    """`name==version` for each name, from the dev lock (names compared as PyPI normalizes them)."""
    versions = {}
    for line in DEV_LOCK.read_text(encoding="utf-8").splitlines():
        name, _, version = line.partition("==")
        versions[name.strip().lower().replace("_", "-")] = version.strip()
    return [f"{name}=={versions[name.lower().replace('_', '-')]}" for name in names]


def run(command: list[str], *, env: dict[str, str] | None = None, cwd: Path = REPO_ROOT) -> None:
    completed = subprocess.run(command, cwd=cwd, env=env, check=False)
    if completed.returncode != 0:
        raise CheckFailed(f"{' '.join(command[:3])} ... exited {completed.returncode}")


def sam_environment(python312: Path) -> dict[str, str]:
    """SAM finds python3.12 (and make) on PATH; no telemetry, no update check, no credentials.

    SAM asks PyPI for a newer version at most weekly, remembering when in its config folder: that
    folder is ours (not ~/.aws-sam) and says it just checked, so SAM makes no network call.
    """
    config = CACHE / "sam-config"
    config.mkdir(parents=True, exist_ok=True)
    metadata = {"lastVersionCheck": time.time(), "telemetryEnabled": False}
    (config / "metadata.json").write_text(json.dumps(metadata), encoding="utf-8")
    env = {key: value for key, value in os.environ.items() if not key.startswith("AWS_")}
    env["PATH"] = f"{python312.parent}{os.pathsep}{env.get('PATH', '')}"
    env["__SAM_CLI_APP_DIR"] = str(config)
    env["SAM_CLI_TELEMETRY"] = "0"
    env["AWS_DEFAULT_REGION"] = env["AWS_REGION"] = REGION
    env["AWS_CONFIG_FILE"] = env["AWS_SHARED_CREDENTIALS_FILE"] = os.devnull
    return env


def sam_validate_and_build(sam: Path, python312: Path) -> None:
    env = sam_environment(python312)
    step("sam validate --lint")
    run([str(sam), "validate", "--lint", "--region", REGION], env=env)
    step("sam build")
    run([str(sam), "build", "--region", REGION], env=env)


def pip_target(python312: Path, requirements: list[str], target: Path, extra: list[str]) -> Path:
    """Install `requirements` into `target` once; later runs reuse it (the folder name is the key)."""
    if (target / ".complete").exists():
        return target
    shutil.rmtree(target, ignore_errors=True)
    pip = [str(python312), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-compile"]
    options = ["--root-user-action=ignore", "--only-binary=:all:", "--constraint", str(DEV_LOCK)]
    run([*pip, *options, "--target", str(target), *extra, *requirements])
    (target / ".complete").touch()
    return target


def stand_ins(python312: Path) -> tuple[Path, Path]:
    powertools = pinned(POWERTOOLS_STAND_IN)
    sdk = pinned(RUNTIME_SDK)
    # This machine's platform (the interpreter runs here); the layer itself is checked for arm64.
    tag = f"{platform.machine()}-py312"
    step(f"stand-ins: {' '.join(powertools)} | {' '.join(sdk)}")
    return (
        pip_target(python312, powertools, CACHE / f"powertools-{'-'.join(powertools)}-{tag}", []),
        pip_target(python312, sdk, CACHE / f"sdk-{'-'.join(sdk)}-{tag}", []),
    )


def elf_machine(path: Path) -> int:
    header = path.read_bytes()[:20]
    if header[:4] != b"\x7fELF":
        raise CheckFailed(f"{path} is not an ELF file")
    return int.from_bytes(header[18:20], "little" if header[5] == 1 else "big")


def shared_objects(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file() and (p.suffix == ".so" or ".so." in p.name))


def check_layer_architecture(python312: Path) -> None:
    step("layer dependencies are arm64 (built layer, and the layer Makefile with a compiled dependency)")
    built = shared_objects(BUILD_DIR / "CommonLayer")
    wrong = [p for p in built if elf_machine(p) != ELF_MACHINE_AARCH64]
    if wrong:
        raise CheckFailed(f"the built layer has non-arm64 binaries: {wrong}")
    with tempfile.TemporaryDirectory(prefix="layer-arch-") as scratch:
        requirements = Path(scratch) / "requirements.txt"
        requirements.write_text("\n".join(pinned([COMPILED_PROBE])) + "\n", encoding="utf-8")
        artifacts = Path(scratch) / "artifacts"
        env = dict(os.environ, PATH=f"{python312.parent}{os.pathsep}{os.environ.get('PATH', '')}")
        make = ["make", "--no-print-directory", "-C", "layers_common", "build-CommonLayer"]
        run([*make, f"ARTIFACTS_DIR={artifacts}", f"REQUIREMENTS={requirements}"], env=env)
        probe = shared_objects(artifacts)
        if not probe:
            raise CheckFailed(f"{COMPILED_PROBE} installed no shared object: the probe proves nothing")
        machines = {p.name: elf_machine(p) for p in probe}
        if set(machines.values()) != {ELF_MACHINE_AARCH64}:
            raise CheckFailed(f"the layer Makefile installed non-arm64 binaries: {machines}")


def handler_of(function_id: str) -> str:
    import yaml  # the built template is plain YAML except for short tags, which this does not need

    class Loader(yaml.SafeLoader):
        pass

    Loader.add_multi_constructor("!", lambda loader, suffix, node: None)
    built = yaml.load((BUILD_DIR / "template.yaml").read_text(encoding="utf-8"), Loader=Loader)  # noqa: S506
    handler = (
        built["Resources"][function_id]["Properties"].get("Handler")
        or built["Globals"]["Function"]["Handler"]
    )
    return str(handler)


def expected_outcome(function_id: str, sample: str) -> Any:
    """What tests/integration/test_sample_events.py says this sample answers."""
    from tests.integration import test_sample_events as samples

    relative = f"{function_id}/{sample}"
    if relative in samples.EXPECTED_STATUS:
        return {"statusCode": samples.EXPECTED_STATUS[relative]}
    if relative in samples.AUTHORIZER_ALLOWS:
        return {"allow": samples.AUTHORIZER_ALLOWS[relative]}
    result, _ = samples.EXPECTED_RESULTS[relative]
    return json.loads(json.dumps(result))


def invoke_built_functions(python312: Path, powertools: Path, sdk: Path) -> None:
    import boto3

    from layers_common.repository.leasing_repository import LeasingRepository
    from leasing_cli.embedded_dynamodb import EmbeddedDynamoDB
    from leasing_cli.lambda_runtime import LOCAL_AWS_ENVIRONMENT
    from leasing_cli.local_eventbridge import EventBridgeHTTPServer, LocalEventBridge
    from leasing_cli.seed import apply_seed, load_seed
    from leasing_cli.template import create_tables, default_template_path, load_template

    template = load_template(default_template_path())
    layer = BUILD_DIR / "CommonLayer" / "python"
    with EmbeddedDynamoDB() as dynamodb, EventBridgeHTTPServer(LocalEventBridge(template)) as bus:
        admin = boto3.client(
            "dynamodb",
            endpoint_url=dynamodb.endpoint_url,
            region_name=REGION,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        for function_id, sample in SUCCESS_SAMPLES.items():
            for name in admin.list_tables()["TableNames"]:
                admin.delete_table(TableName=name)
            create_tables(admin, template)
            apply_seed(LeasingRepository(TABLE_ID, admin), load_seed(DEMO_SEED))
            folders = [str(BUILD_DIR / function_id), str(layer), str(powertools), str(sdk)]
            env = {
                **template.functions[function_id].environment,
                **LOCAL_AWS_ENVIRONMENT,
                "AWS_ACCESS_KEY_ID": "testing",
                "AWS_SECRET_ACCESS_KEY": "testing",
                "AWS_DEFAULT_REGION": REGION,
                "AWS_REGION": REGION,
                "AWS_LAMBDA_FUNCTION_NAME": function_id,
                "AWS_ENDPOINT_URL_DYNAMODB": dynamodb.endpoint_url,
                "AWS_ENDPOINT_URL_EVENTBRIDGE": bus.endpoint_url,
                "AWS_CONFIG_FILE": os.devnull,
                "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
            }
            with tempfile.TemporaryDirectory(prefix="invoke-") as scratch:
                result_file = Path(scratch) / "result.json"
                command = [str(python312), "-I", "-S", "-c", BOOTSTRAP, json.dumps(folders)]
                command += [handler_of(function_id), str(EVENTS / function_id / sample), str(result_file)]
                command += [function_id]
                started = time.monotonic()
                completed = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
                if completed.returncode != 0 or not result_file.exists():
                    raise CheckFailed(
                        f"{function_id} failed from .aws-sam/build:\n{completed.stderr[-4000:]}"
                    )
                report = json.loads(result_file.read_text(encoding="utf-8"))
            check_result(function_id, sample, report, folders)
            step(f"{function_id} <- {sample}: ok ({time.monotonic() - started:.1f} s)")


def check_result(function_id: str, sample: str, report: dict[str, Any], folders: list[str]) -> None:
    result, expected = report["result"], expected_outcome(function_id, sample)
    if report["outside"]:
        raise CheckFailed(f"{function_id} loaded modules from outside its folders: {report['outside']}")
    if report["sys_path"][: len(folders)] != folders:
        raise CheckFailed(f"{function_id} ran with sys.path {report['sys_path']}")
    if "statusCode" in expected:
        ok = result.get("statusCode") == expected["statusCode"]
    elif "allow" in expected:
        ok = result["policyDocument"]["Statement"][0]["Effect"] == "Allow"
    else:
        ok = result == expected
    if not ok:
        raise CheckFailed(f"{function_id} <- {sample}: got {result}, expected {expected}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--python", required=True, type=Path, help="the python3.12 interpreter")
    parser.add_argument("--sam", required=True, type=Path, help="the sam executable (.venv-sam/bin/sam)")
    args = parser.parse_args()
    started = time.monotonic()
    try:
        sam_validate_and_build(args.sam, args.python)
        check_layer_architecture(args.python)
        powertools, sdk = stand_ins(args.python)
        invoke_built_functions(args.python, powertools, sdk)
    except CheckFailed as failure:
        print(f"build-check: FAILED: {failure}", file=sys.stderr)
        return 1
    elapsed = time.monotonic() - started
    step(f"all {len(SUCCESS_SAMPLES)} functions ran from the built artifacts ({elapsed:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
