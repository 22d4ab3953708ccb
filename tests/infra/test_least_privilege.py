"""Each function's role grants exactly the DynamoDB actions its code can make, on the right resource.

What the code can make is read from the source (tests/infra/dynamodb_calls.py); the sample events
are then run against the embedded DynamoDB with a botocore hook, and what they really do must be
within it, so the reading cannot have missed a path the functions take.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from tests.infra.dynamodb_calls import (
    OPERATION_ACTIONS,
    REPO_ROOT,
    TABLE,
    TRANSACTION_ITEM_ACTIONS,
    Grant,
    function_grants,
)

Template = dict[str, Any]
TABLE_ID = "LeasingTable"
EVENTS = REPO_ROOT / "events"
DEMO_SEED = REPO_ROOT / "seeds" / "demo.json"


def function_ids(sam: Template) -> list[str]:
    return sorted(k for k, v in sam["Resources"].items() if v["Type"] == "AWS::Serverless::Function")


def index_names(sam: Template) -> list[str]:
    table = sam["Resources"][TABLE_ID]["Properties"]
    return [index["IndexName"] for index in table.get("GlobalSecondaryIndexes", [])]


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _resource(value: Any) -> str:
    if value == {"Fn::GetAtt": [TABLE_ID, "Arn"]}:
        return TABLE
    text = value.get("Fn::Sub") if isinstance(value, dict) else None
    prefix = "${" + TABLE_ID + ".Arn}/"
    if isinstance(text, str) and text.startswith(prefix):
        return text[len(prefix) :]
    raise AssertionError(f"not the table or one of its indexes: {value}")


def granted(cfn: Template, function_id: str) -> set[Grant]:
    """The (DynamoDB action, resource) pairs of the inline statements of a function's role."""
    role_id = cfn["Resources"][function_id]["Properties"]["Role"]["Fn::GetAtt"][0]
    grants: set[Grant] = set()
    for policy in cfn["Resources"][role_id]["Properties"].get("Policies", []):
        for statement in as_list(policy["PolicyDocument"]["Statement"]):
            actions, resources = as_list(statement["Action"]), as_list(statement["Resource"])
            grants |= {
                (action, _resource(resource))
                for action in actions
                if action.startswith("dynamodb:")
                for resource in resources
            }
    return grants


@pytest.fixture(scope="module")
def derived(sam_template: Template) -> dict[str, set[Grant]]:
    indexes = index_names(sam_template)
    return {
        function_id: function_grants(
            REPO_ROOT / sam_template["Resources"][function_id]["Properties"]["CodeUri"], indexes
        )
        for function_id in function_ids(sam_template)
    }


def test_every_function_is_checked_and_the_reading_finds_dynamodb_calls(
    sam_template: Template, derived: dict[str, set[Grant]]
) -> None:
    # Given the functions of the template and what their code can call
    # Then all twelve are read, and every one but the relay (which only publishes) reaches the table
    assert len(derived) == 12
    assert {function for function, grants in derived.items() if not grants} == {"OutboxRelayFunction"}


@pytest.mark.parametrize(
    "function_id",
    [
        "AuthorizerFunction",
        "RequestLeaseFunction",
        "GetLeaseRequestFunction",
        "ListLeasedAccountsFunction",
        "ReleaseLeasedAccountFunction",
        "RevokeSocialAccountFunction",
        "OutboxRelayFunction",
        "AssignAccountsFunction",
        "CancelScheduledPostsFunction",
        "ReturnToPoolFunction",
        "BillingFunction",
        "RenewLeasesFunction",
    ],
)
def test_a_function_role_grants_exactly_the_dynamodb_actions_its_code_can_make(
    cfn_template: Template, derived: dict[str, set[Grant]], function_id: str
) -> None:
    # Given what the function's code can call on DynamoDB (read from its source and the layer's)
    needed = derived[function_id]
    # When reading what its role allows on the table and its indexes
    allowed = granted(cfn_template, function_id)
    # Then nothing is missing and nothing is extra
    assert sorted(allowed - needed) == [], "granted but never used"
    assert sorted(needed - allowed) == [], "used but not granted"


# ------------------------------------------------------------------- the reading vs. real runs


class _Recorder:
    """A botocore hook: the IAM action (and resource) of every DynamoDB request a function makes."""

    def __init__(self) -> None:
        self.function = ""
        self.seen: dict[str, set[Grant]] = {}

    def __call__(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        grants = self.seen.setdefault(self.function, set())
        if model.name == "TransactWriteItems":
            for item in params["TransactItems"]:
                grants |= {(TRANSACTION_ITEM_ACTIONS[kind], TABLE) for kind in item}
            return
        resource = f"index/{params['IndexName']}" if "IndexName" in params else TABLE
        grants.add((OPERATION_ACTIONS[model.name], resource))


@pytest.fixture(scope="module")
def sample_runs() -> Iterator[dict[str, set[Grant]]]:
    """Every events/ sample, each on a freshly seeded embedded DynamoDB, recorded per function."""
    from layers_common.dependencies import reset_dependencies
    from layers_common.repository.dynamodb import dynamodb_client
    from layers_common.repository.leasing_repository import LeasingRepository
    from leasing_cli.embedded_dynamodb import EmbeddedDynamoDB
    from leasing_cli.lambda_runtime import LambdaRuntime, configure_process_environment
    from leasing_cli.local_eventbridge import EventBridgeHTTPServer, LocalEventBridge
    from leasing_cli.seed import apply_seed, load_seed
    from leasing_cli.template import create_tables, default_template_path, load_template

    template = load_template(default_template_path())
    recorder = _Recorder()
    saved = dict(os.environ)
    try:
        with EmbeddedDynamoDB() as dynamodb, EventBridgeHTTPServer(LocalEventBridge(template)) as bus:
            configure_process_environment(template, dynamodb.endpoint_url)
            for variable in ("AWS_ENDPOINT_URL_EVENTBRIDGE", "AWS_ENDPOINT_URL_EVENTS"):
                os.environ[variable] = bus.endpoint_url
            admin = boto3.client(
                "dynamodb",
                endpoint_url=dynamodb.endpoint_url,
                region_name="us-east-1",
                aws_access_key_id="testing",
                aws_secret_access_key="testing",
            )
            runtime = LambdaRuntime(template)
            for path in sorted(EVENTS.glob("*/*.json")):
                for name in admin.list_tables()["TableNames"]:
                    admin.delete_table(TableName=name)
                create_tables(admin, template)
                apply_seed(LeasingRepository(TABLE_ID, admin), load_seed(DEMO_SEED))
                reset_dependencies()
                dynamodb_client().meta.events.register("before-parameter-build.dynamodb", recorder)
                recorder.function = path.parent.name
                event = json.loads(path.read_text(encoding="utf-8"))
                if path.parent.name == "AuthorizerFunction" and path.stem != "allow":
                    with pytest.raises(Exception, match=r"^Unauthorized$"):  # API Gateway's 401
                        runtime.invoke(path.parent.name, event)
                else:
                    runtime.invoke(path.parent.name, event)
            yield recorder.seen
    finally:
        os.environ.clear()
        os.environ.update(saved)
        reset_dependencies()


def test_what_the_sample_events_really_call_is_within_what_the_code_reading_found(
    derived: dict[str, set[Grant]], sample_runs: dict[str, set[Grant]]
) -> None:
    # Given every sample event run against the seeded embedded DynamoDB, calls recorded per function
    # When comparing each function's recorded calls with what reading its code found
    unexplained = {function: sorted(calls - derived[function]) for function, calls in sample_runs.items()}
    # Then every call made is one the reading found (and the samples did reach the table)
    assert sum(map(len, sample_runs.values())) > 0
    assert {function: calls for function, calls in unexplained.items() if calls} == {}
