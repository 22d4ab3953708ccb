"""Every file in events/ replays against the demo seed with the outcome its name promises."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from layers_common.repository.leasing_repository import LeasingRepository
from leasing_cli.lambda_runtime import LambdaRuntime
from leasing_cli.seed import apply_seed, load_seed

EVENTS = Path(__file__).resolve().parents[2] / "events"
DEMO_SEED = Path(__file__).resolve().parents[2] / "seeds" / "demo.json"

EXPECTED_STATUS = {
    "RequestLeaseFunction/accepted.json": 202,
    "RequestLeaseFunction/validation-error.json": 422,
    "RequestLeaseFunction/project-not-found.json": 404,
    "GetLeaseRequestFunction/found.json": 200,
    "GetLeaseRequestFunction/found-by-project.json": 200,
    "GetLeaseRequestFunction/not-found.json": 404,
    "ListLeasedAccountsFunction/organization.json": 200,
    "ListLeasedAccountsFunction/project.json": 200,
    "ListLeasedAccountsFunction/invalid-limit.json": 422,
    "ListLeasedAccountsFunction/other-organizations-project.json": 404,
    "ReleaseLeasedAccountFunction/released.json": 200,
    "ReleaseLeasedAccountFunction/byo-account-conflict.json": 409,
    "ReleaseLeasedAccountFunction/not-found.json": 404,
    "RevokeSocialAccountFunction/revoked.json": 200,
    "RevokeSocialAccountFunction/leased-account-conflict.json": 409,
    "RevokeSocialAccountFunction/not-found.json": 404,
}
AUTHORIZER_ALLOWS = {
    "AuthorizerFunction/allow.json": True,
    "AuthorizerFunction/unknown-key.json": False,
    "AuthorizerFunction/malformed-key.json": False,
}


def sample(relative: str) -> dict[str, Any]:
    return dict(json.loads((EVENTS / relative).read_text()))


def test_every_sample_event_has_an_expected_outcome_and_every_function_has_success_and_error_cases() -> None:
    # Given the events folder
    files = {str(path.relative_to(EVENTS)) for path in EVENTS.glob("*/*.json")}
    # Then each file is accounted for here, and each function has at least one success and one error case
    assert files == set(EXPECTED_STATUS) | set(AUTHORIZER_ALLOWS)
    for function in {name.split("/")[0] for name in EXPECTED_STATUS}:
        statuses = [status for name, status in EXPECTED_STATUS.items() if name.startswith(function + "/")]
        assert any(status < 400 for status in statuses), function
        assert any(status >= 400 for status in statuses), function


@pytest.fixture
def demo(repository: LeasingRepository) -> LeasingRepository:
    apply_seed(repository, load_seed(DEMO_SEED))
    return repository


@pytest.mark.parametrize("relative", sorted(EXPECTED_STATUS))
def test_an_endpoint_sample_event_replays_with_its_status(
    demo: Any, runtime: LambdaRuntime, relative: str
) -> None:
    # Given the demo seed and a sample event
    function = relative.split("/")[0]
    # When the function is invoked with it, as `leasing invoke` does
    result = runtime.invoke(function, sample(relative))
    # Then the status is the one the file's name promises, with the envelope on errors
    assert result["statusCode"] == EXPECTED_STATUS[relative], result["body"]
    body = json.loads(result["body"])
    if result["statusCode"] >= 400:
        assert set(body["error"]) >= {"code", "message", "requestId"}


@pytest.mark.parametrize("relative", sorted(AUTHORIZER_ALLOWS))
def test_an_authorizer_sample_event_allows_or_refuses(
    demo: Any, runtime: LambdaRuntime, relative: str
) -> None:
    # Given the demo seed and an authorizer event
    event = sample(relative)
    if AUTHORIZER_ALLOWS[relative]:
        # When it carries the demo key, Then the policy allows and the context names the organization
        result = runtime.invoke("AuthorizerFunction", event)
        assert result["policyDocument"]["Statement"][0]["Effect"] == "Allow"
        assert result["context"]["orgId"] == "org_demo"
        assert "secret" not in json.dumps(result).lower()
    else:
        # When the key is unknown or malformed, Then it raises API Gateway's Unauthorized
        with pytest.raises(Exception, match=r"^Unauthorized$"):
            runtime.invoke("AuthorizerFunction", event)
