"""DynamoDB access of `leasing admin`: provisioning writes and ops listings on the leasing table.

Every key comes from `layers_common.repository.keys`; every expression names attributes through
`#name` placeholders. Writes that must not overwrite anything are conditional (`attribute_not_exists`)
and, when they depend on the organization, run in one transaction with a `ConditionCheck` on it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Literal

from layers_common.repository import keys
from layers_common.repository.dynamodb import (
    Item,
    cancellation_codes,
    error_code,
    from_attributes,
    to_attributes,
)
from layers_common.repository.leasing_repository import (  # the service's own item shapes
    LeasingRepository,
    _account_from_item,
    _key,
    api_key_item,
    org_item,
    project_item,
    wallet_item,
)
from layers_common.repository.records import AccountRecord, ApiKeyRecord, LedgerEntry, OrgRecord

CreateOutcome = Literal["created", "exists", "no_org"]
StatusChange = Literal["changed", "unchanged", "missing", "refused"]
BATCH_GET_LIMIT = 100


class AdminRepository(LeasingRepository):
    """The service repository plus what only operators do: create, credit, revoke, list."""

    # -- transaction parts -----------------------------------------------------------------

    def _org_exists(self, org_id: str) -> dict[str, Any]:
        return {
            "ConditionCheck": {
                "TableName": self.table_name,
                "Key": _key(keys.org(org_id)),
                "ConditionExpression": "attribute_exists(#pk)",
                "ExpressionAttributeNames": {"#pk": "pk"},
            }
        }

    def _put_new(self, pk_sk: tuple[str, str], attributes: Item) -> dict[str, Any]:
        pk, sk = pk_sk
        return {
            "Put": {
                "TableName": self.table_name,
                "Item": to_attributes({"pk": pk, "sk": sk, **attributes}),
                "ConditionExpression": "attribute_not_exists(#pk)",
                "ExpressionAttributeNames": {"#pk": "pk"},
            }
        }

    def _transact_outcome(self, operations: list[dict[str, Any]], *, org_check: bool) -> CreateOutcome:
        """Run a creating transaction; which condition failed tells why nothing was written."""
        try:
            self._transact(operations)
        except Exception as error:
            codes = cancellation_codes(error)
            if "ConditionalCheckFailed" not in codes:
                raise
            if org_check and codes[0] == "ConditionalCheckFailed":
                return "no_org"
            return "exists"
        return "created"

    # -- organizations, projects, keys -----------------------------------------------------

    def org_exists(self, org_id: str) -> bool:
        return self._get(keys.org(org_id), consistent=True) is not None

    def create_org(self, org: OrgRecord, *, created_at: str, opening_credit: LedgerEntry | None) -> bool:
        """Organization + wallet (+ the opening balance's ledger credit); False if the id is taken."""
        balance = opening_credit.amount_cents if opening_credit else 0
        operations = [
            self._put_new(keys.org(org.org_id), {**org_item(org), "createdAt": created_at}),
            self._put_new(keys.wallet(org.org_id), wallet_item(org.org_id, balance)),
        ]
        if opening_credit is not None:
            operations.append(self._ledger_put(opening_credit))
        return self._transact_outcome(operations, org_check=False) == "created"

    def create_project(self, org_id: str, project_id: str, name: str, *, created_at: str) -> CreateOutcome:
        return self._transact_outcome(
            [
                self._org_exists(org_id),
                self._put_new(
                    keys.project(org_id, project_id),
                    {**project_item(org_id, project_id, name), "createdAt": created_at},
                ),
            ],
            org_check=True,
        )

    def create_api_key(self, record: ApiKeyRecord, *, created_at: str) -> CreateOutcome:
        """Store a new key (its secret's hash only) for an existing organization."""
        return self._transact_outcome(
            [
                self._org_exists(record.org_id),
                self._put_new(keys.api_key(record.key_id), {**api_key_item(record), "createdAt": created_at}),
            ],
            org_check=True,
        )

    def _set_status(
        self, pk_sk: tuple[str, str], *, to: str, allowed_from: Sequence[str] | None, at_name: str, at: str
    ) -> tuple[StatusChange, str | None]:
        """Set `status` to `to` if it is one of `allowed_from` (None: any other status, or none):
        (outcome, the status before).

        One conditional UpdateItem (never creates an item); when the condition fails, one read
        says why: no such item, already `to`, or a status this change may not leave."""
        values: dict[str, Any] = {":to": {"S": to}, ":at": {"S": at}}
        if allowed_from is None:
            condition = "attribute_exists(#pk) AND (attribute_not_exists(#status) OR #status <> :to)"
        else:
            placeholders = []
            for index, status in enumerate(allowed_from):
                values[f":from{index}"] = {"S": status}
                placeholders.append(f":from{index}")
            condition = f"attribute_exists(#pk) AND #status IN ({', '.join(placeholders)})"
        try:
            response = self.client.update_item(
                TableName=self.table_name,
                Key=_key(pk_sk),
                UpdateExpression="SET #status = :to, #at = :at",
                ConditionExpression=condition,
                ExpressionAttributeNames={"#status": "status", "#at": at_name, "#pk": "pk"},
                ExpressionAttributeValues=values,
                ReturnValues="UPDATED_OLD",
            )
        except Exception as error:
            if error_code(error) != "ConditionalCheckFailedException":
                raise
            item = self._get(pk_sk, consistent=True)
            if item is None:
                return "missing", None
            before = str(item.get("status") or "")
            return ("unchanged" if before == to else "refused"), before
        old = (response.get("Attributes") or {}).get("status", {}).get("S")
        return "changed", old

    def set_api_key_status(
        self, key_id: str, *, to: str, allowed_from: Sequence[str] | None, at: str
    ) -> tuple[StatusChange, str | None]:
        return self._set_status(
            keys.api_key(key_id), to=to, allowed_from=allowed_from, at_name=f"{to}At", at=at
        )

    def set_org_status(
        self, org_id: str, *, to: str, allowed_from: Sequence[str] | None, at: str
    ) -> tuple[StatusChange, str | None]:
        return self._set_status(keys.org(org_id), to=to, allowed_from=allowed_from, at_name=f"{to}At", at=at)

    def revoke_api_key(self, key_id: str, *, revoked_at: str) -> StatusChange:
        """Mark an existing key revoked (never creates one): `changed`, `unchanged` (it already
        was) or `missing`."""
        outcome, _ = self.set_api_key_status(key_id, to="revoked", allowed_from=None, at=revoked_at)
        return outcome

    # -- ops listings (Scans and Queries of an operator, never on a request path) ------------

    def _scan(self, condition: str, names: dict[str, str], values: dict[str, Any]) -> list[Item]:
        items: list[Item] = []
        kwargs: dict[str, Any] = {
            "TableName": self.table_name,
            "FilterExpression": condition,
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
            "ConsistentRead": True,
        }
        while True:
            response = self.client.scan(**kwargs)
            items.extend(from_attributes(raw) for raw in response.get("Items", []))
            start = response.get("LastEvaluatedKey")
            if not start:
                return items
            kwargs["ExclusiveStartKey"] = start

    def list_orgs(self) -> list[Item]:
        """Every organization with its wallet balance, sorted by id (a Scan: ops only)."""
        found = self._scan(
            "#entity IN (:org, :wallet)",
            {"#entity": "entity"},
            {":org": {"S": "org"}, ":wallet": {"S": "wallet"}},
        )
        balances = {
            item["orgId"]: int(item.get("balanceCents", 0)) for item in found if item["entity"] == "wallet"
        }
        orgs = [
            {
                "orgId": item["orgId"],
                "name": item.get("name", ""),
                "status": item.get("status"),
                "balanceCents": balances.get(item["orgId"]),
                "createdAt": item.get("createdAt"),
            }
            for item in found
            if item["entity"] == "org"
        ]
        return sorted(orgs, key=lambda org: str(org["orgId"]))

    def list_projects(self, org_id: str) -> list[Item]:
        pk, _ = keys.org(org_id)
        return [
            {
                "projectId": item["projectId"],
                "orgId": item["orgId"],
                "name": item.get("name", ""),
                "createdAt": item.get("createdAt"),
            }
            for item in self._query_prefix(pk, "PROJECT#")
        ]

    def list_api_keys(self, org_id: str) -> list[Item]:
        """An organization's keys without their hash (a Scan: keys are stored by key id)."""
        found = self._scan(
            "#entity = :key AND #org = :org",
            {"#entity": "entity", "#org": "orgId"},
            {":key": {"S": "apiKey"}, ":org": {"S": org_id}},
        )
        rows = [
            {
                "keyId": item["keyId"],
                "scopes": list(item.get("scopes") or []),
                "tier": item.get("tier"),
                "env": item.get("env"),
                "status": item.get("status"),
                "createdAt": item.get("createdAt"),
            }
            for item in found
        ]
        return sorted(rows, key=lambda row: (str(row["createdAt"] or ""), str(row["keyId"])))

    # -- wallet and ledger -----------------------------------------------------------------

    def credit_wallet(self, credit: LedgerEntry) -> int | None:
        """Add to the wallet and write the ledger credit in one transaction; the balance after.

        None when the organization does not exist (nothing written). The balance is read back
        with a consistent read after the transaction, so it may include a concurrent charge.
        """
        wallet_update = {
            "Update": {
                "TableName": self.table_name,
                "Key": _key(keys.wallet(credit.org_id)),
                "UpdateExpression": (
                    "ADD #balance :amount SET #entity = if_not_exists(#entity, :entity), "
                    "#org = if_not_exists(#org, :org)"
                ),
                "ExpressionAttributeNames": {
                    "#balance": "balanceCents",
                    "#entity": "entity",
                    "#org": "orgId",
                },
                "ExpressionAttributeValues": {
                    ":amount": {"N": str(credit.amount_cents)},
                    ":entity": {"S": "wallet"},
                    ":org": {"S": credit.org_id},
                },
            }
        }
        outcome = self._transact_outcome(
            [self._org_exists(credit.org_id), wallet_update, self._ledger_put(credit)], org_check=True
        )
        if outcome != "created":
            return None
        return self.get_wallet_balance(credit.org_id) or 0

    # -- pool accounts ---------------------------------------------------------------------

    def existing_accounts(self, social_account_ids: Iterable[str]) -> set[str]:
        """Which of these social account ids already exist (pool or connected), by BatchGetItem."""
        wanted = sorted(set(social_account_ids))
        found: set[str] = set()
        for start in range(0, len(wanted), BATCH_GET_LIMIT):
            pending = [_key(keys.account(sa)) for sa in wanted[start : start + BATCH_GET_LIMIT]]
            while pending:
                response = self.client.batch_get_item(
                    RequestItems={
                        self.table_name: {
                            "Keys": pending,
                            "ConsistentRead": True,
                            "ProjectionExpression": "#id",
                            "ExpressionAttributeNames": {"#id": "socialAccountId"},
                        }
                    }
                )
                for raw in response.get("Responses", {}).get(self.table_name, []):
                    found.add(str(from_attributes(raw)["socialAccountId"]))
                unprocessed: dict[str, Any] = dict(response.get("UnprocessedKeys") or {})
                pending = list((unprocessed.get(self.table_name) or {}).get("Keys") or [])
        return found

    def put_accounts(self, accounts: Sequence[AccountRecord]) -> None:
        for account in accounts:
            self.put_account(account)

    def list_pool(self, status: str | None = None) -> list[AccountRecord]:
        """Pool accounts sorted by id, optionally only those with this pool status.

        A Scan: this is an operator's listing, never on a request path (the service itself finds
        available accounts through the `POOL#<vertical>` index).
        """
        condition = "#entity = :account AND #kind = :pool"
        names = {"#entity": "entity", "#kind": "kind"}
        values: dict[str, Any] = {":account": {"S": "account"}, ":pool": {"S": "pool"}}
        if status is not None:
            condition += " AND #status = :status"
            names["#status"] = "poolStatus"
            values[":status"] = {"S": status}
        accounts: list[AccountRecord] = []
        start: dict[str, Any] | None = None
        while True:
            kwargs: dict[str, Any] = {
                "TableName": self.table_name,
                "FilterExpression": condition,
                "ExpressionAttributeNames": names,
                "ExpressionAttributeValues": values,
                "ConsistentRead": True,
            }
            if start:
                kwargs["ExclusiveStartKey"] = start
            response = self.client.scan(**kwargs)
            accounts.extend(_account_from_item(from_attributes(raw)) for raw in response.get("Items", []))
            start = response.get("LastEvaluatedKey")
            if not start:
                return sorted(accounts, key=lambda account: account.social_account_id)
