"""Which DynamoDB actions can a function's code make? Derived from the source, not listed by hand.

Two levels, both read with `ast`:

1. Every method of `LeasingRepository` (the only code that talks to DynamoDB) is mapped to the IAM
   actions it can cause: its `self.client.<operation>(...)` calls, and, for the transactions it
   writes, the item kinds of its `TransactWriteItems` items (`Put`, `Update`, `Delete`,
   `ConditionCheck`): IAM authorizes a transaction item by item, as `PutItem`, `UpdateItem`,
   `DeleteItem` and `ConditionCheckItem`, never as `TransactWriteItems`. A query names the index it
   reads (`IndexName`, a literal or one of the index names the method mentions) or the table.
   Calls between repository methods are followed.
2. A function reaches every definition whose name is mentioned (called, decorated with or passed as
   a value) from its `functions/<name>/` code, transitively through `layers_common`. Matching by
   name over-approximates (two methods with one name both count), so a path cannot be missed; the
   result is what the function's code can reach, nothing is listed by hand.

The tests compare this with the actions the template grants, and check it against what the sample
events really do (a botocore hook on the running functions).
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
LAYER = REPO_ROOT / "layers_common"
REPOSITORY_MODULE = LAYER / "repository" / "leasing_repository.py"
REPOSITORY_CLASS = "LeasingRepository"

TABLE = "table"

#: botocore's client method -> the IAM action it needs (transactions are handled item by item).
CLIENT_ACTIONS = {
    "get_item": "dynamodb:GetItem",
    "put_item": "dynamodb:PutItem",
    "update_item": "dynamodb:UpdateItem",
    "delete_item": "dynamodb:DeleteItem",
    "batch_get_item": "dynamodb:BatchGetItem",
    "batch_write_item": "dynamodb:BatchWriteItem",
    "query": "dynamodb:Query",
    "scan": "dynamodb:Scan",
}
TRANSACTION_ITEM_ACTIONS = {
    "Put": "dynamodb:PutItem",
    "Update": "dynamodb:UpdateItem",
    "Delete": "dynamodb:DeleteItem",
    "ConditionCheck": "dynamodb:ConditionCheckItem",
}
#: The API operation names a botocore hook sees, mapped the same way.
OPERATION_ACTIONS = {
    "GetItem": "dynamodb:GetItem",
    "PutItem": "dynamodb:PutItem",
    "UpdateItem": "dynamodb:UpdateItem",
    "DeleteItem": "dynamodb:DeleteItem",
    "BatchGetItem": "dynamodb:BatchGetItem",
    "BatchWriteItem": "dynamodb:BatchWriteItem",
    "Query": "dynamodb:Query",
    "Scan": "dynamodb:Scan",
}

#: (IAM action, "table" or "index/<name>")
Grant = tuple[str, str]


@dataclass
class _Method:
    name: str
    node: ast.FunctionDef
    grants: set[Grant] = field(default_factory=set)
    calls: set[str] = field(default_factory=set)


def _keyword(call: ast.Call, name: str) -> ast.keyword | None:
    return next((keyword for keyword in call.keywords if keyword.arg == name), None)


def _query_resources(call: ast.Call, method: ast.FunctionDef, indexes: set[str]) -> set[str]:
    index = _keyword(call, "IndexName")
    if index is None:
        return {TABLE}
    if isinstance(index.value, ast.Constant) and isinstance(index.value.value, str):
        return {f"index/{index.value.value}"}
    named = {
        node.value
        for node in ast.walk(method)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in indexes
    }
    assert named, f"{method.name}: a query names an index the method does not spell out"
    return {f"index/{name}" for name in named}


def _is_self_attribute(node: ast.expr, *chain: str) -> bool:
    """True for `self.a.b` given ("a", "b")."""
    for name in reversed(chain):
        if not (isinstance(node, ast.Attribute) and node.attr == name):
            return False
        node = node.value
    return isinstance(node, ast.Name) and node.id == "self"


def repository_grants(indexes: Iterable[str]) -> dict[str, set[Grant]]:
    """Every LeasingRepository method -> the (action, resource) pairs it can cause, calls followed."""
    index_names = set(indexes)
    tree = ast.parse(REPOSITORY_MODULE.read_text(encoding="utf-8"))
    (cls,) = (n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == REPOSITORY_CLASS)
    methods = {n.name: _Method(n.name, n) for n in cls.body if isinstance(n, ast.FunctionDef)}
    query_helpers = {"_query_all"}  # forwards its keyword arguments to client.query
    for method in methods.values():
        for node in ast.walk(method.node):
            if isinstance(node, ast.Dict):
                for key in node.keys:
                    if isinstance(key, ast.Constant) and key.value in TRANSACTION_ITEM_ACTIONS:
                        method.grants.add((TRANSACTION_ITEM_ACTIONS[key.value], TABLE))
            if not isinstance(node, ast.Call):
                continue
            function = node.func
            if _is_self_attribute(function, "client", "query") or (
                isinstance(function, ast.Attribute)
                and _is_self_attribute(function, function.attr)
                and function.attr in query_helpers
            ):
                if method.name in query_helpers:
                    continue  # its callers' arguments say which table or index is read
                for resource in _query_resources(node, method.node, index_names):
                    method.grants.add(("dynamodb:Query", resource))
            elif isinstance(function, ast.Attribute) and _is_self_attribute(function.value, "client"):
                if function.attr == "transact_write_items":
                    continue  # its items carry the actions (the dict keys above)
                assert function.attr in CLIENT_ACTIONS, f"{method.name}: unknown client call {function.attr}"
                method.grants.add((CLIENT_ACTIONS[function.attr], TABLE))
            elif isinstance(function, ast.Attribute) and _is_self_attribute(function, function.attr):
                method.calls.add(function.attr)
    closed: dict[str, set[Grant]] = {}
    for name in methods:
        seen, pending, grants = {name}, [name], set[Grant]()
        while pending:
            current = methods[pending.pop()]
            grants |= current.grants
            for callee in current.calls & methods.keys() - seen:
                seen.add(callee)
                pending.append(callee)
        closed[name] = grants
    return closed


def _definitions(paths: Iterable[Path]) -> dict[str, list[ast.AST]]:
    """Every function, method and class defined in the given files, by name."""
    found: dict[str, list[ast.AST]] = {}
    for path in paths:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                found.setdefault(node.name, []).append(node)
    return found


def _mentioned_names(node: ast.AST) -> Iterator[str]:
    """Names a definition calls, decorates with, instantiates or passes along."""
    for child in ast.walk(node):
        if isinstance(child, ast.Name):
            yield child.id
        elif isinstance(child, ast.Attribute):
            yield child.attr


def _class_entry_points(node: ast.ClassDef) -> list[ast.AST]:
    """Instantiating a class runs its initializer (and the dunder protocol methods it defines)."""
    return [
        item
        for item in node.body
        if isinstance(item, ast.FunctionDef) and item.name.startswith("__") and item.name.endswith("__")
    ]


def function_grants(code_folder: Path, indexes: Iterable[str]) -> set[Grant]:
    """The DynamoDB (action, resource) pairs the code of one function folder can cause."""
    repository = repository_grants(indexes)
    layer_files = [p for p in LAYER.rglob("*.py") if p != REPOSITORY_MODULE]
    definitions = _definitions(layer_files)
    sources = sorted(code_folder.rglob("*.py"))
    roots: list[ast.AST] = [ast.parse(path.read_text(encoding="utf-8")) for path in sources]
    grants: set[Grant] = set()
    visited: set[int] = set()
    pending = list(roots)
    while pending:
        node = pending.pop()
        if id(node) in visited:
            continue
        visited.add(id(node))
        bodies = _class_entry_points(node) if isinstance(node, ast.ClassDef) else [node]
        for body in bodies:
            for name in _mentioned_names(body):
                if name in repository:
                    grants |= repository[name]
                pending.extend(definitions.get(name, []))
    return grants
