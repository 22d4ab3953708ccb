"""`leasing admin` run in-process against the embedded DynamoDB: its exit code and output."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass
class Outcome:
    code: int
    out: str
    err: str

    def ok(self) -> Outcome:
        assert self.code == 0, self.err
        return self

    def json(self) -> Any:
        return json.loads(self.ok().out)


Admin = Callable[..., Outcome]
