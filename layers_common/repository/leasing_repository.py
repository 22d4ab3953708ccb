"""The leasing table: every key, condition expression and transaction of the service."""

from __future__ import annotations

import random
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

from layers_common.clock import LEDGER_ID_PREFIX
from layers_common.repository import keys
from layers_common.repository.dynamodb import (
    Item,
    cancellation_codes,
    dynamodb_client,
    error_code,
    from_attributes,
    to_attribute,
    to_attributes,
)
from layers_common.repository.records import (
    AccountRecord,
    ApiKeyRecord,
    AuditEntry,
    IdempotencyRecord,
    LeasePage,
    LeaseRecord,
    LeaseRequestRecord,
    LedgerEntry,
    OrgRecord,
    OutboxMessage,
    RateWindow,
    RequestContext,
    ScheduledPostRecord,
    StoredResponse,
    WriteCount,
)

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

OUTBOX_RETENTION_SECONDS = 7 * 24 * 3600
_CONFLICT_RETRIES = 3
CONDITION_FAILED = "ConditionalCheckFailed"
TRANSACTION_LIMIT = 100

AcceptOutcome = Literal["accepted", "request_id_taken", "claim_lost"]
ClaimOutcome = Literal["claimed", "account_taken", "wallet_short", "request_moved"]
RenewOutcome = Literal["renewed", "lease_moved", "wallet_short"]
CONSUMED_RETENTION_SECONDS = 30 * 24 * 3600
_BATCH_GET_LIMIT = 100


class TransactionRefused(RuntimeError):
    """A transaction canceled for a reason the caller did not expect (the per-item codes)."""

    def __init__(self, codes: list[str]) -> None:
        super().__init__(f"transaction canceled: {codes}")
        self.codes = codes


class IdempotencyClaim(NamedTuple):
    """An in-progress idempotency record this call owns (identified by its token)."""

    org_id: str
    method: str
    route: str
    key: str
    token: str

    @property
    def item_key(self) -> tuple[str, str]:
        return keys.idempotency(self.org_id, self.method, self.route, self.key)


def _key(pk_sk: tuple[str, str]) -> dict[str, Any]:
    pk, sk = pk_sk
    return {"pk": {"S": pk}, "sk": {"S": sk}}


# Provisioning items (organizations, wallets, projects, keys): written by seeds and by `leasing admin`.


def org_item(org: OrgRecord) -> Item:
    return {"entity": "org", "orgId": org.org_id, "name": org.name, "status": org.status}


def wallet_item(org_id: str, balance_cents: int) -> Item:
    return {"entity": "wallet", "orgId": org_id, "balanceCents": balance_cents}


def project_item(org_id: str, project_id: str, name: str) -> Item:
    return {"entity": "project", "orgId": org_id, "projectId": project_id, "name": name}


def api_key_item(record: ApiKeyRecord) -> Item:
    """Only the secret's hash is stored."""
    return {
        "entity": "apiKey",
        "keyId": record.key_id,
        "orgId": record.org_id,
        "secretHash": record.secret_hash,
        "env": record.env,
        "scopes": list(record.scopes),
        "tier": record.tier,
        "status": record.status,
    }


def account_item(account: AccountRecord) -> Item:
    """A social account: pool accounts are in the `POOL#<vertical>` index only while available."""
    item: Item = {
        "entity": "account",
        "socialAccountId": account.social_account_id,
        "kind": account.kind,
        "handle": account.handle,
        "platform": account.platform,
        "followers": account.followers,
    }
    if account.kind == "connected":
        item.update(orgId=account.org_id, projectId=account.project_id, status=account.status or "connected")
    else:
        vertical_key = (account.vertical or "").strip().lower()
        if (account.pool_status or "available") == "available":
            item.update(gsi1pk=keys.pool_vertical(vertical_key), gsi1sk=account.social_account_id)
        item.update(
            poolStatus=account.pool_status or "available",
            leaseId=account.lease_id,
            leasedOrgId=account.leased_org_id,
            vertical=account.vertical,
            verticalKey=vertical_key,
            language=account.language,
            geo=list(account.geo),
            monthlyPriceCents=account.monthly_price_cents,
        )
    return item


def scheduled_post_item(post: ScheduledPostRecord) -> Item:
    return {
        "entity": "scheduledPost",
        "scheduledPostId": post.scheduled_post_id,
        "socialAccountId": post.social_account_id,
        "status": post.status,
        "scheduledFor": post.scheduled_for,
        **({"leaseId": post.lease_id} if post.lease_id is not None else {}),
    }


def _lease_request_from_item(item: Item) -> LeaseRequestRecord:
    return LeaseRequestRecord(
        org_id=item["orgId"],
        request_id=item["requestId"],
        project_id=item["projectId"],
        count=item["count"],
        niche=item["niche"],
        status=item["status"],
        submitted_at=item["submittedAt"],
        body_hash=item["bodyHash"],
        assigned_at=item.get("assignedAt"),
        assigned_social_account_ids=tuple(item.get("assignedSocialAccountIds") or ()),
        note=item.get("note"),
        target=item.get("target"),
        partner_note=item.get("partnerNote"),
    )


def _lease_from_item(item: Item) -> LeaseRecord:
    return LeaseRecord(
        org_id=item["orgId"],
        lease_id=item["leaseId"],
        social_account_id=item["socialAccountId"],
        project_id=item["projectId"],
        request_id=item.get("requestId"),
        handle=item["handle"],
        platform=item["platform"],
        followers=item.get("followers", 0),
        status=item["status"],
        assigned_at=item["assignedAt"],
        next_renewal_at=item.get("nextRenewalAt"),
        monthly_price_cents=item["monthlyPriceCents"],
        disconnected_at=item.get("disconnectedAt"),
        disconnected_reason=item.get("disconnectedReason"),
        periods_charged=int(item.get("periodsCharged", 1)),
    )


def _account_from_item(item: Item) -> AccountRecord:
    return AccountRecord(
        social_account_id=item["socialAccountId"],
        kind=item["kind"],
        handle=item.get("handle", ""),
        platform=item.get("platform", "tiktok"),
        followers=item.get("followers", 0),
        org_id=item.get("orgId"),
        project_id=item.get("projectId"),
        status=item.get("status"),
        pool_status=item.get("poolStatus"),
        lease_id=item.get("leaseId"),
        leased_org_id=item.get("leasedOrgId"),
        vertical=item.get("vertical"),
        language=item.get("language"),
        geo=tuple(item.get("geo") or ()),
        monthly_price_cents=item.get("monthlyPriceCents"),
    )


def _response_from_item(value: Any) -> StoredResponse | None:
    if not value:
        return None
    return StoredResponse(
        status_code=int(value["statusCode"]), body=value["body"], headers=dict(value.get("headers") or {})
    )


def _idempotency_from_item(item: Item) -> IdempotencyRecord:
    return IdempotencyRecord(
        body_hash=item["bodyHash"],
        status=item["status"],
        token=item["token"],
        locked_until=item["lockedUntil"],
        expires_at=item["expiresAt"],
        response=_response_from_item(item.get("response")),
    )


class LeasingRepository:
    """All reads and writes of the leasing table."""

    def __init__(self, table_name: str, client: DynamoDBClient | None = None) -> None:
        self.table_name = table_name
        self._client = client

    @property
    def client(self) -> DynamoDBClient:
        if self._client is None:
            self._client = dynamodb_client()
        return self._client

    # -- generic helpers -------------------------------------------------------------------

    def _get(self, pk_sk: tuple[str, str], *, consistent: bool = False) -> Item | None:
        response = self.client.get_item(TableName=self.table_name, Key=_key(pk_sk), ConsistentRead=consistent)
        item = response.get("Item")
        return from_attributes(item) if item else None

    def _transact(self, operations: list[dict[str, Any]]) -> None:
        self.client.transact_write_items(TransactItems=operations)  # type: ignore[arg-type]

    def _transact_checked(self, operations: list[dict[str, Any]]) -> list[str] | None:
        """Run a transaction: None once it committed, else why each item canceled it.

        A cancellation caused only by another transaction in flight on the same items
        (`TransactionConflict`, real DynamoDB under contention) is retried with jitter; any other
        error propagates.
        """
        for attempt in range(_CONFLICT_RETRIES + 1):
            try:
                self._transact(operations)
            except Exception as error:
                codes = cancellation_codes(error)
                if not codes:
                    raise
                if "TransactionConflict" in codes and set(codes) <= {"TransactionConflict", "None"}:
                    if attempt < _CONFLICT_RETRIES:
                        time.sleep(random.uniform(0.01, 0.05) * (attempt + 1))  # noqa: S311 - jitter only
                        continue
                    raise
                return codes
            return None
        raise AssertionError("unreachable")

    def _query_all(self, **kwargs: Any) -> list[Item]:
        """Every item of a query, following `LastEvaluatedKey`."""
        items: list[Item] = []
        while True:
            response = self.client.query(**kwargs)
            items.extend(from_attributes(item) for item in response.get("Items", []))
            start = response.get("LastEvaluatedKey")
            if not start:
                return items
            kwargs = {**kwargs, "ExclusiveStartKey": start}

    def _put(self, pk_sk: tuple[str, str], attributes: Item) -> None:
        pk, sk = pk_sk
        self.client.put_item(
            TableName=self.table_name, Item=to_attributes({"pk": pk, "sk": sk, **attributes})
        )

    def put_new(self, pk_sk: tuple[str, str], attributes: Item) -> bool:
        """Write an item only if nothing has its key; False (nothing written) if something has."""
        pk, sk = pk_sk
        try:
            self.client.put_item(
                TableName=self.table_name,
                Item=to_attributes({"pk": pk, "sk": sk, **attributes}),
                ConditionExpression="attribute_not_exists(#pk)",
                ExpressionAttributeNames={"#pk": "pk"},
            )
        except Exception as error:
            if error_code(error) == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def existing_keys(self, wanted: Iterable[tuple[str, str]]) -> set[tuple[str, str]]:
        """Which of these keys hold an item (BatchGetItem, consistent, keys only)."""
        unique = sorted(set(wanted))
        found: set[tuple[str, str]] = set()
        for start in range(0, len(unique), _BATCH_GET_LIMIT):
            chunk = unique[start : start + _BATCH_GET_LIMIT]
            pending: list[dict[str, Any]] = [_key(pk_sk) for pk_sk in chunk]
            while pending:
                response = self.client.batch_get_item(
                    RequestItems={
                        self.table_name: {
                            "Keys": pending,
                            "ConsistentRead": True,
                            "ProjectionExpression": "#pk, #sk",
                            "ExpressionAttributeNames": {"#pk": "pk", "#sk": "sk"},
                        }
                    }
                )
                for raw in response.get("Responses", {}).get(self.table_name, []):
                    item = from_attributes(raw)
                    found.add((str(item["pk"]), str(item["sk"])))
                unprocessed: dict[str, Any] = dict(response.get("UnprocessedKeys") or {})
                pending = list((unprocessed.get(self.table_name) or {}).get("Keys") or [])
        return found

    def _query_prefix(self, pk: str, prefix: str) -> list[Item]:
        return self._query_all(
            TableName=self.table_name,
            KeyConditionExpression="#pk = :pk AND begins_with(#sk, :prefix)",
            ExpressionAttributeNames={"#pk": "pk", "#sk": "sk"},
            ExpressionAttributeValues={":pk": {"S": pk}, ":prefix": {"S": prefix}},
            ConsistentRead=True,
        )

    def _outbox_put(self, message: OutboxMessage, now_epoch: int) -> dict[str, Any]:
        pk, sk = keys.outbox(message.event_id)
        return {
            "Put": {
                "TableName": self.table_name,
                "Item": to_attributes(
                    {
                        "pk": pk,
                        "sk": sk,
                        "entity": "outbox",
                        "eventId": message.event_id,
                        "eventType": message.event_type,
                        "detail": message.detail_json,
                        "expiresAt": now_epoch + OUTBOX_RETENTION_SECONDS,
                    }
                ),
                "ConditionExpression": "attribute_not_exists(#pk)",
                "ExpressionAttributeNames": {"#pk": "pk"},
            }
        }

    def _audit_put(self, entry: AuditEntry, entry_id: str) -> dict[str, Any]:
        pk, sk = keys.audit_entry(entry.social_account_id, entry.at, entry_id)
        return {
            "Put": {
                "TableName": self.table_name,
                "Item": to_attributes(
                    {
                        "pk": pk,
                        "sk": sk,
                        "entity": "audit",
                        "socialAccountId": entry.social_account_id,
                        "action": entry.action,
                        "at": entry.at,
                        "orgId": entry.org_id,
                        "actorKeyId": entry.actor_key_id,
                        "reason": entry.reason,
                    }
                ),
            }
        }

    # -- authentication --------------------------------------------------------------------

    def get_api_key(self, key_id: str) -> ApiKeyRecord | None:
        item = self._get(keys.api_key(key_id))
        if item is None:
            return None
        return ApiKeyRecord(
            key_id=item["keyId"],
            org_id=item["orgId"],
            secret_hash=item["secretHash"],
            env=item["env"],
            scopes=tuple(item.get("scopes") or ()),
            tier=item.get("tier", "standard"),
            status=str(item.get("status") or ""),  # a missing status is refused (fail closed)
        )

    def get_org(self, org_id: str) -> OrgRecord | None:
        item = self._get(keys.org(org_id))
        if item is None:
            return None
        return OrgRecord(
            org_id=item["orgId"], name=item.get("name", ""), status=str(item.get("status") or "")
        )

    # -- rate limiting ---------------------------------------------------------------------

    def increment_window(self, key_id: str, window: RateWindow) -> int | None:
        """Count one call in a window unless it is full; the new count, or None when full."""
        try:
            response = self.client.update_item(
                TableName=self.table_name,
                Key=_key(keys.rate_window(key_id, window.name)),
                UpdateExpression="ADD #count :one SET #expires = if_not_exists(#expires, :expires)",
                ConditionExpression="attribute_not_exists(#count) OR #count < :limit",
                ExpressionAttributeNames={"#count": "count", "#expires": "expiresAt"},
                ExpressionAttributeValues={
                    ":one": {"N": "1"},
                    ":limit": {"N": str(window.limit)},
                    ":expires": {"N": str(window.expires_at)},
                },
                ReturnValues="UPDATED_NEW",
            )
        except Exception as error:
            if error_code(error) == "ConditionalCheckFailedException":
                return None
            raise
        return int(response["Attributes"]["count"]["N"])

    def count_write(self, key_id: str, day: RateWindow, minute_start: int, minute_limit: int) -> WriteCount:
        """Count one write in its UTC day and its minute, both or neither, on the day's one item.

        Usually one UpdateItem (same minute as the item's); the first write of a minute moves the
        item to it (a second UpdateItem). A refused write changes nothing: one read then says how
        full the day and the minute are. A writer whose clock is behind the item's minute counts
        in the item's minute."""
        key = _key(keys.rate_window(key_id, day.name))
        same_minute_names = {"#day": "dayCount", "#minute": "minute", "#mcount": "minuteCount"}
        names = {**same_minute_names, "#expires": "expiresAt"}
        for _ in range(3):
            try:
                response = self.client.update_item(
                    TableName=self.table_name,
                    Key=key,
                    UpdateExpression="ADD #day :one, #mcount :one",
                    ConditionExpression="#minute = :minute AND #mcount < :minute_limit AND #day < :day_limit",
                    ExpressionAttributeNames={
                        "#day": "dayCount",
                        "#minute": "minute",
                        "#mcount": "minuteCount",
                    },
                    ExpressionAttributeValues={
                        ":one": {"N": "1"},
                        ":minute": {"N": str(minute_start)},
                        ":minute_limit": {"N": str(minute_limit)},
                        ":day_limit": {"N": str(day.limit)},
                    },
                    ReturnValues="UPDATED_NEW",
                )
                attributes = response["Attributes"]
                return WriteCount(True, int(attributes["minuteCount"]["N"]), int(attributes["dayCount"]["N"]))
            except Exception as error:
                if error_code(error) != "ConditionalCheckFailedException":
                    raise
            try:
                response = self.client.update_item(
                    TableName=self.table_name,
                    Key=key,
                    UpdateExpression=(
                        "SET #minute = :minute, #mcount = :one, #expires = if_not_exists(#expires, :expires) "
                        "ADD #day :one"
                    ),
                    ConditionExpression=(
                        "(attribute_not_exists(#minute) OR #minute < :minute) "
                        "AND (attribute_not_exists(#day) OR #day < :day_limit)"
                    ),
                    ExpressionAttributeNames=names,
                    ExpressionAttributeValues={
                        ":one": {"N": "1"},
                        ":minute": {"N": str(minute_start)},
                        ":day_limit": {"N": str(day.limit)},
                        ":expires": {"N": str(day.expires_at)},
                    },
                    ReturnValues="UPDATED_NEW",
                )
                return WriteCount(True, 1, int(response["Attributes"]["dayCount"]["N"]))
            except Exception as error:
                if error_code(error) != "ConditionalCheckFailedException":
                    raise
            item = self._get(keys.rate_window(key_id, day.name), consistent=True) or {}
            day_count = int(item.get("dayCount", 0))
            item_minute = int(item.get("minute", -1))
            minute_count = int(item.get("minuteCount", 0)) if item_minute == minute_start else 0
            if day_count >= day.limit or (item_minute == minute_start and minute_count >= minute_limit):
                return WriteCount(False, minute_count, day_count)
            if item_minute > minute_start:
                minute_start = item_minute  # another writer's clock is ahead: count in its minute
            # else the item changed between the two updates (a concurrent writer): try again
        raise RuntimeError(f"rate-limit counter {day.name} of {key_id} kept changing")

    # -- organizations, projects, wallets --------------------------------------------------

    def project_exists(self, org_id: str, project_id: str) -> bool:
        return self._get(keys.project(org_id, project_id)) is not None

    def get_wallet_balance(self, org_id: str) -> int | None:
        item = self._get(keys.wallet(org_id), consistent=True)
        return None if item is None else int(item["balanceCents"])

    def load_request_context(self, org_id: str, project_id: str, request_id: str | None) -> RequestContext:
        """Project, wallet and (when the partner chose one) the request id, in one round trip."""
        wanted = [keys.project(org_id, project_id), keys.wallet(org_id)]
        if request_id is not None:
            wanted.append(keys.lease_request(org_id, request_id))
        found: dict[tuple[str, str], Item] = {}
        pending: list[dict[str, Any]] = [_key(pk_sk) for pk_sk in wanted]
        while pending:
            response = self.client.batch_get_item(
                RequestItems={self.table_name: {"Keys": pending, "ConsistentRead": True}}
            )
            for raw in response.get("Responses", {}).get(self.table_name, []):
                item = from_attributes(raw)
                found[(item["pk"], item["sk"])] = item
            unprocessed: dict[str, Any] = dict(response.get("UnprocessedKeys") or {})
            pending = list((unprocessed.get(self.table_name) or {}).get("Keys") or [])
        wallet = found.get(keys.wallet(org_id))
        existing = found.get(keys.lease_request(org_id, request_id)) if request_id is not None else None
        return RequestContext(
            project_exists=keys.project(org_id, project_id) in found,
            wallet_balance_cents=int(wallet["balanceCents"]) if wallet else 0,
            existing_request=_lease_request_from_item(existing) if existing else None,
        )

    # -- idempotency -----------------------------------------------------------------------

    def claim_idempotency(
        self, claim: IdempotencyClaim, *, body_hash: str, now: int, lock_until: int, expires_at: int
    ) -> IdempotencyRecord | None:
        """Create the in-progress record; the live record already there, or None if claimed."""
        pk, sk = claim.item_key
        try:
            self.client.put_item(
                TableName=self.table_name,
                Item=to_attributes(
                    {
                        "pk": pk,
                        "sk": sk,
                        "entity": "idempotency",
                        "bodyHash": body_hash,
                        "status": "in_progress",
                        "token": claim.token,
                        "lockedUntil": lock_until,
                        "expiresAt": expires_at,
                    }
                ),
                ConditionExpression="attribute_not_exists(#pk) OR #expires <= :now",
                ExpressionAttributeNames={"#pk": "pk", "#expires": "expiresAt"},
                ExpressionAttributeValues={":now": {"N": str(now)}},
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except Exception as error:
            if error_code(error) != "ConditionalCheckFailedException":
                raise
            old = getattr(error, "response", {}).get("Item")
            item = from_attributes(old) if old else self._get(claim.item_key, consistent=True)
            if item is None:  # expired and removed between the two calls: claim again
                return self.claim_idempotency(
                    claim, body_hash=body_hash, now=now, lock_until=lock_until, expires_at=expires_at
                )
            return _idempotency_from_item(item)
        return None

    def take_over_idempotency(self, claim: IdempotencyClaim, *, stale_token: str, lock_until: int) -> bool:
        """Take an in-progress record whose owner's lock ran out (it crashed or timed out)."""
        try:
            self.client.update_item(
                TableName=self.table_name,
                Key=_key(claim.item_key),
                UpdateExpression="SET #token = :token, #locked = :locked",
                ConditionExpression="#token = :stale AND #status = :in_progress",
                ExpressionAttributeNames={"#token": "token", "#locked": "lockedUntil", "#status": "status"},
                ExpressionAttributeValues={
                    ":token": {"S": claim.token},
                    ":locked": {"N": str(lock_until)},
                    ":stale": {"S": stale_token},
                    ":in_progress": {"S": "in_progress"},
                },
            )
        except Exception as error:
            if error_code(error) == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def _complete_idempotency_update(
        self, claim: IdempotencyClaim, response: StoredResponse
    ) -> dict[str, Any]:
        return {
            "TableName": self.table_name,
            "Key": _key(claim.item_key),
            "UpdateExpression": "SET #status = :completed, #response = :response",
            "ConditionExpression": "#token = :token",
            "ExpressionAttributeNames": {"#status": "status", "#response": "response", "#token": "token"},
            "ExpressionAttributeValues": {
                ":completed": {"S": "completed"},
                ":token": {"S": claim.token},
                ":response": to_attribute(
                    {
                        "statusCode": response.status_code,
                        "body": response.body,
                        "headers": dict(response.headers),
                    }
                ),
            },
        }

    def complete_idempotency(self, claim: IdempotencyClaim, response: StoredResponse) -> bool:
        try:
            self.client.update_item(**self._complete_idempotency_update(claim, response))
        except Exception as error:
            if error_code(error) == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def forget_idempotency(self, claim: IdempotencyClaim) -> None:
        """Drop our in-progress record: only 2xx outcomes are remembered."""
        try:
            self.client.delete_item(
                TableName=self.table_name,
                Key=_key(claim.item_key),
                ConditionExpression="#token = :token AND #status = :in_progress",
                ExpressionAttributeNames={"#token": "token", "#status": "status"},
                ExpressionAttributeValues={
                    ":token": {"S": claim.token},
                    ":in_progress": {"S": "in_progress"},
                },
            )
        except Exception as error:
            if error_code(error) != "ConditionalCheckFailedException":
                raise

    # -- lease requests --------------------------------------------------------------------

    def lease_request_item(self, request: LeaseRequestRecord) -> Item:
        pk, sk = keys.lease_request(request.org_id, request.request_id)
        return {
            "pk": pk,
            "sk": sk,
            "entity": "leaseRequest",
            "orgId": request.org_id,
            "requestId": request.request_id,
            "projectId": request.project_id,
            "count": request.count,
            "niche": request.niche,
            "status": request.status,
            "submittedAt": request.submitted_at,
            "bodyHash": request.body_hash,
            "assignedAt": request.assigned_at,
            "assignedSocialAccountIds": list(request.assigned_social_account_ids),
            "note": request.note,
            "target": request.target,
            "partnerNote": request.partner_note,
        }

    def put_lease_request(self, request: LeaseRequestRecord) -> None:
        """Write a lease request as it is (seeding and ops; the API goes through `accept_lease_request`)."""
        self.client.put_item(TableName=self.table_name, Item=to_attributes(self.lease_request_item(request)))

    def accept_lease_request(
        self,
        request: LeaseRequestRecord,
        event: OutboxMessage,
        response: StoredResponse,
        claim: IdempotencyClaim | None,
        *,
        now_epoch: int,
    ) -> AcceptOutcome:
        """Request + outbox item (+ idempotency completion) in one transaction."""
        item = self.lease_request_item(request)
        operations: list[dict[str, Any]] = [
            {
                "Put": {
                    "TableName": self.table_name,
                    "Item": to_attributes(item),
                    "ConditionExpression": "attribute_not_exists(#pk)",
                    "ExpressionAttributeNames": {"#pk": "pk"},
                }
            },
            self._outbox_put(event, now_epoch),
        ]
        if claim is not None:
            operations.append({"Update": self._complete_idempotency_update(claim, response)})
        failed = self._transact_checked(operations)
        if failed is not None:
            if failed[0] == CONDITION_FAILED:
                return "request_id_taken"
            if len(failed) > 2 and failed[2] == CONDITION_FAILED:
                return "claim_lost"
            raise TransactionRefused(failed)
        return "accepted"

    def get_lease_request(
        self, org_id: str, request_id: str, *, consistent: bool = False
    ) -> LeaseRequestRecord | None:
        item = self._get(keys.lease_request(org_id, request_id), consistent=consistent)
        return _lease_request_from_item(item) if item else None

    # -- leases ----------------------------------------------------------------------------

    def list_leases(
        self, org_id: str, project_id: str | None, status: str, limit: int, after: str | None
    ) -> LeasePage:
        """Newest `assignedAt` first; `after` is the order key of the last lease already seen."""
        if project_id is None:
            index, pk_name, sk_name, pk = "gsi1", "gsi1pk", "gsi1sk", keys.org_leases(org_id, status)
        else:
            index, pk_name, sk_name = "gsi2", "gsi2pk", "gsi2sk"
            pk = keys.project_leases(org_id, project_id, status)
        condition = "#pk = :pk"
        names = {"#pk": pk_name}
        values: dict[str, Any] = {":pk": {"S": pk}}
        if after is not None:
            condition += " AND #sk < :after"
            names["#sk"] = sk_name
            values[":after"] = {"S": after}
        response = self.client.query(
            TableName=self.table_name,
            IndexName=index,
            KeyConditionExpression=condition,
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values,
            ScanIndexForward=False,
            Limit=limit + 1,
        )
        items = [from_attributes(item) for item in response.get("Items", [])]
        leases = [_lease_from_item(item) for item in items[:limit]]
        more = len(items) > limit or ("LastEvaluatedKey" in response and len(items) == limit)
        last = keys.lease_order(leases[-1].assigned_at, leases[-1].lease_id) if leases and more else None
        return LeasePage(leases=leases, last_order_key=last)

    def get_lease(self, org_id: str, lease_id: str) -> LeaseRecord | None:
        item = self._get(keys.lease(org_id, lease_id), consistent=True)
        return _lease_from_item(item) if item else None

    def put_lease(self, lease: LeaseRecord) -> None:
        """Write a lease and point its pool account at it (seeding and assignment share this shape)."""
        self._transact(
            [
                {"Put": {"TableName": self.table_name, "Item": to_attributes(self.lease_item(lease))}},
                {
                    "Update": {
                        "TableName": self.table_name,
                        "Key": _key(keys.account(lease.social_account_id)),
                        "UpdateExpression": "SET #pool = :pool, #lease = :lease, #org = :org"
                        + (" REMOVE #gsi1pk, #gsi1sk" if lease.status == "assigned" else ""),
                        "ConditionExpression": "attribute_exists(#pk) AND #kind = :kind",
                        "ExpressionAttributeNames": {
                            "#pool": "poolStatus",
                            "#lease": "leaseId",
                            "#org": "leasedOrgId",
                            "#pk": "pk",
                            "#kind": "kind",
                            **(
                                {"#gsi1pk": "gsi1pk", "#gsi1sk": "gsi1sk"}
                                if lease.status == "assigned"
                                else {}
                            ),
                        },
                        "ExpressionAttributeValues": {
                            ":pool": {"S": "leased" if lease.status == "assigned" else "available"},
                            ":lease": to_attribute(lease.lease_id if lease.status == "assigned" else None),
                            ":org": to_attribute(lease.org_id if lease.status == "assigned" else None),
                            ":kind": {"S": "pool"},
                        },
                    }
                },
            ]
        )

    def lease_item(self, lease: LeaseRecord) -> Item:
        pk, sk = keys.lease(lease.org_id, lease.lease_id)
        order = keys.lease_order(lease.assigned_at, lease.lease_id)
        return {
            "pk": pk,
            "sk": sk,
            "entity": "lease",
            "gsi1pk": keys.org_leases(lease.org_id, lease.status),
            "gsi1sk": order,
            "gsi2pk": keys.project_leases(lease.org_id, lease.project_id, lease.status),
            "gsi2sk": order,
            "orgId": lease.org_id,
            "leaseId": lease.lease_id,
            "socialAccountId": lease.social_account_id,
            "projectId": lease.project_id,
            "requestId": lease.request_id,
            "handle": lease.handle,
            "platform": lease.platform,
            "followers": lease.followers,
            "status": lease.status,
            "assignedAt": lease.assigned_at,
            "nextRenewalAt": lease.next_renewal_at,
            "monthlyPriceCents": lease.monthly_price_cents,
            "disconnectedAt": lease.disconnected_at,
            "disconnectedReason": lease.disconnected_reason,
            "periodsCharged": lease.periods_charged,
            **(
                {
                    "gsi3pk": keys.renewal_shard(lease.lease_id),
                    "gsi3sk": keys.renewal_order(lease.next_renewal_at, lease.lease_id),
                }
                if lease.status == "assigned" and lease.next_renewal_at
                else {}
            ),
        }

    def release_lease(
        self,
        lease: LeaseRecord,
        *,
        disconnected_at: str,
        disconnected_reason: str,
        audit: AuditEntry,
        audit_id: str,
        event: OutboxMessage,
        now_epoch: int,
        expected_periods: int | None = None,
    ) -> bool:
        """End an assigned lease: lease change + audit entry + outbox item in one transaction.

        False when the lease is no longer assigned (a concurrent release won), or, with
        `expected_periods`, when a renewal charged it meanwhile.
        """
        order = keys.lease_order(lease.assigned_at, lease.lease_id)
        update = {
            "Update": {
                "TableName": self.table_name,
                "Key": _key(keys.lease(lease.org_id, lease.lease_id)),
                "UpdateExpression": (
                    "SET #status = :disconnected, #at = :at, #reason = :reason, #renewal = :null, "
                    "#gsi1pk = :gsi1pk, #gsi1sk = :order, #gsi2pk = :gsi2pk, #gsi2sk = :order "
                    "REMOVE #gsi3pk, #gsi3sk"
                ),
                "ConditionExpression": "#status = :assigned"
                + (" AND #periods = :periods" if expected_periods is not None else ""),
                "ExpressionAttributeNames": {
                    "#status": "status",
                    "#at": "disconnectedAt",
                    "#reason": "disconnectedReason",
                    "#renewal": "nextRenewalAt",
                    "#gsi1pk": "gsi1pk",
                    "#gsi1sk": "gsi1sk",
                    "#gsi2pk": "gsi2pk",
                    "#gsi2sk": "gsi2sk",
                    "#gsi3pk": "gsi3pk",
                    "#gsi3sk": "gsi3sk",
                    **({"#periods": "periodsCharged"} if expected_periods is not None else {}),
                },
                "ExpressionAttributeValues": {
                    **({":periods": {"N": str(expected_periods)}} if expected_periods is not None else {}),
                    ":disconnected": {"S": "disconnected"},
                    ":assigned": {"S": "assigned"},
                    ":at": {"S": disconnected_at},
                    ":reason": {"S": disconnected_reason},
                    ":null": {"NULL": True},
                    ":gsi1pk": {"S": keys.org_leases(lease.org_id, "disconnected")},
                    ":gsi2pk": {"S": keys.project_leases(lease.org_id, lease.project_id, "disconnected")},
                    ":order": {"S": order},
                },
            }
        }
        failed = self._transact_checked(
            [update, self._audit_put(audit, audit_id), self._outbox_put(event, now_epoch)]
        )
        if failed is not None:
            if failed[0] == CONDITION_FAILED:
                return False
            raise TransactionRefused(failed)
        return True

    # -- assignment ------------------------------------------------------------------------

    def list_available_pool(self, vertical_key: str) -> list[AccountRecord]:
        """Available pool accounts of one vertical (the index holds only available ones)."""
        items = self._query_all(
            TableName=self.table_name,
            IndexName="gsi1",
            KeyConditionExpression="#pk = :pk",
            ExpressionAttributeNames={"#pk": "gsi1pk"},
            ExpressionAttributeValues={":pk": {"S": keys.pool_vertical(vertical_key)}},
        )
        return [_account_from_item(item) for item in items]

    def _ledger_put(self, entry: LedgerEntry) -> dict[str, Any]:
        pk, sk = keys.ledger_entry(entry.org_id, entry.entry_id)
        return {
            "Put": {
                "TableName": self.table_name,
                "Item": to_attributes(
                    {
                        "pk": pk,
                        "sk": sk,
                        "entity": "ledger",
                        "orgId": entry.org_id,
                        "entryId": entry.entry_id,
                        "type": entry.type,
                        "amountCents": entry.amount_cents,
                        "at": entry.at,
                        "socialAccountId": entry.social_account_id,
                        "leaseId": entry.lease_id,
                        "requestId": entry.request_id,
                        "period": entry.period,
                        "reason": entry.reason,
                    }
                ),
                "ConditionExpression": "attribute_not_exists(#pk)",
                "ExpressionAttributeNames": {"#pk": "pk"},
            }
        }

    def _wallet_debit(self, org_id: str, cents: int) -> dict[str, Any]:
        return {
            "Update": {
                "TableName": self.table_name,
                "Key": _key(keys.wallet(org_id)),
                "UpdateExpression": "SET #balance = #balance - :price",
                "ConditionExpression": "attribute_exists(#balance) AND #balance >= :price",
                "ExpressionAttributeNames": {"#balance": "balanceCents"},
                "ExpressionAttributeValues": {":price": {"N": str(cents)}},
            }
        }

    def claim_account(
        self,
        *,
        request: LeaseRequestRecord,
        slot: int,
        lease: LeaseRecord,
        ledger: LedgerEntry,
        event: OutboxMessage,
        now_epoch: int,
    ) -> ClaimOutcome:
        """Claim + charge + lease + request progress + ledger + outbox, all or nothing.

        `slot` is how many accounts the request already has: the request condition makes a
        duplicate delivery of the same request unable to fill one slot twice.
        """
        account_update = {
            "Update": {
                "TableName": self.table_name,
                "Key": _key(keys.account(lease.social_account_id)),
                "UpdateExpression": (
                    "SET #pool = :leased, #lease = :lease, #org = :org REMOVE #gsi1pk, #gsi1sk"
                ),
                "ConditionExpression": "#pool = :available AND #kind = :kind",
                "ExpressionAttributeNames": {
                    "#pool": "poolStatus",
                    "#lease": "leaseId",
                    "#org": "leasedOrgId",
                    "#kind": "kind",
                    "#gsi1pk": "gsi1pk",
                    "#gsi1sk": "gsi1sk",
                },
                "ExpressionAttributeValues": {
                    ":leased": {"S": "leased"},
                    ":available": {"S": "available"},
                    ":lease": {"S": lease.lease_id},
                    ":org": {"S": lease.org_id},
                    ":kind": {"S": "pool"},
                },
            }
        }
        lease_put = {
            "Put": {
                "TableName": self.table_name,
                "Item": to_attributes(self.lease_item(lease)),
                "ConditionExpression": "attribute_not_exists(#pk)",
                "ExpressionAttributeNames": {"#pk": "pk"},
            }
        }
        request_update = {
            "Update": {
                "TableName": self.table_name,
                "Key": _key(keys.lease_request(request.org_id, request.request_id)),
                "UpdateExpression": "SET #ids = list_append(#ids, :one)",
                "ConditionExpression": "#status = :requested AND size(#ids) = :slot",
                "ExpressionAttributeNames": {"#ids": "assignedSocialAccountIds", "#status": "status"},
                "ExpressionAttributeValues": {
                    ":one": {"L": [{"S": lease.social_account_id}]},
                    ":requested": {"S": "requested"},
                    ":slot": {"N": str(slot)},
                },
            }
        }
        failed = self._transact_checked(
            [
                account_update,
                self._wallet_debit(lease.org_id, lease.monthly_price_cents),
                lease_put,
                request_update,
                self._ledger_put(ledger),
                self._outbox_put(event, now_epoch),
            ]
        )
        if failed is not None:
            if failed[2] == CONDITION_FAILED or failed[3] == CONDITION_FAILED:
                return "request_moved"
            if failed[0] == CONDITION_FAILED:
                return "account_taken"
            if failed[1] == CONDITION_FAILED:
                return "wallet_short"
            raise TransactionRefused(failed)
        return "claimed"

    def complete_lease_request(
        self,
        request: LeaseRequestRecord,
        *,
        status: str,
        assigned_at: str | None,
        note: str | None,
        assigned_count: int,
        event: OutboxMessage,
        now_epoch: int,
    ) -> bool:
        """Set the outcome (and announce it) unless another delivery already did."""
        update = {
            "Update": {
                "TableName": self.table_name,
                "Key": _key(keys.lease_request(request.org_id, request.request_id)),
                "UpdateExpression": "SET #status = :status, #assigned_at = :assigned_at, #note = :note",
                "ConditionExpression": "#status = :requested AND size(#ids) = :count",
                "ExpressionAttributeNames": {
                    "#status": "status",
                    "#assigned_at": "assignedAt",
                    "#note": "note",
                    "#ids": "assignedSocialAccountIds",
                },
                "ExpressionAttributeValues": {
                    ":status": {"S": status},
                    ":assigned_at": to_attribute(assigned_at),
                    ":note": to_attribute(note),
                    ":requested": {"S": "requested"},
                    ":count": {"N": str(assigned_count)},
                },
            }
        }
        failed = self._transact_checked([update, self._outbox_put(event, now_epoch)])
        if failed is not None:
            if failed[0] == CONDITION_FAILED:
                return False
            raise TransactionRefused(failed)
        return True

    # -- renewals --------------------------------------------------------------------------

    def leases_due(self, now_text: str) -> list[LeaseRecord]:
        """Assigned leases whose `nextRenewalAt` is at or before `now_text`, oldest due first."""
        due: list[LeaseRecord] = []
        for shard in range(keys.RENEWAL_SHARDS):
            items = self._query_all(
                TableName=self.table_name,
                IndexName="gsi3",
                KeyConditionExpression="#pk = :pk AND #sk <= :bound",
                ExpressionAttributeNames={"#pk": "gsi3pk", "#sk": "gsi3sk"},
                ExpressionAttributeValues={
                    ":pk": {"S": f"RENEWALS#{shard}"},
                    ":bound": {"S": f"{now_text}#~"},  # `~` sorts after every id character
                },
            )
            due.extend(_lease_from_item(item) for item in items)
        return sorted(due, key=lambda lease: (lease.next_renewal_at or "", lease.lease_id))

    def renew_lease_period(
        self,
        lease: LeaseRecord,
        *,
        next_renewal_at: str,
        ledger: LedgerEntry,
        event: OutboxMessage,
        now_epoch: int,
    ) -> RenewOutcome:
        """Charge period `lease.periods_charged` exactly once: lease + wallet + ledger + outbox."""
        lease_update = {
            "Update": {
                "TableName": self.table_name,
                "Key": _key(keys.lease(lease.org_id, lease.lease_id)),
                "UpdateExpression": "SET #periods = :next, #renewal = :renewal, #gsi3sk = :order",
                "ConditionExpression": "#status = :assigned AND #periods = :period",
                "ExpressionAttributeNames": {
                    "#periods": "periodsCharged",
                    "#renewal": "nextRenewalAt",
                    "#gsi3sk": "gsi3sk",
                    "#status": "status",
                },
                "ExpressionAttributeValues": {
                    ":next": {"N": str(lease.periods_charged + 1)},
                    ":period": {"N": str(lease.periods_charged)},
                    ":renewal": {"S": next_renewal_at},
                    ":order": {"S": keys.renewal_order(next_renewal_at, lease.lease_id)},
                    ":assigned": {"S": "assigned"},
                },
            }
        }
        failed = self._transact_checked(
            [
                lease_update,
                self._wallet_debit(lease.org_id, lease.monthly_price_cents),
                self._ledger_put(ledger),
                self._outbox_put(event, now_epoch),
            ]
        )
        if failed is not None:
            if failed[0] == CONDITION_FAILED:
                return "lease_moved"
            if failed[1] == CONDITION_FAILED:
                return "wallet_short"
            raise TransactionRefused(failed)
        return "renewed"

    # -- consumers of the release fan-out ---------------------------------------------------

    def _consumed_put(self, consumer: str, event_id: str, now_epoch: int) -> dict[str, Any]:
        pk, sk = keys.consumed(consumer, event_id)
        return {
            "Put": {
                "TableName": self.table_name,
                "Item": to_attributes(
                    {
                        "pk": pk,
                        "sk": sk,
                        "entity": "consumed",
                        "consumer": consumer,
                        "eventId": event_id,
                        "expiresAt": now_epoch + CONSUMED_RETENTION_SECONDS,
                    }
                ),
                "ConditionExpression": "attribute_not_exists(#pk)",
                "ExpressionAttributeNames": {"#pk": "pk"},
            }
        }

    def was_consumed(self, consumer: str, event_id: str) -> bool:
        return self._get(keys.consumed(consumer, event_id), consistent=True) is not None

    def mark_consumed(self, consumer: str, event_id: str, now_epoch: int) -> bool:
        """Record that `consumer` handled `event_id`; False if it already had."""
        failed = self._transact_checked([self._consumed_put(consumer, event_id, now_epoch)])
        if failed is not None:
            if failed[0] == CONDITION_FAILED:
                return False
            raise TransactionRefused(failed)
        return True

    def return_to_pool(
        self, account: AccountRecord, *, lease_id: str, consumer: str, event_id: str, now_epoch: int
    ) -> Literal["returned", "duplicate", "not_leased"]:
        """Make the pool account available again if it still belongs to `lease_id`, exactly once."""
        vertical_key = (account.vertical or "").strip().lower()
        account_update = {
            "Update": {
                "TableName": self.table_name,
                "Key": _key(keys.account(account.social_account_id)),
                "UpdateExpression": "SET #pool = :available, #gsi1pk = :gsi1pk, #gsi1sk = :gsi1sk "
                "REMOVE #lease, #org",
                "ConditionExpression": "#lease = :lease",
                "ExpressionAttributeNames": {
                    "#pool": "poolStatus",
                    "#gsi1pk": "gsi1pk",
                    "#gsi1sk": "gsi1sk",
                    "#lease": "leaseId",
                    "#org": "leasedOrgId",
                },
                "ExpressionAttributeValues": {
                    ":available": {"S": "available"},
                    ":gsi1pk": {"S": keys.pool_vertical(vertical_key)},
                    ":gsi1sk": {"S": account.social_account_id},
                    ":lease": {"S": lease_id},
                },
            }
        }
        failed = self._transact_checked([self._consumed_put(consumer, event_id, now_epoch), account_update])
        if failed is not None:
            if failed[0] == CONDITION_FAILED:
                return "duplicate"
            if failed[1] == CONDITION_FAILED:
                return "duplicate" if not self.mark_consumed(consumer, event_id, now_epoch) else "not_leased"
            raise TransactionRefused(failed)
        return "returned"

    def record_lease_end(
        self, entry: LedgerEntry, *, consumer: str, event_id: str, now_epoch: int
    ) -> Literal["recorded", "duplicate", "already_recorded", "no_such_lease"]:
        """Append a lease's `lease_ended` ledger entry once per lease, for an ended lease only.

        One transaction: the event's consumed marker, the lease's end marker (so another event
        about the same lease records nothing), a check that the lease exists in the entry's
        organization for that account (an event about no such lease records nothing), and the
        ledger entry."""
        assert entry.lease_id is not None
        marker_pk, marker_sk = keys.lease_end(entry.org_id, entry.lease_id)
        lease_check = {
            "ConditionCheck": {
                "TableName": self.table_name,
                "Key": _key(keys.lease(entry.org_id, entry.lease_id)),
                "ConditionExpression": "attribute_exists(#pk) AND #account = :account",
                "ExpressionAttributeNames": {"#pk": "pk", "#account": "socialAccountId"},
                "ExpressionAttributeValues": {":account": {"S": entry.social_account_id or ""}},
            }
        }
        marker = {
            "Put": {
                "TableName": self.table_name,
                "Item": to_attributes(
                    {
                        "pk": marker_pk,
                        "sk": marker_sk,
                        "entity": "leaseEnd",
                        "orgId": entry.org_id,
                        "leaseId": entry.lease_id,
                        "entryId": entry.entry_id,
                    }
                ),
                "ConditionExpression": "attribute_not_exists(#pk)",
                "ExpressionAttributeNames": {"#pk": "pk"},
            }
        }
        failed = self._transact_checked(
            [self._consumed_put(consumer, event_id, now_epoch), marker, lease_check, self._ledger_put(entry)]
        )
        if failed is None:
            return "recorded"
        if failed[0] == CONDITION_FAILED:
            return "duplicate"
        if CONDITION_FAILED not in failed[1:3]:
            raise TransactionRefused(failed)
        if not self.mark_consumed(consumer, event_id, now_epoch):
            return "duplicate"
        return "already_recorded" if failed[1] == CONDITION_FAILED else "no_such_lease"

    def list_ledger(self, org_id: str) -> list[LedgerEntry]:
        """Every ledger entry of an organization, oldest first.

        New entries sort by time under `LEDGER#` (`led_<ULID of their at>`); entries written with
        older ids (a bare ULID for operator credits) do not, so the order is made here: by `at`,
        then by the ULID's own time and randomness."""
        pk, _ = keys.org(org_id)
        entries = [
            LedgerEntry(
                org_id=item["orgId"],
                entry_id=item["entryId"],
                type=item["type"],
                amount_cents=int(item["amountCents"]),
                at=item["at"],
                social_account_id=item.get("socialAccountId"),
                lease_id=item.get("leaseId"),
                request_id=item.get("requestId"),
                period=item.get("period"),
                reason=item.get("reason"),
            )
            for item in self._query_prefix(pk, keys.LEDGER_PREFIX)
        ]
        return sorted(entries, key=lambda entry: (entry.at, entry.entry_id.removeprefix(LEDGER_ID_PREFIX)))

    # -- social accounts, scheduled posts, audit -------------------------------------------

    def get_account(self, social_account_id: str) -> AccountRecord | None:
        item = self._get(keys.account(social_account_id), consistent=True)
        return _account_from_item(item) if item else None

    def put_account(self, account: AccountRecord) -> None:
        self._put(keys.account(account.social_account_id), account_item(account))

    def list_scheduled_posts(self, social_account_id: str) -> list[ScheduledPostRecord]:
        pk, _ = keys.account(social_account_id)
        return [
            ScheduledPostRecord(
                scheduled_post_id=item["scheduledPostId"],
                social_account_id=item["socialAccountId"],
                status=item["status"],
                scheduled_for=item.get("scheduledFor"),
                lease_id=item.get("leaseId"),
            )
            for item in self._query_prefix(pk, keys.POST_PREFIX)
        ]

    def put_scheduled_post(self, post: ScheduledPostRecord) -> None:
        pk_sk = keys.scheduled_post(post.social_account_id, post.scheduled_post_id)
        self._put(pk_sk, scheduled_post_item(post))

    def _cancel_post_update(
        self, social_account_id: str, post_id: str, at: str, lease_id: str | None
    ) -> dict[str, Any]:
        """Cancel a queued post of `lease_id` (None: a post that belongs to no lease)."""
        names = {"#status": "status", "#at": "canceledAt", "#lease": "leaseId"}
        values: dict[str, Any] = {
            ":canceled": {"S": "canceled"},
            ":queued": {"S": "queued"},
            ":at": {"S": at},
        }
        if lease_id is None:
            owner = "(attribute_not_exists(#lease) OR attribute_type(#lease, :null_type))"
            values[":null_type"] = {"S": "NULL"}
        else:
            owner = "#lease = :lease"
            values[":lease"] = {"S": lease_id}
        return {
            "TableName": self.table_name,
            "Key": _key(keys.scheduled_post(social_account_id, post_id)),
            "UpdateExpression": "SET #status = :canceled, #at = :at",
            "ConditionExpression": f"#status = :queued AND {owner}",
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
        }

    def cancel_scheduled_post(
        self, social_account_id: str, post_id: str, at: str, *, lease_id: str | None = None
    ) -> bool:
        """Cancel one post if it is still queued and still `lease_id`'s; False if not."""
        try:
            self.client.update_item(**self._cancel_post_update(social_account_id, post_id, at, lease_id))
        except Exception as error:
            if error_code(error) == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def revoke_connected_account(
        self,
        account: AccountRecord,
        *,
        disconnected_at: str,
        post_ids: list[str],
        audit: AuditEntry,
        audit_id: str,
        event: OutboxMessage,
        now_epoch: int,
    ) -> Literal["revoked", "gone", "posts_changed"]:
        """Disconnect a connected account and cancel its queued posts, all in one transaction.

        `gone` when it is no longer connected (a concurrent revoke won); `posts_changed` when a
        listed post stopped being queued meanwhile (the caller reads the posts again and retries).
        """
        account_update = {
            "Update": {
                "TableName": self.table_name,
                "Key": _key(keys.account(account.social_account_id)),
                "UpdateExpression": "SET #status = :disconnected, #at = :at, #reason = :reason",
                "ConditionExpression": "#status = :connected AND #org = :org",
                "ExpressionAttributeNames": {
                    "#status": "status",
                    "#at": "disconnectedAt",
                    "#reason": "disconnectedReason",
                    "#org": "orgId",
                },
                "ExpressionAttributeValues": {
                    ":disconnected": {"S": "disconnected"},
                    ":connected": {"S": "connected"},
                    ":at": {"S": disconnected_at},
                    ":reason": {"S": "revoked_by_partner"},
                    ":org": {"S": account.org_id or ""},
                },
            }
        }
        posts = [
            {"Update": self._cancel_post_update(account.social_account_id, post_id, disconnected_at, None)}
            for post_id in post_ids
        ]
        failed = self._transact_checked(
            [
                account_update,
                self._audit_put(audit, audit_id),
                self._outbox_put(event, now_epoch),
                *posts,
            ]
        )
        if failed is not None:
            if failed[0] == CONDITION_FAILED:
                return "gone"
            if CONDITION_FAILED in failed[3:]:
                return "posts_changed"
            raise TransactionRefused(failed)
        return "revoked"

    def list_audit(self, social_account_id: str) -> list[AuditEntry]:
        pk, _ = keys.account(social_account_id)
        return [
            AuditEntry(
                social_account_id=item["socialAccountId"],
                action=item["action"],
                at=item["at"],
                org_id=item.get("orgId"),
                actor_key_id=item.get("actorKeyId"),
                reason=item.get("reason"),
            )
            for item in self._query_prefix(pk, keys.AUDIT_PREFIX)
        ]

    # -- provisioning (seed and ops) -------------------------------------------------------

    def put_org(self, org: OrgRecord) -> None:
        self._put(keys.org(org.org_id), org_item(org))

    def put_wallet(self, org_id: str, balance_cents: int) -> None:
        self._put(keys.wallet(org_id), wallet_item(org_id, balance_cents))

    def put_project(self, org_id: str, project_id: str, name: str) -> None:
        self._put(keys.project(org_id, project_id), project_item(org_id, project_id, name))

    def put_api_key(self, record: ApiKeyRecord) -> None:
        self._put(keys.api_key(record.key_id), api_key_item(record))
