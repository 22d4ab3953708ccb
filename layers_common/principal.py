"""The authenticated caller (from the authorizer's context) and scope checks."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal, NamedTuple

from layers_common.errors import ForbiddenScope

Tier = Literal["standard", "pilot", "partner"]
TIERS: tuple[Tier, ...] = ("standard", "pilot", "partner")

LEASED_WRITE = "leased:write"
SOCIAL_WRITE = "social:write"
ALL_SCOPES = "*"


class Principal(NamedTuple):
    """Who is calling: never carries the key's secret."""

    org_id: str
    key_id: str
    scopes: frozenset[str]
    tier: Tier
    env: str
    suspended: bool = False

    def has_scope(self, scope: str) -> bool:
        return ALL_SCOPES in self.scopes or scope in self.scopes

    def require(self, scope: str) -> None:
        if not self.has_scope(scope):
            raise ForbiddenScope(scope)

    def to_context(self) -> dict[str, str]:
        """Authorizer context: API Gateway only passes flat string/number/boolean values."""
        return {
            "orgId": self.org_id,
            "keyId": self.key_id,
            "scopes": " ".join(sorted(self.scopes)),
            "tier": self.tier,
            "env": self.env,
            "suspended": "true" if self.suspended else "false",
        }

    @classmethod
    def from_context(cls, context: Mapping[str, object] | None) -> Principal | None:
        if not context or not context.get("orgId") or not context.get("keyId"):
            return None
        tier = str(context.get("tier") or "standard")
        return cls(
            org_id=str(context["orgId"]),
            key_id=str(context["keyId"]),
            scopes=frozenset(str(context.get("scopes") or "").split()),
            tier=tier if tier in TIERS else "standard",
            env=str(context.get("env") or ""),
            suspended=str(context.get("suspended")).lower() == "true",
        )
