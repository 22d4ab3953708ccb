"""The infrastructure rules of template.yaml, checked on its offline CloudFormation translation."""

from __future__ import annotations

import json
import re
import socket
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from pytest_socket import SocketBlockedError

# Translation and linting must never need the network: any socket opened here fails the test.
pytestmark = pytest.mark.disable_socket

Template = dict[str, Any]

REPO_ROOT = Path(__file__).resolve().parents[2]

TABLE_ID = "LeasingTable"
API_ID = "LeasingApi"
AUTHORIZER_FUNCTION_ID = "AuthorizerFunction"

# api.md §2: every route, its method and the one function that serves it (aliases share a function).
ROUTES = [
    ("post", "/v1/projects/{projectId}/leased-accounts/request", "RequestLeaseFunction"),
    ("get", "/v1/projects/{projectId}/leased-accounts/requests/{requestId}", "GetLeaseRequestFunction"),
    ("get", "/v1/leased-accounts/requests/{requestId}", "GetLeaseRequestFunction"),
    ("get", "/v1/projects/{projectId}/leased-accounts", "ListLeasedAccountsFunction"),
    ("get", "/v1/leased-accounts", "ListLeasedAccountsFunction"),
    ("delete", "/v1/leased-accounts/{socialAccountId}", "ReleaseLeasedAccountFunction"),
    ("delete", "/v1/social-accounts/{socialAccountId}", "RevokeSocialAccountFunction"),
]
ENDPOINT_FUNCTIONS = sorted({function for _, _, function in ROUTES})
FUNCTIONS = [*ENDPOINT_FUNCTIONS, AUTHORIZER_FUNCTION_ID]

# api.md §1 "Error envelope": the stable codes a client may see.
ERROR_CODES = {
    "UNAUTHENTICATED",
    "BILLING_EXHAUSTED",
    "FORBIDDEN_SCOPE",
    "NOT_FOUND",
    "CONFLICT",
    "PAYLOAD_TOO_LARGE",
    "UNSUPPORTED_MEDIA_TYPE",
    "VALIDATION",
    "RATE_LIMITED",
    "INTERNAL",
    "KILL_SWITCH",
}

# Gateway responses API Gateway itself produces, with the status and code a client must see
# (None: the response keeps the status API Gateway chose, and the code is any code of api.md).
GATEWAY_RESPONSES = [
    ("UNAUTHORIZED", "401", "UNAUTHENTICATED"),
    ("ACCESS_DENIED", "401", "UNAUTHENTICATED"),
    ("MISSING_AUTHENTICATION_TOKEN", "404", "NOT_FOUND"),
    ("DEFAULT_4XX", None, None),
    ("DEFAULT_5XX", None, "INTERNAL"),
]

# Warnings that cfn-lint raises only because of how the SAM transform works, each with its reason.
JUSTIFIED_TRANSLATED_WARNINGS = {
    # The transform itself consumes AuthorizerCacheSeconds: it resolves the Ref in the authorizer's
    # ReauthorizeEvery into the OpenAPI body (authorizerResultTtlInSeconds), so no Ref survives in
    # the translated template. At deploy time CloudFormation runs the same transform with the
    # stack's parameter values, so the parameter is used; only this parameter is excused.
    ("W2001", "Parameter AuthorizerCacheSeconds not used."),
}

# AWS managed policies a function role may carry: log writing, tracing, and what SAM attaches on
# its own to a function fed by an SQS queue or a DynamoDB stream (stream/queue reads, no item access).
ALLOWED_MANAGED_POLICIES = {
    "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole",
    "arn:aws:iam::aws:policy/AWSXRayDaemonWriteAccess",
    # SAM attaches it when the Tracing parameter is Active (with Disabled it attaches nothing).
    "arn:aws:iam::aws:policy/AWSXrayWriteOnlyAccess",
    "arn:aws:iam::aws:policy/service-role/AWSLambdaSQSQueueExecutionRole",
    "arn:aws:iam::aws:policy/service-role/AWSLambdaDynamoDBExecutionRole",
}


# ------------------------------------------------------------------------------------ helpers


def resources_of_type(template: Template, resource_type: str) -> dict[str, dict[str, Any]]:
    return {
        logical_id: resource
        for logical_id, resource in template["Resources"].items()
        if resource["Type"] == resource_type
    }


def properties(template: Template, logical_id: str) -> dict[str, Any]:
    props: dict[str, Any] = template["Resources"][logical_id].get("Properties", {})
    return props


def api_body(template: Template) -> dict[str, Any]:
    body: dict[str, Any] = properties(template, API_ID)["Body"]
    return body


def security_schemes(body: dict[str, Any]) -> dict[str, Any]:
    # Swagger 2.0 keeps them in securityDefinitions, OpenAPI 3 under components.
    schemes: dict[str, Any] = body.get("securityDefinitions") or body["components"]["securitySchemes"]
    return schemes


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def policy_documents(template: Template) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every identity policy document in the template, with the logical id that holds it."""
    for logical_id, resource in template["Resources"].items():
        props = resource.get("Properties", {})
        if resource["Type"] == "AWS::IAM::Role":
            for policy in props.get("Policies", []):
                yield logical_id, policy["PolicyDocument"]
        elif resource["Type"] in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
            yield logical_id, props["PolicyDocument"]


def policy_statements(template: Template) -> Iterator[tuple[str, dict[str, Any]]]:
    for logical_id, document in policy_documents(template):
        for statement in as_list(document.get("Statement", [])):
            yield logical_id, statement


def role_of(template: Template, function_id: str) -> str:
    role = properties(template, function_id)["Role"]
    assert role == {"Fn::GetAtt": [role["Fn::GetAtt"][0], "Arn"]}, (
        f"{function_id} role is not in the template"
    )
    role_id: str = role["Fn::GetAtt"][0]
    return role_id


def dynamodb_resource_is_a_table_or_index(resource: Any, template: Template) -> bool:
    """True for the ARN of a table of this template, one of its indexes, or its stream."""
    tables = resources_of_type(template, "AWS::DynamoDB::Table")
    if isinstance(resource, dict) and "Fn::GetAtt" in resource:
        table, attribute = resource["Fn::GetAtt"]
        return table in tables and attribute in ("Arn", "StreamArn")
    if isinstance(resource, dict) and isinstance(resource.get("Fn::Sub"), str):
        match = re.fullmatch(r"\$\{(\w+)\.Arn\}/index/([\w.-]+)", resource["Fn::Sub"])
        if match is None or match.group(1) not in tables:
            return False
        indexes = properties(template, match.group(1)).get("GlobalSecondaryIndexes", [])
        indexes += properties(template, match.group(1)).get("LocalSecondaryIndexes", [])
        return match.group(2) in {index["IndexName"] for index in indexes}
    return False


def walk(node: Any, path: str = "") -> Iterator[tuple[str, Any, Any]]:
    """Every (path, key or list position, value) of a nested JSON structure."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield f"{path}.{key}", key, value
            yield from walk(value, f"{path}.{key}")
    elif isinstance(node, list):
        for position, value in enumerate(node):
            yield f"{path}[{position}]", position, value
            yield from walk(value, f"{path}[{position}]")


def function_sources() -> list[Path]:
    return sorted((REPO_ROOT / "functions").rglob("*.py"))


def render_gateway_template(template: str) -> Any:
    """Fill in the variables API Gateway substitutes, then parse the body a client would get."""
    rendered = template.replace("$context.error.messageString", json.dumps("Some gateway message."))
    rendered = rendered.replace("$context.requestId", "req-from-gateway")
    return json.loads(rendered)


# ------------------------------------------------------------------------------------ linting


def test_the_translated_template_has_no_cfn_lint_errors_or_warnings(
    translated_lint_findings: Sequence[Any],
) -> None:
    # Given template.yaml translated offline to plain CloudFormation (SAM resources expanded)
    # When cfn-lint checks it, errors and warnings included
    findings = [
        finding
        for finding in translated_lint_findings
        if (finding.rule_id, finding.message) not in JUSTIFIED_TRANSLATED_WARNINGS
    ]
    # Then it finds nothing
    assert findings == [], "\n".join(map(str, findings))


def test_the_sam_template_as_written_has_no_cfn_lint_errors_or_warnings(
    sam_lint_findings: Sequence[Any],
) -> None:
    # Given template.yaml as written
    # When cfn-lint checks it
    findings = sam_lint_findings
    # Then it finds nothing
    assert findings == [], "\n".join(map(str, findings))


def test_the_translation_and_linting_run_with_the_network_switched_off() -> None:
    # Given the infrastructure tests, which run with sockets disabled
    # When anything tries to open a network connection
    # Then it is refused, so the tests above proved they need no network
    with pytest.raises(SocketBlockedError), pytest.warns(UserWarning, match="socket"):
        socket.socket(socket.AF_INET, socket.SOCK_STREAM)


# ---------------------------------------------------------------------------------------- API


def test_the_api_is_a_single_regional_rest_api(cfn_template: Template) -> None:
    # Given the translated template
    # When looking for API Gateway APIs
    rest_apis = resources_of_type(cfn_template, "AWS::ApiGateway::RestApi")
    http_apis = resources_of_type(cfn_template, "AWS::ApiGatewayV2::Api")
    # Then there is one REST API (v1: it supports REQUEST authorizers with caching), regional
    assert list(rest_apis) == [API_ID]
    assert http_apis == {}
    assert properties(cfn_template, API_ID)["EndpointConfiguration"]["Types"] == ["REGIONAL"]


def test_the_api_is_deployed_to_the_stage_parameter_only(cfn_template: Template) -> None:
    # Given the translated template
    # When looking at its stages and deployments
    stages = resources_of_type(cfn_template, "AWS::ApiGateway::Stage")
    deployments = resources_of_type(cfn_template, "AWS::ApiGateway::Deployment")
    # Then the only stage is the one named by the Stage parameter (no stray stage called "Stage")
    assert [stage["Properties"]["StageName"] for stage in stages.values()] == [{"Ref": "Stage"}]
    assert all("StageName" not in deployment["Properties"] for deployment in deployments.values())


def test_the_authorizer_is_a_request_lambda_authorizer_on_the_authorization_header(
    cfn_template: Template,
) -> None:
    # Given the translated API definition
    schemes = security_schemes(api_body(cfn_template))
    # When reading its only security scheme
    assert len(schemes) == 1
    (scheme,) = schemes.values()
    authorizer = scheme["x-amazon-apigateway-authorizer"]
    # Then it is a REQUEST authorizer keyed on the Authorization header, backed by AuthorizerFunction
    assert authorizer["type"] == "request"
    assert authorizer["identitySource"] == "method.request.header.Authorization"
    assert {"Fn::GetAtt": [AUTHORIZER_FUNCTION_ID, "Arn"]} in authorizer["authorizerUri"]["Fn::Sub"][
        1
    ].values()


def test_test_keys_are_refused_unless_the_stage_parameter_accepts_them(
    sam_template: Template, cfn_template: Template
) -> None:
    # Given the AcceptTestKeys parameter and the translated authorizer function
    parameter = sam_template["Parameters"]["AcceptTestKeys"]
    variables = properties(cfn_template, AUTHORIZER_FUNCTION_ID)["Environment"]["Variables"]
    # Then it fails closed by default, takes only true/false, and reaches the authorizer only
    assert parameter["Default"] == "false"
    assert sorted(parameter["AllowedValues"]) == ["false", "true"]
    assert variables["ACCEPT_TEST_KEYS"] == {"Ref": "AcceptTestKeys"}
    others = [
        logical_id
        for logical_id, resource in resources_of_type(cfn_template, "AWS::Lambda::Function").items()
        if "ACCEPT_TEST_KEYS" in ((resource["Properties"].get("Environment") or {}).get("Variables") or {})
    ]
    assert others == [AUTHORIZER_FUNCTION_ID]


def test_authorizer_decisions_are_cached_for_the_parameter_default(
    sam_template: Template, cfn_template: Template
) -> None:
    # Given the authorizer cache TTL parameter and the authorizer as written
    parameter = sam_template["Parameters"]["AuthorizerCacheSeconds"]
    written = sam_template["Resources"][API_ID]["Properties"]["Auth"]["Authorizers"]
    # When the template is translated with default parameter values
    (scheme,) = security_schemes(api_body(cfn_template)).values()
    ttl = scheme["x-amazon-apigateway-authorizer"]["authorizerResultTtlInSeconds"]
    # Then results are cached for the default, which is positive, and the parameter drives it
    assert all(
        a["Identity"]["ReauthorizeEvery"] == {"Ref": "AuthorizerCacheSeconds"} for a in written.values()
    )
    assert ttl == int(parameter["Default"])
    assert ttl > 0


def test_every_route_requires_the_authorizer(cfn_template: Template) -> None:
    # Given the translated API definition
    body = api_body(cfn_template)
    (scheme_name,) = security_schemes(body)
    # When reading the security of every operation
    unprotected = [
        f"{method.upper()} {path}"
        for path, operations in body["paths"].items()
        for method, operation in operations.items()
        if operation.get("security") != [{scheme_name: []}]
    ]
    # Then none is reachable without it
    assert unprotected == []


def test_api_gateway_may_invoke_the_authorizer_from_this_api_only(cfn_template: Template) -> None:
    # Given the Lambda permissions of the translated template
    permissions = resources_of_type(cfn_template, "AWS::Lambda::Permission").values()
    # When picking those on the authorizer function
    on_authorizer = [
        p["Properties"]
        for p in permissions
        if p["Properties"]["FunctionName"] == {"Fn::GetAtt": [AUTHORIZER_FUNCTION_ID, "Arn"]}
    ]
    # Then API Gateway is allowed, scoped to this API's authorizers
    assert len(on_authorizer) == 1
    assert on_authorizer[0]["Principal"] == "apigateway.amazonaws.com"
    assert "/authorizers/" in json.dumps(on_authorizer[0]["SourceArn"])
    assert {"Ref": API_ID} in on_authorizer[0]["SourceArn"]["Fn::Sub"][1].values()


@pytest.mark.parametrize(("response_type", "status", "code"), GATEWAY_RESPONSES)
def test_a_gateway_response_carries_the_error_envelope_and_the_request_id(
    cfn_template: Template, response_type: str, status: str | None, code: str | None
) -> None:
    # Given a response API Gateway produces itself (before any function runs)
    response = api_body(cfn_template)["x-amazon-apigateway-gateway-responses"][response_type]
    # When API Gateway renders its JSON body
    body = render_gateway_template(response["responseTemplates"]["application/json"])
    # Then the body is the error envelope, it echoes the request id, and the header carries it too
    assert list(body) == ["error"]
    error = body["error"]
    assert {"code", "message", "requestId"} <= set(error) <= {"code", "message", "requestId", "details"}
    assert error["code"] in ERROR_CODES
    assert isinstance(error["message"], str)
    assert error["message"]
    assert error["requestId"] == "req-from-gateway"
    headers = response["responseParameters"]
    assert headers["gatewayresponse.header.X-Request-Id"] == "context.requestId"
    assert headers["gatewayresponse.header.Content-Type"].strip("'").startswith("application/json")
    assert response.get("statusCode") == status
    if code is not None:
        assert error["code"] == code


# ------------------------------------------------------------------------------ functions, routes


def test_each_endpoint_and_the_authorizer_has_its_own_function(cfn_template: Template) -> None:
    # Given the translated template
    # When listing its Lambda functions
    functions = set(resources_of_type(cfn_template, "AWS::Lambda::Function"))
    # Then every endpoint function and the authorizer exist, under their logical ids
    assert set(FUNCTIONS) <= functions


def test_the_api_serves_exactly_the_routes_of_the_api_spec(cfn_template: Template) -> None:
    # Given the translated API definition
    paths = api_body(cfn_template)["paths"]
    # When listing every method and path it serves
    served = {(method, path) for path, operations in paths.items() for method in operations}
    # Then they are the routes of api.md §2, no more and no fewer
    assert served == {(method, path) for method, path, _ in ROUTES}


@pytest.mark.parametrize(("method", "path", "function_id"), ROUTES)
def test_a_route_is_proxied_to_its_endpoint_function(
    cfn_template: Template, method: str, path: str, function_id: str
) -> None:
    # Given one route of api.md §2
    operation = api_body(cfn_template)["paths"][path][method]
    # When reading its integration
    integration = operation["x-amazon-apigateway-integration"]
    # Then it is a Lambda proxy integration with the function that serves that endpoint
    assert integration["type"] == "aws_proxy"
    assert integration["httpMethod"] == "POST"
    assert f"${{{function_id}.Arn}}" in integration["uri"]["Fn::Sub"]


@pytest.mark.parametrize("function_id", FUNCTIONS)
def test_a_function_code_folder_has_the_handler_the_template_names(
    sam_template: Template, function_id: str
) -> None:
    # Given a function as written in template.yaml
    function = sam_template["Resources"][function_id]["Properties"]
    handler = function.get("Handler") or sam_template["Globals"]["Function"]["Handler"]
    module, _, name = handler.rpartition(".")
    # When opening the module the handler points at, in the function's CodeUri
    source = (REPO_ROOT / function["CodeUri"] / f"{module}.py").read_text(encoding="utf-8")
    # Then it defines the handler
    assert re.search(rf"^(def {name}\(|{name}\s*=)", source, flags=re.MULTILINE)


@pytest.mark.parametrize("source", function_sources(), ids=lambda path: str(path.relative_to(REPO_ROOT)))
def test_function_code_neither_imports_boto3_nor_reads_the_environment(source: Path) -> None:
    # Given the code of a function folder (clients and settings belong in layers_common)
    # When searching it
    text = source.read_text(encoding="utf-8")
    # Then it mentions neither boto3 nor the process environment
    assert "boto3" not in text
    assert "os.environ" not in text
    assert "getenv" not in text


def test_there_is_function_code_to_search() -> None:
    # Given the functions folder
    # When listing its Python files
    sources = function_sources()
    # Then there is at least one app.py per endpoint and the authorizer (the search above is not vacuous)
    assert len([s for s in sources if s.name == "app.py"]) >= len(ENDPOINT_FUNCTIONS) + 1


# ------------------------------------------------------------------------------- data and events


def test_the_table_streams_new_and_old_images(cfn_template: Template) -> None:
    # Given the leasing table
    table = properties(cfn_template, TABLE_ID)
    # When reading its stream
    # Then the outbox relay gets both images of every change
    assert table["StreamSpecification"] == {"StreamViewType": "NEW_AND_OLD_IMAGES"}


def test_the_table_expires_items_on_expires_at(cfn_template: Template) -> None:
    # Given the leasing table
    table = properties(cfn_template, TABLE_ID)
    # When reading its time to live
    # Then it is enabled on expiresAt
    assert table["TimeToLiveSpecification"] == {"AttributeName": "expiresAt", "Enabled": True}


def test_the_table_has_point_in_time_recovery_and_on_demand_billing(cfn_template: Template) -> None:
    # Given the leasing table
    table = properties(cfn_template, TABLE_ID)
    # When reading its recovery and billing settings
    # Then point-in-time recovery is on and billing is per request
    assert table["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
    assert table["BillingMode"] == "PAY_PER_REQUEST"


def test_the_table_survives_stack_deletion_and_replacement(cfn_template: Template) -> None:
    # Given the leasing table resource
    table = cfn_template["Resources"][TABLE_ID]
    # When reading its policies
    # Then the data is retained if the stack or the resource goes away
    assert table["DeletionPolicy"] == "Retain"
    assert table["UpdateReplacePolicy"] == "Retain"


def test_the_leasing_event_bus_exists(cfn_template: Template) -> None:
    # Given the translated template
    # When listing its EventBridge buses
    buses = resources_of_type(cfn_template, "AWS::Events::EventBus")
    # Then the leasing bus is there, named after the stage
    assert buses["LeasingBus"]["Properties"]["Name"] == {"Fn::Sub": "leasing-${Stage}"}


# ----------------------------------------------------------------------------------------- logs


def log_group_names(template: Template) -> dict[str, Any]:
    return {
        logical_id: resource["Properties"].get("LogGroupName")
        for logical_id, resource in resources_of_type(template, "AWS::Logs::LogGroup").items()
    }


def names_function_log_group(name: Any, function_id: str) -> bool:
    return name in (
        {"Fn::Sub": f"/aws/lambda/${{{function_id}}}"},
        {"Fn::Join": ["", ["/aws/lambda/", {"Ref": function_id}]]},
    )


def test_every_function_has_an_explicit_log_group_with_retention(cfn_template: Template) -> None:
    # Given every Lambda function and log group of the translated template
    functions = resources_of_type(cfn_template, "AWS::Lambda::Function")
    groups = resources_of_type(cfn_template, "AWS::Logs::LogGroup")
    # When matching each function with the log group named /aws/lambda/<function>
    # (or the one its LoggingConfig points at)
    missing = []
    for function_id, function in functions.items():
        configured = function["Properties"].get("LoggingConfig", {}).get("LogGroup")
        matching = [
            group
            for group_id, group in groups.items()
            if names_function_log_group(group["Properties"].get("LogGroupName"), function_id)
            or configured == {"Ref": group_id}
        ]
        if len(matching) != 1 or "RetentionInDays" not in matching[0]["Properties"]:
            missing.append(function_id)
    # Then each function has exactly one, and it expires its logs
    assert missing == []


# ------------------------------------------------------------------------------ least privilege


def test_no_policy_statement_allows_every_action_of_a_service(cfn_template: Template) -> None:
    # Given every IAM policy statement of the translated template
    # When looking for wildcard actions (or NotAction, which allows everything else)
    offending = [
        (holder, statement)
        for holder, statement in policy_statements(cfn_template)
        if "NotAction" in statement
        or any(action == "*" or action.endswith(":*") for action in as_list(statement.get("Action", [])))
    ]
    # Then there are none
    assert offending == []


def test_dynamodb_statements_name_the_table_or_its_indexes_only(cfn_template: Template) -> None:
    # Given every IAM policy statement that grants a DynamoDB action
    dynamodb_statements = [
        (holder, statement)
        for holder, statement in policy_statements(cfn_template)
        if any(str(action).startswith("dynamodb:") for action in as_list(statement.get("Action", [])))
    ]
    # When checking their resources
    offending = [
        (holder, statement)
        for holder, statement in dynamodb_statements
        if "NotResource" in statement
        or not all(
            dynamodb_resource_is_a_table_or_index(resource, cfn_template)
            for resource in as_list(statement["Resource"])
        )
    ]
    # Then each one is limited to the table's ARN, its index ARNs or its stream (never "*")
    assert dynamodb_statements, "expected the functions to have DynamoDB statements"
    assert offending == []


@pytest.mark.parametrize("function_id", FUNCTIONS)
def test_a_function_role_is_its_own_and_grants_dynamodb_on_the_table_only(
    cfn_template: Template, function_id: str
) -> None:
    # Given a function and the role it runs with
    role_id = role_of(cfn_template, function_id)
    roles_in_use = [role_of(cfn_template, other) for other in FUNCTIONS]
    # When reading the role's statements and managed policies
    statements = [s for holder, s in policy_statements(cfn_template) if holder == role_id]
    managed = properties(cfn_template, role_id).get("ManagedPolicyArns", [])
    # Then no other function shares it, it allows only explicit DynamoDB actions on the table, and any
    # managed policy is a narrow AWS one
    assert roles_in_use.count(role_id) == 1
    assert all(statement["Effect"] == "Allow" for statement in statements)
    actions = {action for statement in statements for action in as_list(statement["Action"])}
    assert actions, f"{function_id} has no statement of its own"
    assert all(re.fullmatch(r"dynamodb:[A-Z][A-Za-z]+", action) for action in actions), actions
    assert set(managed) <= ALLOWED_MANAGED_POLICIES


def test_the_authorizer_can_only_read_items(cfn_template: Template) -> None:
    # Given the authorizer's role
    role_id = role_of(cfn_template, AUTHORIZER_FUNCTION_ID)
    # When listing its actions
    actions = {
        action
        for holder, statement in policy_statements(cfn_template)
        if holder == role_id
        for action in as_list(statement["Action"])
    }
    # Then they are reads (it resolves keys; it never writes)
    assert actions <= {"dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query"}


# ------------------------------------------------------------------------------- security scan


def test_the_table_is_encrypted_at_rest(cfn_template: Template) -> None:
    # Given the leasing table
    table = properties(cfn_template, TABLE_ID)
    # When reading its server-side encryption
    # Then it is explicitly enabled
    assert table["SSESpecification"]["SSEEnabled"] is True


def test_no_policy_grants_access_to_every_principal(cfn_template: Template) -> None:
    # Given every resource of the translated template, policies and permissions included
    # When looking for a Principal that is "*" (directly, as {"AWS": "*"}, or in a list)
    public = [
        path
        for path, key, value in walk(cfn_template["Resources"])
        if key == "Principal" and (value == "*" or any(leaf == "*" for _, _, leaf in walk(value)))
    ]
    # Then nothing is open to everyone
    assert public == []


def test_service_principals_may_invoke_functions_only_from_this_stack(cfn_template: Template) -> None:
    # Given the Lambda permissions granted to AWS services
    permissions = resources_of_type(cfn_template, "AWS::Lambda::Permission")
    # When checking how each is scoped
    unscoped = [
        logical_id
        for logical_id, permission in permissions.items()
        if permission["Properties"]["Principal"].endswith(".amazonaws.com")
        and "SourceArn" not in permission["Properties"]
    ]
    # Then each names the source resource (no confused deputy across accounts or APIs)
    assert permissions
    assert unscoped == []
