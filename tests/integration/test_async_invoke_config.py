"""`EventInvokeConfig` and a function `DeadLetterQueue` read from a template (Lambda's defaults if absent)."""

from __future__ import annotations

from pathlib import Path

import pytest

from leasing_cli.template import AsyncInvokeConfig, TemplateError, default_template_path, load_template

TEMPLATE = """
Transform: AWS::Serverless-2016-10-31
Resources:
  Failures:
    Type: AWS::SQS::Queue
  Plain:
    Type: AWS::Serverless::Function
    Properties: {CodeUri: fn/, Handler: app.handler, Runtime: python3.12}
  Configured:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: fn/
      Handler: app.handler
      Runtime: python3.12
      EventInvokeConfig:
        MaximumRetryAttempts: @RETRIES@
        MaximumEventAgeInSeconds: 120
        DestinationConfig:
          OnFailure: {Type: SQS, Destination: !GetAtt Failures.Arn}
      DeadLetterQueue: {Type: SQS, TargetArn: !GetAtt Failures.Arn}
"""


def write(folder: Path, retries: int = 1) -> Path:
    path = folder / "template.yaml"
    path.write_text(TEMPLATE.replace("@RETRIES@", str(retries)))
    return path


def test_a_function_without_event_invoke_config_gets_lambdas_defaults(tmp_path):
    # Given / When a function with no EventInvokeConfig is read / Then 2 retries, 6 hours, no destination
    template = load_template(write(tmp_path))
    assert template.functions["Plain"].async_config == AsyncInvokeConfig(2, 21600, None, None, None)


def test_a_configured_function_names_its_queues_by_logical_id(tmp_path):
    # Given / When / Then the retries, the age and both queues are read
    config = load_template(write(tmp_path)).functions["Configured"].async_config
    assert config == AsyncInvokeConfig(1, 120, "Failures", "SQS", "Failures")


def test_a_retry_count_lambda_refuses_is_a_template_error(tmp_path):
    # Given / When / Then MaximumRetryAttempts above 2 is refused, as Lambda does
    with pytest.raises(TemplateError, match="MaximumRetryAttempts 0-2"):
        load_template(write(tmp_path, retries=3))


def test_every_asynchronously_invoked_function_of_the_real_template_has_an_on_failure_queue():
    # Given the repository's template
    template = load_template(default_template_path())
    # When the functions with rule or schedule events are read
    targets = [f for f in template.functions.values() if f.event_rules or f.schedules]
    # Then each sends its failures to a queue of the template that is not a rule's DLQ
    assert len(targets) == 5
    for function in targets:
        queue = function.async_config.on_failure_destination
        assert queue in template.queue_ids, function.logical_id
        assert queue not in {rule.dead_letter_queue for rule in function.event_rules}
