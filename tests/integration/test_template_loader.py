"""The template loader: short tags, resolved environments, routes, gateway responses, tables."""

from __future__ import annotations

from pathlib import Path

import boto3
import pytest
import yaml
from moto import mock_aws

from leasing_cli.template import (
    CloudFormationLoader,
    TemplateError,
    create_tables,
    load_template,
)

REPO_TEMPLATE = Path(__file__).resolve().parents[2] / "template.yaml"


@pytest.fixture(scope="module")
def template():
    return load_template(REPO_TEMPLATE)


def test_short_tags_load_as_their_long_forms():
    # Given a fragment with the CloudFormation short tags
    text = """
    a: !Ref Stage
    b: !GetAtt Table.StreamArn
    c: !Sub "leasing-${Stage}"
    d: !Join ["-", [a, !Ref Stage]]
    e: !If [IsProd, 1, 2]
    f: !GetAtt [Fn, Arn]
    """

    # When it is loaded
    document = yaml.load(text, Loader=CloudFormationLoader)  # noqa: S506

    # Then each tag is its long form
    assert document == {
        "a": {"Ref": "Stage"},
        "b": {"Fn::GetAtt": ["Table", "StreamArn"]},
        "c": {"Fn::Sub": "leasing-${Stage}"},
        "d": {"Fn::Join": ["-", ["a", {"Ref": "Stage"}]]},
        "e": {"Fn::If": ["IsProd", 1, 2]},
        "f": {"Fn::GetAtt": ["Fn", "Arn"]},
    }


def test_function_environment_merges_globals_and_resolves_references(template):
    # Given the repository's template
    # When the request-lease function is read
    function = template.functions["RequestLeaseFunction"]

    # Then Globals' variables are resolved for a local run
    assert function.environment["TABLE_NAME"] == "LeasingTable"
    assert function.environment["EVENT_BUS_NAME"] == "leasing-dev"
    assert function.environment["STAGE"] == "dev"
    assert function.environment["STANDARD_MONTHLY_PRICE_CENTS"] == "15000"
    assert function.handler == "app.lambda_handler"
    assert function.code_uri == REPO_TEMPLATE.parent / "functions" / "request_lease"


def test_a_functions_own_variables_override_globals(tmp_path):
    # Given a template whose function overrides a global variable
    (tmp_path / "template.yaml").write_text(
        """
Globals:
  Function:
    Handler: app.lambda_handler
    Environment:
      Variables: {A: from-globals, B: kept}
Resources:
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: fn/
      Environment:
        Variables: {A: own, REGION: !Ref "AWS::Region"}
"""
    )

    # When it is loaded
    function = load_template(tmp_path / "template.yaml").functions["Fn"]

    # Then the function's value wins and pseudo parameters resolve
    assert function.environment == {"A": "own", "B": "kept", "REGION": "us-east-1"}


def test_api_events_become_routes_with_their_event_names(template):
    # Given the repository's template
    # When its routes are listed
    routes = {(route.method, route.path): (route.function_id, route.event_name) for route in template.routes}

    # Then both the project route and the alias of a shared function are there
    assert routes[("GET", "/v1/leased-accounts")] == ("ListLeasedAccountsFunction", "ListLeasedAccounts")
    assert routes[("GET", "/v1/projects/{projectId}/leased-accounts")] == (
        "ListLeasedAccountsFunction",
        "ListProjectLeasedAccounts",
    )
    assert routes[("DELETE", "/v1/leased-accounts/{socialAccountId}")][0] == "ReleaseLeasedAccountFunction"


def test_the_api_names_its_authorizer_function_and_identity_header(template):
    # Given the repository's template
    # When the API is read
    api = template.api

    # Then the default authorizer is the function behind its FunctionArn
    assert api is not None
    assert api.authorizer_function_id == "AuthorizerFunction"
    assert api.identity_headers == ("Authorization",)
    assert api.stage_name == "dev"


def test_gateway_responses_are_kept_as_written(template):
    # Given the repository's template
    # When the UNAUTHORIZED gateway response is read
    response = template.api.gateway_responses["UNAUTHORIZED"]

    # Then its status, header mappings and body template are there
    assert response.status_code == 401
    assert response.headers["X-Request-Id"] == "context.requestId"
    assert "$context.requestId" in response.templates["application/json"]


def test_an_ssm_parameter_resolves_to_its_default(template):
    # Given a parameter of type AWS::SSM::Parameter::Value<String>
    # When it is referenced
    value = template.resolve({"Ref": "PowertoolsLayerArn"})

    # Then the local value is its Default text
    assert value == "/aws/service/powertools/python/arm64/python3.12/3.37.0"


def test_sub_resolves_attributes_of_resources(template):
    # Given a Sub naming a table attribute
    # When it is resolved
    value = template.resolve({"Fn::Sub": "${LeasingTable.Arn}/index/gsi1"})

    # Then the table's local ARN is used
    assert value == "arn:aws:dynamodb:us-east-1:123456789012:table/LeasingTable/index/gsi1"


def test_a_reference_to_an_unknown_name_is_an_error(template):
    # Given a Ref to nothing in the template
    # When it is resolved
    # Then the loader says so
    with pytest.raises(TemplateError, match="Nowhere"):
        template.resolve({"Ref": "Nowhere"})


def test_a_missing_template_is_a_clear_error(tmp_path):
    # Given no template file
    # When it is loaded
    # Then the error names the path
    with pytest.raises(TemplateError, match="cannot read"):
        load_template(tmp_path / "absent.yaml")


@mock_aws
def test_tables_are_created_from_the_templates_own_properties(template):
    # Given an empty DynamoDB
    client = boto3.client("dynamodb", region_name="us-east-1")

    # When the template's tables are created
    tables = create_tables(client, template)

    # Then the table has the keys, indexes, stream and TTL of the template
    assert tables == {"LeasingTable": "LeasingTable"}
    description = client.describe_table(TableName="LeasingTable")["Table"]
    assert {key["AttributeName"] for key in description["KeySchema"]} == {"pk", "sk"}
    declared = template.tables["LeasingTable"]["GlobalSecondaryIndexes"]
    assert sorted(index["IndexName"] for index in description["GlobalSecondaryIndexes"]) == sorted(
        index["IndexName"] for index in declared
    )
    assert description["StreamSpecification"] == {
        "StreamEnabled": True,
        "StreamViewType": "NEW_AND_OLD_IMAGES",
    }
    ttl = client.describe_time_to_live(TableName="LeasingTable")["TimeToLiveDescription"]
    assert ttl == {"TimeToLiveStatus": "ENABLED", "AttributeName": "expiresAt"}


@mock_aws
def test_existing_tables_are_kept_when_asked(template):
    # Given tables that already exist
    client = boto3.client("dynamodb", region_name="us-east-1")
    create_tables(client, template)

    # When they are created again with skip_existing
    tables = create_tables(client, template, skip_existing=True)

    # Then nothing fails and the names are returned
    assert tables == {"LeasingTable": "LeasingTable"}


# -- parameter overrides: samconfig.toml as `sam local` reads it, or given explicitly --------------


def test_the_local_runtime_applies_samconfigs_local_overrides_so_the_dev_stage_accepts_test_keys(template):
    # Given the repository's template (AcceptTestKeys defaults to "false") and its samconfig.toml
    # When it is loaded for the local runtime
    # Then the authorizer gets samconfig's local override: test keys are accepted locally
    assert template.parameters["AcceptTestKeys"].default == "true"
    assert template.functions["AuthorizerFunction"].environment["ACCEPT_TEST_KEYS"] == "true"


def test_explicit_parameter_overrides_win_over_samconfig():
    # Given the repository's template / When loaded with AcceptTestKeys=false
    template = load_template(REPO_TEMPLATE, {"AcceptTestKeys": "false"})
    # Then the authorizer refuses test keys, as a production stage does
    assert template.functions["AuthorizerFunction"].environment["ACCEPT_TEST_KEYS"] == "false"


def test_without_a_samconfig_parameters_take_the_templates_defaults(tmp_path):
    # Given a template with a parameter and no samconfig.toml next to it
    (tmp_path / "template.yaml").write_text(
        """
Parameters:
  Flag: {Type: String, Default: "false", AllowedValues: ["true", "false"]}
Resources:
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: fn/
      Handler: app.lambda_handler
      Environment:
        Variables: {FLAG: !Ref Flag}
"""
    )
    # When loaded / Then the default applies
    assert load_template(tmp_path / "template.yaml").functions["Fn"].environment["FLAG"] == "false"
    # And a samconfig.toml's local section is applied like `sam local start-api` applies it
    (tmp_path / "samconfig.toml").write_text(
        'version = 0.1\n[default.local_start_api.parameters]\nparameter_overrides = "Flag=true"\n'
    )
    assert load_template(tmp_path / "template.yaml").functions["Fn"].environment["FLAG"] == "true"


@pytest.mark.parametrize(
    ("overrides", "message"),
    [({"Nope": "1"}, "no parameter"), ({"AcceptTestKeys": "yes"}, "not one of")],
)
def test_an_override_of_an_unknown_parameter_or_a_disallowed_value_is_refused(overrides, message):
    # Given an override the template cannot take / When loaded / Then a TemplateError says why
    with pytest.raises(TemplateError, match=message):
        load_template(REPO_TEMPLATE, overrides)


def test_samconfig_makes_dev_accept_test_keys_and_prod_refuse_them():
    # Given samconfig.toml's deploy environments
    import tomllib

    from leasing_cli.template import parse_parameter_overrides

    config = tomllib.loads((REPO_TEMPLATE.parent / "samconfig.toml").read_text())
    dev = parse_parameter_overrides(config["default"]["deploy"]["parameters"]["parameter_overrides"])
    prod = parse_parameter_overrides(config["prod"]["deploy"]["parameters"]["parameter_overrides"])
    # Then dev accepts lp_test_ keys and prod does not
    assert (dev["AcceptTestKeys"], prod["AcceptTestKeys"]) == ("true", "false")
