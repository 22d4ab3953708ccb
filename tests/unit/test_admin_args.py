"""`leasing admin` without any DynamoDB: argument parsing, stack outputs, rendering (no sockets)."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from leasing_cli.admin.args import UsageError, parse_args, redact
from leasing_cli.admin.render import money, table
from leasing_cli.admin.targets import TargetError, table_name_from_stack
from leasing_cli.main import build_parser, main

KEY = "lp_test_0123456789ABCDEF_" + "q" * 43


def test_leasing_hands_every_word_after_admin_to_the_admin_parser():
    # Given the `leasing` parser
    # When an admin command line with options before and after the command is parsed
    args = build_parser().parse_args(
        ["admin", "--server", "http://127.0.0.1:3000", "--json", "key", "create", "org_a", "--scopes", "*"]
    )

    # Then `leasing` keeps them as words for `leasing admin`
    assert args.command == "admin"
    assert args.admin_argv == [
        "--server",
        "http://127.0.0.1:3000",
        "--json",
        "key",
        "create",
        "org_a",
        "--scopes",
        "*",
    ]


@pytest.mark.parametrize(
    "words",
    [
        ["--json", "wallet", "show", "org_a"],
        ["wallet", "show", "org_a", "--json"],
        ["--json", "wallet", "show", "org_a", "--json"],
    ],
)
def test_json_is_accepted_before_and_after_the_command(words):
    # Given --json in either place
    # When parsed
    args = parse_args(["--endpoint-url", "http://127.0.0.1:8000", *words])

    # Then JSON output is on
    assert args.json is True
    assert (args.action, args.org_id) == ("wallet_show", "org_a")


def test_without_json_the_output_is_readable_text():
    # Given no --json
    # When parsed
    args = parse_args(["--stack", "leasing-prod", "pool", "list", "--status", "leased"])

    # Then text output is chosen, with the stack as target
    assert args.json is False
    assert (args.stack, args.server, args.endpoint_url) == ("leasing-prod", None, None)
    assert (args.action, args.status) == ("pool_list", "leased")


def test_key_create_takes_several_scopes_as_separate_words_and_defaults():
    # Given scopes as separate words
    # When parsed
    args = parse_args(["--stack", "s", "key", "create", "org_a", "--scopes", "leased:write", "social:write"])

    # Then every scope is kept; tier and env take their defaults
    assert args.scopes == ["leased:write", "social:write"]
    assert (args.tier, args.env) == ("standard", "test")


@pytest.mark.parametrize(
    ("words", "complaint"),
    [
        (["wallet", "credit", "org_a", "0"], "argument CENTS: must be a positive whole number of cents"),
        (["wallet", "credit", "org_a", "+5"], "argument CENTS"),
        (["wallet", "credit", "org_a"], "required: CENTS"),
        (["key", "create", "org_a", "--scopes", "read"], "invalid choice: 'read'"),
        (["key", "create", "org_a", "--scopes", "*", "--tier", "free"], "--tier: invalid choice"),
        (["key", "revoke", "short"], "argument KEYID: must be a key id"),
        (["pool", "list", "--status", "retired"], "--status: invalid choice"),
        (["posts", "list"], "required: --account"),
        (["org", "create", "--name", "   "], "--name: must be 1-200 characters"),
        (["project", "create", "org a", "--name", "P"], "argument ORG: must be 1-128 characters"),
        (["teleport"], "invalid choice: 'teleport'"),
    ],
)
def test_bad_arguments_raise_one_line_usage_errors_naming_the_command(words, complaint):
    # Given a bad command line
    # When parsed
    with pytest.raises(UsageError) as error:
        parse_args(["--stack", "s", *words])

    # Then the message is one line, starts with the (sub)command and says what is wrong
    message = str(error.value)
    assert "\n" not in message
    assert message.startswith("leasing admin")
    assert complaint in message


def test_a_target_is_required_and_only_one():
    # Given no target, then two
    # When parsed / Then each is a usage error
    with pytest.raises(UsageError, match="one of the arguments --server --endpoint-url --stack is required"):
        parse_args(["wallet", "show", "org_a"])
    with pytest.raises(UsageError, match="not allowed with argument"):
        parse_args(["--stack", "s", "--server", "http://x", "wallet", "show", "org_a"])


def test_key_revoke_accepts_a_whole_key_but_keeps_only_its_id():
    # Given a whole key pasted as KEYID
    # When parsed
    args = parse_args(["--stack", "s", "key", "revoke", KEY])

    # Then only the key id is kept
    assert args.key_id == "0123456789ABCDEF"


def test_an_api_key_in_an_error_is_redacted():
    # Given a key pasted where a scope belongs
    # When parsed
    with pytest.raises(UsageError) as error:
        parse_args(["--stack", "s", "key", "create", "org_a", "--scopes", KEY])

    # Then the message does not contain its secret
    assert "qqqq" not in str(error.value)
    assert redact(f"x {KEY} y") == "x lp_test_<redacted> y"


def test_admin_help_lists_the_commands(capsys):
    # Given `leasing admin -h`
    # When run
    with pytest.raises(SystemExit) as done:
        main(["admin", "-h"])

    # Then it exits 0 and lists every command
    assert done.value.code == 0
    out = capsys.readouterr().out
    for command in ("seed", "org", "project", "key", "wallet", "ledger", "pool", "posts", "audit"):
        assert command in out


def test_a_usage_error_through_leasing_is_exit_code_2_with_one_line(capsys):
    # Given a bad admin command line
    # When run through `leasing`
    code = main(["admin", "--stack", "s", "wallet", "credit", "org_a", "lots"])

    # Then one line on stderr and exit code 2
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1
    assert err.startswith("leasing admin wallet credit: argument CENTS")


# ------------------------------------------------------------------------------ stack outputs


class FakeCloudFormation:
    def __init__(self, stacks: dict[str, list[dict[str, str]]]) -> None:
        self.stacks = stacks

    def describe_stacks(self, *, StackName: str) -> dict[str, Any]:
        if StackName not in self.stacks:
            raise ClientError(
                {
                    "Error": {
                        "Code": "ValidationError",
                        "Message": f"Stack with id {StackName} does not exist",
                    }
                },
                "DescribeStacks",
            )
        return {"Stacks": [{"StackName": StackName, "Outputs": self.stacks[StackName]}]}


def test_the_table_name_comes_from_the_stacks_table_name_output():
    # Given a stack with several outputs
    cloudformation = FakeCloudFormation(
        {
            "leasing": [
                {"OutputKey": "ApiUrl", "OutputValue": "https://example"},
                {"OutputKey": "TableName", "OutputValue": "leasing-LeasingTable-ABC"},
            ]
        }
    )
    # When the table is looked up / Then it is the TableName output
    assert table_name_from_stack(cloudformation, "leasing") == "leasing-LeasingTable-ABC"


def test_a_missing_stack_or_output_is_a_target_error():
    # Given a stack without a TableName output
    cloudformation = FakeCloudFormation({"other": [{"OutputKey": "ApiUrl", "OutputValue": "x"}]})

    # When a missing stack or that one is looked up / Then each is a target error
    with pytest.raises(TargetError, match="stack 'nope' does not exist"):
        table_name_from_stack(cloudformation, "nope")
    with pytest.raises(TargetError, match="has no TableName output"):
        table_name_from_stack(cloudformation, "other")


# ---------------------------------------------------------------------------------- rendering


def test_money_is_dollars_with_thousands_and_cents():
    # Given amounts in cents / When shown / Then dollars
    assert money(0) == "$0.00"
    assert money(123456789) == "$1,234,567.89"
    assert money(-5) == "-$0.05"


def test_tables_pad_columns_and_show_missing_values_as_dashes():
    # Given rows with a missing value and a list
    rows: list[dict[str, Any]] = [
        {"id": "sa_1", "geo": ["US", "CA"], "org": None},
        {"id": "sa_long_id", "geo": [], "org": "org_a"},
    ]

    # When rendered
    text = table(rows, [("id", "ID"), ("geo", "GEO"), ("org", "ORG")], empty="none")

    # Then columns line up, lists are joined and empty values are dashes
    assert text.splitlines() == [
        "ID          GEO    ORG",
        "sa_1        US,CA  -",
        "sa_long_id  -      org_a",
    ]
    assert table([], [("id", "ID")], empty="none") == "none"
