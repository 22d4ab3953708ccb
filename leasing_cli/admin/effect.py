"""When an access change (key revocation, organization suspension) takes effect, said once for all.

API Gateway caches the authorizer's result (policy, principal and context: the key's scopes and the
organization's status) per `Authorization` value for `AuthorizerCacheSeconds`. A change made in the
table is seen at once by a local `leasing serve` (no cache unless `--authorizer-cache on`), but on a
deployed stack a caller whose result is cached keeps its old access until that entry expires.
"""

from __future__ import annotations

from functools import cache

DEFAULT_CACHE_SECONDS = 300
PARAMETER = "AuthorizerCacheSeconds"


@cache
def authorizer_cache_seconds() -> int:
    """The template's `AuthorizerCacheSeconds` default (300 when it cannot be read)."""
    from leasing_cli.template import TemplateError, default_template_path, load_template

    try:
        parameter = load_template(default_template_path()).parameters.get(PARAMETER)
    except TemplateError:
        return DEFAULT_CACHE_SECONDS
    if parameter is None or parameter.default is None:
        return DEFAULT_CACHE_SECONDS
    return int(float(parameter.default))


def access_change_notice() -> str:
    seconds = authorizer_cache_seconds()
    return (
        "takes effect at once locally; within AuthorizerCacheSeconds "
        f"({seconds} s by default) on a deployed stack, where API Gateway keeps serving a cached "
        "authorizer result until it expires"
    )
