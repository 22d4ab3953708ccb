"""Offline SAM → CloudFormation translation and cfn-lint runs shared by the infrastructure tests."""

from __future__ import annotations

import copy
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cfnlint.api import ManualArgs, lint
from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse

REPO_ROOT = Path(__file__).resolve().parents[2]
TEMPLATE_PATH = REPO_ROOT / "template.yaml"
LINT_REGIONS = ["us-east-1"]

# What `sam validate` / `sam local` resolve pseudo parameters to when there is no stack.
PSEUDO_PARAMETERS: dict[str, Any] = {
    "AWS::AccountId": "123456789012",
    "AWS::Partition": "aws",
    "AWS::Region": "us-east-1",
    "AWS::StackName": "leasing-test",
    "AWS::StackId": (
        "arn:aws:cloudformation:us-east-1:123456789012:stack/leasing-test/51af3dc0-da77-11e4-872e-1234567db123"
    ),
    "AWS::URLSuffix": "amazonaws.com",
    "AWS::NotificationARNs": [],
}

# The AWS managed policies SAM may look up by name; the real loader asks IAM, which we never call.
AWS_MANAGED_POLICIES = {
    name: f"arn:aws:iam::aws:policy/{path}{name}"
    for name, path in {
        "AWSLambdaBasicExecutionRole": "service-role/",
        "AWSLambdaDynamoDBExecutionRole": "service-role/",
        "AWSLambdaSQSQueueExecutionRole": "service-role/",
        "AWSXRayDaemonWriteAccess": "",
    }.items()
}


class OfflineManagedPolicyLoader:
    """Stands in for samtranslator's ManagedPolicyLoader, answering from a fixed map instead of IAM."""

    def load(self) -> dict[str, str]:
        return dict(AWS_MANAGED_POLICIES)


@dataclass(frozen=True)
class LintFinding:
    rule_id: str
    message: str
    line: int

    def __str__(self) -> str:
        return f"{self.rule_id} line {self.line}: {self.message}"


@pytest.fixture(scope="session")
def template_text() -> str:
    return TEMPLATE_PATH.read_text(encoding="utf-8")


@pytest.fixture(scope="session")
def sam_template(template_text: str) -> dict[str, Any]:
    """template.yaml as written (SAM), with CloudFormation short tags understood."""
    parsed: dict[str, Any] = yaml_parse(template_text)
    return parsed


@contextmanager
def _hermetic_aws_environment() -> Iterator[None]:
    """No profile, config file or credentials of the machine running the tests can leak in."""
    with pytest.MonkeyPatch.context() as patch:
        for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
            patch.delenv(name, raising=False)
        patch.setenv("AWS_CONFIG_FILE", os.devnull)
        patch.setenv("AWS_SHARED_CREDENTIALS_FILE", os.devnull)
        # samtranslator builds a boto3 session just to read the region name (no call is made).
        patch.setenv("AWS_DEFAULT_REGION", PSEUDO_PARAMETERS["AWS::Region"])
        patch.setenv("AWS_REGION", PSEUDO_PARAMETERS["AWS::Region"])
        yield


def _with_placeholder_code_locations(sam: dict[str, Any]) -> dict[str, Any]:
    """Point local CodeUri/ContentUri folders at S3, as `sam validate` does before translating."""
    template = copy.deepcopy(sam)
    sections = [template.get("Globals", {}).get("Function", {})]
    sections += [resource.get("Properties", {}) for resource in template.get("Resources", {}).values()]
    for properties in sections:
        for key in ("CodeUri", "ContentUri"):
            location = properties.get(key)
            if isinstance(location, str) and not location.startswith("s3://"):
                properties[key] = f"s3://leasing-artifacts/{location.strip('/')}"
    return template


@pytest.fixture(scope="session")
def cfn_template(sam_template: dict[str, Any]) -> dict[str, Any]:
    """template.yaml translated to plain CloudFormation offline, parameters at their defaults."""
    with _hermetic_aws_environment():
        translated = transform(
            _with_placeholder_code_locations(sam_template),
            dict(PSEUDO_PARAMETERS),
            OfflineManagedPolicyLoader(),
        )
    # A JSON round trip proves the result is plain data and detaches it from samtranslator's objects.
    plain: dict[str, Any] = json.loads(json.dumps(translated))
    return plain


def _lint(text: str) -> list[LintFinding]:
    # cfn-lint ships its resource specs; it downloads nothing unless asked to update them.
    with _hermetic_aws_environment():
        matches = lint(text, config=ManualArgs(regions=LINT_REGIONS))
    return sorted(
        (LintFinding(match.rule.id, match.message, match.linenumber) for match in matches),
        key=lambda finding: (finding.rule_id, finding.line, finding.message),
    )


@pytest.fixture(scope="session")
def translated_lint_findings(cfn_template: dict[str, Any]) -> list[LintFinding]:
    return _lint(json.dumps(cfn_template, indent=1))


@pytest.fixture(scope="session")
def sam_lint_findings(template_text: str) -> list[LintFinding]:
    return _lint(template_text)
