"""Seed files: validate the whole file first, then write it through the repository's put methods.

A seed holds API keys in clear text, so nothing here echoes a key: the key field is a `SecretStr`
and validation messages name the field, never its value.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    model_validator,
)
from pydantic.alias_generators import to_camel

from layers_common.api_keys import ParsedKey, hash_secret, parse_api_key
from layers_common.clock import add_months, isoformat, new_id, parse_iso
from layers_common.models.lease_request import CountryCode
from layers_common.repository import keys
from layers_common.repository.leasing_repository import (
    LeasingRepository,
    account_item,
    api_key_item,
    org_item,
    project_item,
    scheduled_post_item,
    wallet_item,
)
from layers_common.repository.records import (
    AccountRecord,
    ApiKeyRecord,
    LeaseRecord,
    LeaseRequestRecord,
    OrgRecord,
    ScheduledPostRecord,
)

_TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")


class SeedError(ValueError):
    """A seed file that cannot be applied; the message names every bad field."""


def _timestamp(text: str) -> str:
    if not _TIMESTAMP.match(text):
        raise ValueError("must be an ISO-8601 UTC timestamp with a Z suffix, e.g. 2026-04-18T19:24:11Z")
    parse_iso(text)  # a real date (rejects 2026-02-30)
    return text


def _api_key(key: SecretStr) -> SecretStr:
    if parse_api_key(key.get_secret_value()) is None:
        raise ValueError("is not a well-formed API key (lp_<live|test>_<16 of 0-9A-Z>_<43 base64url>)")
    return key


def _language(tag: str) -> str:
    import langcodes

    if "_" in tag or not langcodes.tag_is_valid(tag):
        raise ValueError("is not a well-formed BCP-47 language tag (e.g. en, en-US, de)")
    return tag


Timestamp = Annotated[str, AfterValidator(_timestamp)]
Identifier = Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_-]+$")]
Name = Annotated[str, Field(min_length=1, max_length=200)]


class SeedModel(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, extra="forbid", frozen=True)


class SeedApiKey(SeedModel):
    key: Annotated[SecretStr, AfterValidator(_api_key)]
    scopes: list[Annotated[str, Field(min_length=1)]] = []
    tier: Literal["standard", "pilot", "partner"] = "standard"
    status: Literal["active", "revoked", "suspended"] = "active"
    suspended: bool = False  # the same as status "suspended"
    # The key record's env; defaults to the key text's prefix. A different value makes a key whose
    # prefix disagrees with its record (the contract answers 401 for it).
    env: Literal["live", "test"] | None = None

    @property
    def record_env(self) -> str:
        return self.env or self.parsed.env

    @property
    def record_status(self) -> str:
        return "suspended" if self.suspended and self.status == "active" else self.status

    @property
    def parsed(self) -> ParsedKey:
        parsed = parse_api_key(self.key.get_secret_value())
        assert parsed is not None  # checked by the validator
        return parsed


class SeedProject(SeedModel):
    id: Identifier
    name: Name


class SeedOrg(SeedModel):
    id: Identifier
    name: Name
    wallet_balance_cents: Annotated[int, Field(strict=True, ge=0)] = 0
    status: Literal["active", "suspended"] = "active"
    suspended: bool = False  # the same as status "suspended"
    api_keys: list[SeedApiKey] = []
    projects: list[SeedProject] = []


class SeedPoolAccount(SeedModel):
    social_account_id: Identifier
    handle: Name
    platform: Name = "tiktok"
    followers: Annotated[int, Field(strict=True, ge=0)] = 0
    vertical: Annotated[str, Field(min_length=1, max_length=64)]
    language: Annotated[str, AfterValidator(_language)] | None = None
    geo: list[CountryCode] = []
    monthly_price_cents: Annotated[int, Field(strict=True, ge=0)] = 15000
    # "leased" without a seeded lease keeps the account out of assignment (taken elsewhere).
    status: Literal["available", "leased"] = "available"


class SeedConnectedAccount(SeedModel):
    social_account_id: Identifier
    project_id: Identifier
    # Needed only to refer to a project that already exists (not seeded in this file).
    org_id: Identifier | None = None
    handle: Name
    platform: Name = "tiktok"
    status: Literal["connected", "disconnected"] = "connected"


class SeedScheduledPost(SeedModel):
    scheduled_post_id: Identifier
    social_account_id: Identifier
    status: Literal["queued", "published", "failed", "canceled"] = "queued"
    scheduled_for: Timestamp | None = None


class SeedLease(SeedModel):
    """Extension of the seed format: a pool account already leased (or once leased) to a project."""

    social_account_id: Identifier
    org_id: Identifier
    project_id: Identifier
    assigned_at: Timestamp
    request_id: Identifier | None = None
    lease_id: Identifier = Field(default_factory=lambda: new_id("lse"))
    status: Literal["assigned", "disconnected"] = "assigned"
    disconnected_at: Timestamp | None = None
    disconnected_reason: Literal["released_by_partner", "insufficient_funds"] | None = None
    # Months already charged (1 = only the first). Default: paid up to now, so nothing is overdue.
    periods_charged: Annotated[int, Field(strict=True, ge=1)] | None = None

    @model_validator(mode="after")
    def _disconnection_fields(self) -> SeedLease:
        ended = self.disconnected_at is not None or self.disconnected_reason is not None
        if self.status == "assigned" and ended:
            raise ValueError("an assigned lease has no disconnectedAt or disconnectedReason")
        if self.status == "disconnected" and (
            self.disconnected_at is None or self.disconnected_reason is None
        ):
            raise ValueError("a disconnected lease needs disconnectedAt and disconnectedReason")
        return self


class SeedLeaseRequest(SeedModel):
    """Extension of the seed format: a lease request as the API shows it (e.g. one already fulfilled)."""

    request_id: Identifier
    org_id: Identifier
    project_id: Identifier
    count: Annotated[int, Field(strict=True, ge=1, le=50)]
    niche: dict[str, Any]
    status: Literal["requested", "assigned", "partial", "rejected"] = "requested"
    submitted_at: Timestamp
    assigned_at: Timestamp | None = None
    assigned_social_account_ids: list[Identifier] = []
    note: str | None = None


class SeedFile(SeedModel):
    orgs: list[SeedOrg] = []
    pool: list[SeedPoolAccount] = []
    social_accounts: list[SeedConnectedAccount] = []
    scheduled_posts: list[SeedScheduledPost] = []
    leases: list[SeedLease] = []
    lease_requests: list[SeedLeaseRequest] = []


def _path(location: Iterable[int | str]) -> str:
    text = ""
    for part in location:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _duplicates(
    entries: Iterable[tuple[str, str]],
) -> Iterator[str]:
    """`(path, value)` pairs → one problem per value seen more than once, at each later path."""
    seen: dict[str, str] = {}
    for path, value in entries:
        if value in seen:
            yield f"{path}: duplicate id {value!r} (first at {seen[value]})"
        else:
            seen[value] = path


def _reference_problems(seed: SeedFile) -> list[str]:
    """Problems no existing data can fix: duplicates, and references that must be to this file."""
    problems: list[str] = []
    org_ids = {org.id for org in seed.orgs}
    project_org = {project.id: org.id for org in seed.orgs for project in org.projects}
    pool_ids = {account.social_account_id for account in seed.pool}

    problems += _duplicates((f"orgs[{i}].id", org.id) for i, org in enumerate(seed.orgs))
    problems += _duplicates(
        (f"orgs[{i}].projects[{j}].id", project.id)
        for i, org in enumerate(seed.orgs)
        for j, project in enumerate(org.projects)
    )
    problems += [f"{path}: duplicate keyId (first at {first})" for path, first in _duplicate_key_ids(seed)]
    problems += _duplicates(
        [(f"pool[{i}].socialAccountId", a.social_account_id) for i, a in enumerate(seed.pool)]
        + [
            (f"socialAccounts[{i}].socialAccountId", a.social_account_id)
            for i, a in enumerate(seed.social_accounts)
        ]
    )
    problems += _duplicates(
        (f"scheduledPosts[{i}].scheduledPostId", post.scheduled_post_id)
        for i, post in enumerate(seed.scheduled_posts)
    )
    problems += _duplicates((f"leases[{i}].leaseId", lease.lease_id) for i, lease in enumerate(seed.leases))
    for i, account in enumerate(seed.social_accounts):
        path = f"socialAccounts[{i}]"
        seeded_org = project_org.get(account.project_id)
        if seeded_org is not None and account.org_id not in (None, seeded_org):
            problems.append(f"{path}.orgId: project {account.project_id!r} is seeded in org {seeded_org!r}")
        elif seeded_org is None and account.org_id is None:
            problems.append(
                f"{path}.projectId: unknown project {account.project_id!r} "
                "(give orgId to refer to a project that already exists)"
            )
        elif seeded_org is None and account.org_id in org_ids:
            problems.append(f"{path}.projectId: org {account.org_id!r} has no project {account.project_id!r}")
    assigned = Counter(lease.social_account_id for lease in seed.leases if lease.status == "assigned")
    for i, lease in enumerate(seed.leases):
        if lease.social_account_id not in pool_ids:
            problems.append(
                f"leases[{i}].socialAccountId: {lease.social_account_id!r} is not a seeded pool account"
            )
        elif lease.status == "assigned" and assigned[lease.social_account_id] > 1:
            problems.append(
                f"leases[{i}].socialAccountId: {lease.social_account_id!r} has more than one assigned lease"
            )
        if lease.org_id in org_ids and project_org.get(lease.project_id) != lease.org_id:
            problems.append(
                f"leases[{i}].projectId: org {lease.org_id!r} has no project {lease.project_id!r}"
            )
    problems += _duplicates(
        (f"leaseRequests[{i}].requestId", f"{request.org_id}/{request.request_id}")
        for i, request in enumerate(seed.lease_requests)
    )
    for i, request in enumerate(seed.lease_requests):
        if request.org_id in org_ids and project_org.get(request.project_id) != request.org_id:
            problems.append(
                f"leaseRequests[{i}].projectId: org {request.org_id!r} has no project {request.project_id!r}"
            )
    return problems


Key = tuple[str, str]


def _external_references(seed: SeedFile) -> list[tuple[str, str, Key]]:
    """(path, problem, key) of each reference to something not in this file: it must exist."""
    org_ids = {org.id for org in seed.orgs}
    project_org = {project.id: org.id for org in seed.orgs for project in org.projects}
    account_ids = {a.social_account_id for a in seed.pool} | {
        a.social_account_id for a in seed.social_accounts
    }
    references: list[tuple[str, str, Key]] = []
    for i, account in enumerate(seed.social_accounts):
        if (
            account.project_id not in project_org
            and account.org_id is not None
            and account.org_id not in org_ids
        ):
            references.append(
                (
                    f"socialAccounts[{i}].projectId",
                    f"org {account.org_id!r} has no project {account.project_id!r}",
                    keys.project(account.org_id, account.project_id),
                )
            )
    for i, post in enumerate(seed.scheduled_posts):
        if post.social_account_id not in account_ids:
            references.append(
                (
                    f"scheduledPosts[{i}].socialAccountId",
                    f"unknown social account {post.social_account_id!r}",
                    keys.account(post.social_account_id),
                )
            )
    owned: list[tuple[str, str, str]] = [
        (f"leases[{i}]", lease.org_id, lease.project_id) for i, lease in enumerate(seed.leases)
    ] + [(f"leaseRequests[{i}]", r.org_id, r.project_id) for i, r in enumerate(seed.lease_requests)]
    for path, org_id, project_id in owned:
        if org_id not in org_ids:
            references.append((f"{path}.orgId", f"unknown org {org_id!r}", keys.org(org_id)))
            references.append(
                (
                    f"{path}.projectId",
                    f"org {org_id!r} has no project {project_id!r}",
                    keys.project(org_id, project_id),
                )
            )
    return references


def _own_keys(seed: SeedFile) -> list[tuple[str, Key]]:
    """(what, key) of every item the seed would write: each must not exist yet."""
    items: list[tuple[str, Key]] = []
    for org in seed.orgs:
        items += [(f"org {org.id}", keys.org(org.id)), (f"wallet of org {org.id}", keys.wallet(org.id))]
        items += [(f"project {org.id}/{p.id}", keys.project(org.id, p.id)) for p in org.projects]
        items += [(f"API key {k.parsed.key_id}", keys.api_key(k.parsed.key_id)) for k in org.api_keys]
    items += [(f"pool account {a.social_account_id}", keys.account(a.social_account_id)) for a in seed.pool]
    items += [
        (f"social account {a.social_account_id}", keys.account(a.social_account_id))
        for a in seed.social_accounts
    ]
    items += [
        (
            f"scheduled post {p.social_account_id}/{p.scheduled_post_id}",
            keys.scheduled_post(p.social_account_id, p.scheduled_post_id),
        )
        for p in seed.scheduled_posts
    ]
    items += [
        (f"lease {lease.org_id}/{lease.lease_id}", keys.lease(lease.org_id, lease.lease_id))
        for lease in seed.leases
    ]
    items += [
        (f"lease request {r.org_id}/{r.request_id}", keys.lease_request(r.org_id, r.request_id))
        for r in seed.lease_requests
    ]
    return items


def seed_problems(repo: LeasingRepository, seed: SeedFile) -> tuple[list[str], list[str]]:
    """(clashes, missing references) of a validated seed against what exists, read in batches.

    A clash is an item of the seed whose own key already holds something (a seed never
    overwrites); a missing reference is something the seed refers to that is neither in it nor in
    the table."""
    own = _own_keys(seed)
    references = _external_references(seed)
    existing = repo.existing_keys([key for _, key in own] + [key for _, _, key in references])
    clashes = [what for what, key in own if key in existing]
    missing = [f"{path}: {problem}" for path, problem, key in references if key not in existing]
    return clashes, missing


def _duplicate_key_ids(seed: SeedFile) -> Iterator[tuple[str, str]]:
    first_seen: dict[str, str] = {}
    for i, org in enumerate(seed.orgs):
        for j, api_key in enumerate(org.api_keys):
            path = f"orgs[{i}].apiKeys[{j}].key"
            key_id = api_key.parsed.key_id
            if key_id in first_seen:
                yield path, first_seen[key_id]
            else:
                first_seen[key_id] = path


def validate_seed(data: Any, *, source: str = "seed") -> SeedFile:
    """Validate parsed JSON as a seed, cross-references included; raise `SeedError` naming each field."""
    try:
        seed = SeedFile.model_validate(data)
    except ValidationError as error:
        # Only the location and message: pydantic's own text would include the input (an API key).
        lines = [
            f"{_path(issue['loc']) or '(top level)'}: {issue['msg'].removeprefix('Value error, ')}"
            for issue in error.errors()
        ]
        raise SeedError(f"{source} is not a valid seed file:\n  " + "\n  ".join(lines)) from None
    problems = _reference_problems(seed)
    if problems:
        raise SeedError(f"{source} is not a valid seed file:\n  " + "\n  ".join(problems))
    return seed


def read_json_file(path: Path | str, what: str) -> Any:
    """A JSON file's content, or a `SeedError` that never quotes the file (it may hold API keys)."""
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as error:
        raise SeedError(f"cannot read {what} {file}: {error.strerror}") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        # `error.msg` only, never `str(error)` with the document around the position.
        raise SeedError(
            f"{file} is not JSON: {error.msg} at line {error.lineno} column {error.colno}"
        ) from None


def load_seed(path: Path | str) -> SeedFile:
    """Read and validate a seed file; nothing is written until the whole file is known to be good."""
    return validate_seed(read_json_file(path, "seed file"), source=str(path))


def _periods_paid(lease: SeedLease) -> int:
    """Months charged for a seeded lease: as given, else every period started up to now."""
    if lease.periods_charged is not None:
        return lease.periods_charged
    assigned, now = parse_iso(lease.assigned_at), datetime.now(UTC)
    periods = 1
    while add_months(assigned, periods) <= now:
        periods += 1
    return periods


class SeedClash(SeedError):
    """The seed would overwrite existing items (or refers to missing ones): nothing was written."""


def _write(repo: LeasingRepository, what: str, key: Key, item: dict[str, Any], written: list[str]) -> None:
    if not repo.put_new(key, item):
        done = f"; already written: {', '.join(written)}" if written else "; nothing was written"
        raise SeedClash(f"{what} was created by someone else while the seed was being applied{done}")
    written.append(what)


def apply_seed(repo: LeasingRepository, seed: SeedFile, *, source: str = "seed") -> None:
    """Check the whole seed against what exists, then write it; it never overwrites anything.

    Every item is written only if its key is free (a conditional put), pool accounts directly in
    their final state (leased to their seeded lease), so no request can claim one in between.
    A clash or a missing reference is refused (`SeedClash`) before anything is written."""
    clashes, missing = seed_problems(repo, seed)
    if clashes or missing:
        lines = []
        if clashes:
            lines.append("already exists (a seed never overwrites): " + ", ".join(clashes))
        lines += missing
        raise SeedClash(f"{source} was not applied, nothing was written:\n  " + "\n  ".join(lines))
    written: list[str] = []
    created = {"createdAt": isoformat(datetime.now(UTC))}  # as `leasing admin ... create` records it
    for org in seed.orgs:
        org_status = "suspended" if org.suspended else org.status
        record = OrgRecord(org_id=org.id, name=org.name, status=org_status)
        _write(repo, f"org {org.id}", keys.org(org.id), {**org_item(record), **created}, written)
        wallet = wallet_item(org.id, org.wallet_balance_cents)
        _write(repo, f"wallet of org {org.id}", keys.wallet(org.id), wallet, written)
        for project in org.projects:
            item = {**project_item(org.id, project.id, project.name), **created}
            _write(repo, f"project {org.id}/{project.id}", keys.project(org.id, project.id), item, written)
        for api_key in org.api_keys:
            parsed = api_key.parsed
            key_record = ApiKeyRecord(
                key_id=parsed.key_id,
                org_id=org.id,
                secret_hash=hash_secret(parsed.secret),
                env=api_key.record_env,
                scopes=tuple(api_key.scopes),
                tier=api_key.tier,
                status=api_key.record_status,
            )
            what = f"API key {parsed.key_id}"
            _write(repo, what, keys.api_key(parsed.key_id), {**api_key_item(key_record), **created}, written)
    pool = {account.social_account_id: account for account in seed.pool}
    holder = {lease.social_account_id: lease for lease in seed.leases if lease.status == "assigned"}
    for account in seed.pool:
        lease = holder.get(account.social_account_id)
        record_ = AccountRecord(
            social_account_id=account.social_account_id,
            kind="pool",
            handle=account.handle,
            platform=account.platform,
            followers=account.followers,
            pool_status="leased" if lease is not None else account.status,
            lease_id=lease.lease_id if lease is not None else None,
            leased_org_id=lease.org_id if lease is not None else None,
            vertical=account.vertical,
            language=account.language,
            geo=tuple(account.geo),
            monthly_price_cents=account.monthly_price_cents,
        )
        what = f"pool account {account.social_account_id}"
        _write(repo, what, keys.account(account.social_account_id), account_item(record_), written)
    project_org = {project.id: org.id for org in seed.orgs for project in org.projects}
    for connected in seed.social_accounts:
        record_ = AccountRecord(
            social_account_id=connected.social_account_id,
            kind="connected",
            handle=connected.handle,
            platform=connected.platform,
            org_id=project_org.get(connected.project_id, connected.org_id),
            project_id=connected.project_id,
            status=connected.status,
        )
        what = f"social account {connected.social_account_id}"
        _write(repo, what, keys.account(connected.social_account_id), account_item(record_), written)
    # A post queued on a leased account belongs to its current lease (only that lease's release
    # cancels it): the lease seeded with it, else the one the account already holds.
    for post in seed.scheduled_posts:
        lease_id = holder[post.social_account_id].lease_id if post.social_account_id in holder else None
        if lease_id is None and post.social_account_id not in pool:
            existing = repo.get_account(post.social_account_id)
            lease_id = existing.lease_id if existing is not None and existing.kind == "pool" else None
        post_record = ScheduledPostRecord(
            scheduled_post_id=post.scheduled_post_id,
            social_account_id=post.social_account_id,
            status=post.status,
            scheduled_for=post.scheduled_for,
            lease_id=lease_id,
        )
        what = f"scheduled post {post.social_account_id}/{post.scheduled_post_id}"
        key = keys.scheduled_post(post.social_account_id, post.scheduled_post_id)
        _write(repo, what, key, scheduled_post_item(post_record), written)
    for lease in seed.leases:
        account = pool[lease.social_account_id]
        lease_record = LeaseRecord(
            org_id=lease.org_id,
            lease_id=lease.lease_id,
            social_account_id=lease.social_account_id,
            project_id=lease.project_id,
            request_id=lease.request_id,
            handle=account.handle,
            platform=account.platform,
            followers=account.followers,
            status=lease.status,
            assigned_at=lease.assigned_at,
            next_renewal_at=(
                isoformat(add_months(parse_iso(lease.assigned_at), _periods_paid(lease)))
                if lease.status == "assigned"
                else None
            ),
            periods_charged=_periods_paid(lease),
            monthly_price_cents=account.monthly_price_cents,
            disconnected_at=lease.disconnected_at,
            disconnected_reason=lease.disconnected_reason,
        )
        item = repo.lease_item(lease_record)
        key = (item.pop("pk"), item.pop("sk"))
        _write(repo, f"lease {lease.org_id}/{lease.lease_id}", key, item, written)
    for request in seed.lease_requests:
        request_record = LeaseRequestRecord(
            org_id=request.org_id,
            request_id=request.request_id,
            project_id=request.project_id,
            count=request.count,
            niche=request.niche,
            status=request.status,
            submitted_at=request.submitted_at,
            body_hash="",  # a seeded request was not submitted through the API: no body to replay
            assigned_at=request.assigned_at,
            assigned_social_account_ids=tuple(request.assigned_social_account_ids),
            note=request.note,
        )
        item = repo.lease_request_item(request_record)
        key = (item.pop("pk"), item.pop("sk"))
        _write(repo, f"lease request {request.org_id}/{request.request_id}", key, item, written)
