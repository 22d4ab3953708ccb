"""`leasing --version` and `leasing serve --help`: defaults shown, every option described."""

from __future__ import annotations

import argparse
import re

import pytest

from leasing_cli.main import build_parser


def test_version_prints_the_package_version(capsys: pytest.CaptureFixture[str]) -> None:
    # Given the CLI / When --version is asked / Then it prints "leasing <version>" and exits 0
    with pytest.raises(SystemExit) as exit_:
        build_parser().parse_args(["--version"])
    assert exit_.value.code == 0
    assert re.fullmatch(r"leasing \S+\n", capsys.readouterr().out)


def test_serve_help_shows_defaults_describes_every_option_and_says_state_is_in_memory(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Given the CLI / When `serve --help` is asked
    with pytest.raises(SystemExit):
        build_parser().parse_args(["serve", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    # Then defaults are shown and the state's lifetime is explained
    assert "(default: 127.0.0.1)" in text
    assert "(default: 3000)" in text
    assert "in memory" in text
    assert "--dynamodb-endpoint" in text
    # And every option has a description
    subcommands = next(
        action for action in build_parser()._actions if isinstance(action, argparse._SubParsersAction)
    )
    serve = subcommands.choices["serve"]
    assert all(action.help for action in serve._actions)
