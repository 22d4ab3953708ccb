"""Accept a lease request (api.md 2.1): validation, tenancy, idempotency, wallet check, outbox."""

from __future__ import annotations

from datetime import datetime
from typing import Any, NamedTuple, Protocol

from layers_common import idempotency
from layers_common.clock import Clock, epoch_seconds, isoformat, looks_like_id, new_id
from layers_common.errors import BillingExhausted, Conflict, DomainError, NotFound, ValidationFailed
from layers_common.models.events import LeaseRequested, NicheSpec
from layers_common.models.lease_request import LeaseRequestAccepted, LeaseRequestBody
from layers_common.repository.leasing_repository import AcceptOutcome, IdempotencyClaim
from layers_common.repository.records import (
    LeaseRequestRecord,
    OutboxMessage,
    RequestContext,
    StoredResponse,
)
from layers_common.settings import Settings

ROUTE = "/v1/projects/{projectId}/leased-accounts/request"
REQUEST_ID_IN_USE = "REQUEST_ID_IN_USE"


class LeaseRequestStore(idempotency.IdempotencyStore, Protocol):
    def load_request_context(
        self, org_id: str, project_id: str, request_id: str | None
    ) -> RequestContext: ...

    def accept_lease_request(
        self,
        request: LeaseRequestRecord,
        event: OutboxMessage,
        response: StoredResponse,
        claim: IdempotencyClaim | None,
        *,
        now_epoch: int,
    ) -> AcceptOutcome: ...

    def complete_idempotency(self, claim: IdempotencyClaim, response: StoredResponse) -> bool: ...

    def get_lease_request(self, org_id: str, request_id: str) -> LeaseRequestRecord | None: ...


class RequestLease(NamedTuple):
    org_id: str
    path_project_id: str
    body: LeaseRequestBody
    raw_body: dict[str, Any]
    idempotency_key: str | None


class RequestLeaseResult(NamedTuple):
    response: StoredResponse
    replayed: bool


def accepted_response(request: LeaseRequestRecord) -> StoredResponse:
    body = LeaseRequestAccepted(
        request_id=request.request_id, status="requested", submitted_at=request.submitted_at
    )
    location = f"/v1/projects/{request.project_id}/leased-accounts/requests/{request.request_id}"
    return StoredResponse(status_code=202, body=body.to_json(), headers={"Location": location})


def _request_id_in_use() -> Conflict:
    return Conflict(REQUEST_ID_IN_USE, "This requestId is already used by a request with a different body.")


def _replay_of(existing: LeaseRequestRecord, body_hash: str) -> StoredResponse:
    if existing.body_hash != body_hash:
        raise _request_id_in_use()
    return accepted_response(existing)


def request_lease(
    command: RequestLease, *, store: LeaseRequestStore, clock: Clock, settings: Settings
) -> RequestLeaseResult:
    body = command.body
    if body.project_id != command.path_project_id:
        raise ValidationFailed.at("projectId", "must equal the projectId in the path")
    if not looks_like_id(command.path_project_id):
        raise NotFound("Project")
    context = store.load_request_context(command.org_id, command.path_project_id, body.request_id)
    if not context.project_exists:
        raise NotFound("Project")

    now = clock.now()
    body_hash = idempotency.body_fingerprint(command.raw_body)
    claim: IdempotencyClaim | None = None
    if command.idempotency_key is not None:
        start = idempotency.begin(
            store,
            org_id=command.org_id,
            method="POST",
            route=ROUTE,
            key=command.idempotency_key,
            body_hash=body_hash,
            now=epoch_seconds(now),
            window_seconds=settings.idempotency_window_seconds,
            lock_seconds=settings.idempotency_lock_seconds,
        )
        if start.replay is not None:
            return RequestLeaseResult(start.replay, replayed=True)
        claim = start.claim
    try:
        result = _accept(command, context, body_hash, claim, store=store, now=now, settings=settings)
    except DomainError:
        if claim is not None:
            store.forget_idempotency(claim)  # only 2xx outcomes are remembered
        raise
    return result


def _accept(
    command: RequestLease,
    context: RequestContext,
    body_hash: str,
    claim: IdempotencyClaim | None,
    *,
    store: LeaseRequestStore,
    now: datetime,
    settings: Settings,
) -> RequestLeaseResult:
    body = command.body
    now_text = isoformat(now)
    if context.existing_request is not None:
        return _remember(_replay_of(context.existing_request, body_hash), claim, store)
    if context.wallet_balance_cents < settings.standard_monthly_price_cents:
        raise BillingExhausted(context.wallet_balance_cents, settings.standard_monthly_price_cents)

    request = LeaseRequestRecord(
        org_id=command.org_id,
        request_id=body.request_id or new_id("lreq"),
        project_id=command.path_project_id,
        count=body.count,
        niche=command.raw_body["niche"],
        status="requested",
        submitted_at=now_text,
        body_hash=body_hash,
        target=body.target,
        partner_note=body.note,
    )
    event = LeaseRequested(
        event_id=new_id("evt"),
        occurred_at=now_text,
        org_id=command.org_id,
        request_id=request.request_id,
        project_id=request.project_id,
        count=request.count,
        niche=NicheSpec(
            vertical=body.niche.vertical,
            audience=body.niche.audience,
            language=body.niche.language,
            geo=list(body.niche.geo or []),
        ),
        submitted_at=now_text,
    )
    response = accepted_response(request)
    outcome = store.accept_lease_request(
        request,
        OutboxMessage(event_id=event.event_id, event_type=event.event_type, detail_json=event.detail_json()),
        response,
        claim,
        now_epoch=epoch_seconds(now),
    )
    if outcome == "accepted":
        return RequestLeaseResult(response, replayed=False)
    if outcome == "request_id_taken":  # a concurrent call with the same partner requestId won
        existing = store.get_lease_request(command.org_id, request.request_id)
        if existing is None:
            raise _request_id_in_use()
        return _remember(_replay_of(existing, body_hash), claim, store)
    # Our idempotency claim was taken over (we were presumed dead): answer as the winner did.
    raise idempotency.in_progress()


def _remember(
    response: StoredResponse, claim: IdempotencyClaim | None, store: LeaseRequestStore
) -> RequestLeaseResult:
    if claim is not None:
        store.complete_idempotency(claim, response)
    return RequestLeaseResult(response, replayed=True)
