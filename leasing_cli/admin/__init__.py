"""`leasing admin`: the ops tool (seed, orgs, projects, keys, wallets, ledger, pool, posts, audit)."""

from leasing_cli.admin.cli import main, register

__all__ = ["main", "register"]
