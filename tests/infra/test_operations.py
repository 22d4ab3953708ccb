"""Failures are captured, alarms can reach someone, and the API stage is observable and throttled."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from samtranslator.translator.transform import transform

from tests.infra.conftest import (
    PSEUDO_PARAMETERS,
    OfflineManagedPolicyLoader,
    _hermetic_aws_environment,
    _with_placeholder_code_locations,
)

pytestmark = pytest.mark.disable_socket

Template = dict[str, Any]

XRAY_POLICY = "arn:aws:iam::aws:policy/AWSXrayWriteOnlyAccess"
ASYNC_FUNCTIONS = [
    "AssignAccountsFunction",
    "CancelScheduledPostsFunction",
    "ReturnToPoolFunction",
    "BillingFunction",
    "RenewLeasesFunction",
]


def of_type(template: Template, resource_type: str) -> dict[str, Any]:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == resource_type}


def props(template: Template, logical_id: str) -> dict[str, Any]:
    value: dict[str, Any] = template["Resources"][logical_id].get("Properties", {})
    return value


def alarm_metrics(alarm: dict[str, Any]) -> list[tuple[str, str, Any]]:
    """(namespace, metric, first dimension value) of a plain alarm or of each metric of a math alarm."""
    properties = alarm["Properties"]
    if "MetricName" in properties:
        return [(properties["Namespace"], properties["MetricName"], properties["Dimensions"][0]["Value"])]
    return [
        (
            query["MetricStat"]["Metric"]["Namespace"],
            query["MetricStat"]["Metric"]["MetricName"],
            query["MetricStat"]["Metric"]["Dimensions"][0]["Value"],
        )
        for query in properties["Metrics"]
        if "MetricStat" in query
    ]


def translated(parameters: dict[str, str]) -> Template:
    from samtranslator.yaml_helper import yaml_parse

    from tests.infra.conftest import TEMPLATE_PATH

    sam = yaml_parse(TEMPLATE_PATH.read_text(encoding="utf-8"))
    with _hermetic_aws_environment():
        result = transform(
            _with_placeholder_code_locations(sam),
            {**PSEUDO_PARAMETERS, **parameters},
            OfflineManagedPolicyLoader(),
        )
    plain: Template = json.loads(json.dumps(result))
    return plain


# --------------------------------------------------------------------- failures and their alarms


@pytest.mark.parametrize("function_id", ASYNC_FUNCTIONS)
def test_an_asynchronously_invoked_function_sends_what_failed_every_attempt_to_its_own_queue(
    cfn_template: Template, function_id: str
) -> None:
    # Given a function invoked by a rule or the schedule
    configs = [c["Properties"] for c in of_type(cfn_template, "AWS::Lambda::EventInvokeConfig").values()]
    # When reading its asynchronous invocation config
    (config,) = [c for c in configs if c["FunctionName"] == {"Ref": function_id}]
    destination = config["DestinationConfig"]["OnFailure"]["Destination"]
    # Then failures are retried and then sent to the SQS queue named after it, which it may write to
    assert config["MaximumRetryAttempts"] == 2
    queue = function_id.removesuffix("Function") + "FailureQueue"
    assert destination == {"Fn::GetAtt": [queue, "Arn"]}
    role = props(cfn_template, function_id)["Role"]["Fn::GetAtt"][0]
    policies = json.dumps(props(cfn_template, role)["Policies"])
    assert "sqs:SendMessage" in policies
    assert queue in policies


def test_the_relay_stream_mapping_keeps_its_on_failure_destination(cfn_template: Template) -> None:
    # Given the table stream -> relay mapping
    mappings = of_type(cfn_template, "AWS::Lambda::EventSourceMapping").values()
    (mapping,) = [
        m["Properties"] for m in mappings if m["Properties"]["FunctionName"] == {"Ref": "OutboxRelayFunction"}
    ]
    # When reading where a batch that failed every attempt goes
    # Then it is the relay's failure queue
    assert mapping["DestinationConfig"]["OnFailure"]["Destination"] == {
        "Fn::GetAtt": ["OutboxRelayFailureQueue", "Arn"]
    }


def test_every_function_has_an_errors_alarm_and_a_line_on_the_dashboard(cfn_template: Template) -> None:
    # Given every function and every alarm of the template
    functions = set(of_type(cfn_template, "AWS::Lambda::Function"))
    alarms = of_type(cfn_template, "AWS::CloudWatch::Alarm").values()
    # When picking the alarms on a function's Errors metric (alone, or in a metric-math alarm)
    watched = {
        dimension["Ref"]
        for alarm in alarms
        for namespace, metric, dimension in alarm_metrics(alarm)
        if (namespace, metric) == ("AWS/Lambda", "Errors")
    }
    # Then every one of the twelve functions is watched, and the dashboard's errors widget shows it
    assert len(functions) == 12
    assert watched == functions
    dashboard = json.dumps(props(cfn_template, "Dashboard")["DashboardBody"])
    assert all(f"${{{function_id}}}" in dashboard for function_id in functions)


def test_every_queue_has_a_depth_alarm_that_exists_whenever_the_queue_does(cfn_template: Template) -> None:
    # Given every SQS queue (failure destinations, rule DLQs, the e-mail subscription's DLQ)
    queues = of_type(cfn_template, "AWS::SQS::Queue")
    alarms = of_type(cfn_template, "AWS::CloudWatch::Alarm").values()
    # When finding the alarm on each queue's visible messages
    depth = {
        dimension["Fn::GetAtt"][0]: alarm.get("Condition")
        for alarm in alarms
        for namespace, metric, dimension in alarm_metrics(alarm)
        if (namespace, metric) == ("AWS/SQS", "ApproximateNumberOfMessagesVisible")
    }
    # Then each queue has one, under the same condition as the queue
    assert {queue: resource.get("Condition") for queue, resource in queues.items()} == depth


# ------------------------------------------------------------------------------ alerts that arrive


def test_the_alarm_topic_uses_a_rotated_customer_key_that_cloudwatch_may_use(cfn_template: Template) -> None:
    # Given the created alarm topic
    key_ref = props(cfn_template, "AlarmTopic")["KmsMasterKeyId"]
    # When reading the key that encrypts it
    assert key_ref == {"Fn::GetAtt": ["AlarmTopicKey", "Arn"]}
    key = props(cfn_template, "AlarmTopicKey")
    statements = key["KeyPolicy"]["Statement"]
    cloudwatch = [s for s in statements if s["Principal"] == {"Service": "cloudwatch.amazonaws.com"}]
    account = [s for s in statements if "AWS" in s["Principal"]]
    # Then it rotates, CloudWatch may encrypt and decrypt with it, and the account administers it
    assert key["EnableKeyRotation"] is True
    assert [sorted(s["Action"]) for s in cloudwatch] == [["kms:Decrypt", "kms:GenerateDataKey*"]]
    assert account[0]["Principal"]["AWS"] == {"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:root"}
    assert "alias/aws/sns" not in json.dumps(cfn_template)


def test_the_email_subscription_redrives_to_a_queue_only_this_topic_may_write(cfn_template: Template) -> None:
    # Given the e-mail subscription of the alarm topic
    subscription = props(cfn_template, "AlarmEmailSubscription")
    # When reading its redrive policy and that queue's policy
    target = subscription["RedrivePolicy"]["deadLetterTargetArn"]
    assert target == {"Fn::GetAtt": ["AlarmEmailDeadLetterQueue", "Arn"]}
    policies = [
        p["Properties"]
        for p in of_type(cfn_template, "AWS::SQS::QueuePolicy").values()
        if p["Properties"]["Queues"] == [{"Ref": "AlarmEmailDeadLetterQueue"}]
    ]
    (statement,) = policies[0]["PolicyDocument"]["Statement"]
    # Then SNS may send there, and only from the alarm topic
    assert statement["Principal"] == {"Service": "sns.amazonaws.com"}
    assert statement["Action"] == "sqs:SendMessage"
    assert statement["Condition"] == {"ArnEquals": {"aws:SourceArn": {"Ref": "AlarmTopic"}}}


def test_each_rule_dead_letter_queue_accepts_only_the_rule_of_this_stack_that_uses_it(
    cfn_template: Template,
) -> None:
    # Given the rules of the template and the queue policy of their dead-letter queues
    rules = of_type(cfn_template, "AWS::Events::Rule")
    dlq_of_rule = {
        rule_id: target["DeadLetterConfig"]["Arn"]["Fn::GetAtt"][0]
        for rule_id, rule in rules.items()
        for target in rule["Properties"]["Targets"]
        if "DeadLetterConfig" in target
    }
    statements = props(cfn_template, "DeadLetterQueuesPolicy")["PolicyDocument"]["Statement"]
    # When reading which source each statement admits
    admitted = {
        s["Resource"]["Fn::GetAtt"][0]: s["Condition"]["ArnEquals"]["aws:SourceArn"]["Fn::GetAtt"][0]
        for s in statements
    }
    # Then every queue admits exactly its own rule (no rule/* wildcard)
    assert len(dlq_of_rule) == 5
    assert admitted == {queue: rule for rule, queue in dlq_of_rule.items()}
    assert "rule/*" not in json.dumps(statements)


# ------------------------------------------------------------------------------------- API stage


def test_the_stage_writes_json_access_logs_without_the_authorization_header(cfn_template: Template) -> None:
    # Given the API stage
    (stage_id,) = of_type(cfn_template, "AWS::ApiGateway::Stage")
    setting = props(cfn_template, stage_id)["AccessLogSetting"]
    # When API Gateway renders one access log line
    line = re.sub(r"\$context\.[\w.]+", "x", setting["Format"])
    fields = json.loads(line)
    # Then it is JSON with the caller, the route, the outcome and the authorizer's key and org ids,
    # and nothing taken from the request headers
    assert set(fields) >= {"requestId", "ip", "httpMethod", "resourcePath", "status", "responseLatency"}
    assert "$context.authorizer.keyId" in setting["Format"]
    assert "$context.authorizer.orgId" in setting["Format"]
    assert "authorization" not in setting["Format"].lower().replace("$context.authorizer", "")
    assert "header" not in setting["Format"].lower()
    assert setting["DestinationArn"] == {"Fn::GetAtt": ["ApiAccessLogGroup", "Arn"]}
    assert "RetentionInDays" in props(cfn_template, "ApiAccessLogGroup")


def test_the_authorizer_context_has_the_fields_the_access_log_names() -> None:
    # Given the context the authorizer returns for a key
    from layers_common.principal import Principal

    context = Principal(
        org_id="org_1", key_id="KEYID", scopes=frozenset(), tier="standard", env="test", suspended=False
    ).to_context()
    # Then the access log's keyId and orgId are in it
    assert {"keyId", "orgId"} <= set(context)


def test_the_stage_throttles_every_method_by_default_from_parameters(cfn_template: Template) -> None:
    # Given the API stage
    (stage_id,) = of_type(cfn_template, "AWS::ApiGateway::Stage")
    # When reading its method settings
    (setting,) = props(cfn_template, stage_id)["MethodSettings"]
    # Then every resource and method is throttled by the two parameters
    assert (setting["ResourcePath"], setting["HttpMethod"]) == ("/*", "*")
    assert setting["ThrottlingRateLimit"] == {"Ref": "ApiThrottlingRateLimit"}
    assert setting["ThrottlingBurstLimit"] == {"Ref": "ApiThrottlingBurstLimit"}


def test_api_gateway_has_its_account_role_for_logs_before_the_api_exists(cfn_template: Template) -> None:
    # Given the account-level API Gateway setting
    account = props(cfn_template, "ApiGatewayAccount")
    role = props(cfn_template, account["CloudWatchRoleArn"]["Fn::GetAtt"][0])
    # Then it names a role API Gateway may assume to push logs, and the API waits for it
    assert role["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {
        "Service": "apigateway.amazonaws.com"
    }
    assert "AmazonAPIGatewayPushToCloudWatchLogs" in json.dumps(role["ManagedPolicyArns"])
    assert cfn_template["Resources"]["LeasingApi"]["DependsOn"] == "ApiGatewayAccount"


@pytest.mark.parametrize(("tracing", "traced"), [("Disabled", False), ("Active", True)])
def test_tracing_follows_the_parameter_in_functions_roles_and_the_stage(tracing: str, traced: bool) -> None:
    # Given the template translated with the Tracing parameter set
    template = translated({"Tracing": tracing})
    functions = of_type(template, "AWS::Lambda::Function")
    # When reading each function's tracing and role, and the stage
    configured = {f_id: "TracingConfig" in f["Properties"] for f_id, f in functions.items()}
    may_write = {
        f_id: XRAY_POLICY
        in props(template, f["Properties"]["Role"]["Fn::GetAtt"][0]).get("ManagedPolicyArns", [])
        for f_id, f in functions.items()
    }
    (stage_id,) = of_type(template, "AWS::ApiGateway::Stage")
    # Then all follow it: no X-Ray write access at all when it is Disabled
    assert set(configured.values()) == {traced}
    assert set(may_write.values()) == {traced}
    assert props(template, stage_id)["TracingEnabled"] == {"Fn::If": ["TracingOn", True, False]}


def test_the_powertools_layer_the_template_resolves_is_the_version_the_lock_pins(
    sam_template: Template,
) -> None:
    # Given the SSM parameter of the official Powertools layer and the dev lock the tests run with
    parameter = sam_template["Parameters"]["PowertoolsLayerArn"]["Default"]
    lock = (Path(__file__).resolve().parents[2] / "requirements-dev.lock").read_text(encoding="utf-8")
    # When reading both versions
    (pinned,) = re.findall(r"^aws[-_]lambda[-_]powertools==(\S+)$", lock, flags=re.MULTILINE)
    # Then the functions run on AWS with the Powertools (and pydantic) the tests and the build check use
    assert parameter == f"/aws/service/powertools/python/arm64/python3.12/{pinned}"
