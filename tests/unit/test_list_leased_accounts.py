"""Listing leased accounts (api.md 2.3): order, filters, cursors, tenancy."""

from __future__ import annotations

import base64
import json

import pytest

from layers_common.cursor import encode_cursor, signing_key
from layers_common.errors import NotFound, ValidationFailed
from layers_common.models.leased_account import LeasedAccountPage
from layers_common.services.list_leased_accounts import list_leased_accounts
from tests.fakes import FakeLeasingStore
from tests.unit.seeding import ORG, OTHER_ORG, OTHER_ORG_PROJECT, OTHER_PROJECT, PROJECT, leased_account

KEY = signing_key("unit-test-secret")


@pytest.fixture
def five_leases(store: FakeLeasingStore) -> list[str]:
    """Five assigned leases of org_a, sa_1 oldest; odd ones in prj_a, even ones in prj_a2."""
    for n in range(1, 6):
        leased_account(
            store,
            f"sa_{n}",
            project_id=PROJECT if n % 2 else OTHER_PROJECT,
            assigned_at=f"2026-04-0{n}T10:00:00Z",
        )
    return [f"sa_{n}" for n in range(5, 0, -1)]


def listing(
    store: FakeLeasingStore,
    *,
    project_id: str | None = None,
    status: str = "assigned",
    limit: int = 50,
    cursor: str | None = None,
    org_id: str = ORG,
    key: bytes = KEY,
) -> LeasedAccountPage:
    return list_leased_accounts(
        store,
        org_id=org_id,
        project_id=project_id,
        status=status,
        limit=limit,
        cursor=cursor,
        cursor_key=key,
    )


def ids(page) -> list[str]:
    return [item.social_account_id for item in page.items]


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def forged(payload: object) -> str:
    """A cursor in the old unsigned format (what the issue's forged cursor looked like)."""
    return b64(json.dumps(payload).encode())


def resigned(cursor: str, change: dict[str, object]) -> str:
    """A real cursor whose payload is changed but whose tag is kept (tampering)."""
    version, payload, tag = cursor.split(".")
    data = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return f"{version}.{b64(json.dumps({**data, **change}).encode())}.{tag}"


def test_leases_are_listed_newest_first(store, five_leases):
    # Given five assigned leases
    # When org_a lists them
    page = listing(store)
    # Then they come newest assignedAt first, with no next page
    assert ids(page) == five_leases
    assert page.next_cursor is None


def test_an_item_carries_the_contracts_fields(store):
    # Given one assigned lease
    leased_account(store, "sa_1")
    # When it is listed
    item = json.loads(listing(store).to_json())["items"][0]
    # Then the item has the contract's fields and no disconnection fields
    assert item == {
        "socialAccountId": "sa_1",
        "projectId": PROJECT,
        "handle": "sa_1.handle",
        "platform": "tiktok",
        "followers": 1000,
        "status": "assigned",
        "assignedAt": "2026-04-01T10:00:00Z",
        "nextRenewalAt": "2026-05-01T10:00:00Z",
        "monthlyPriceCents": 15000,
        "requestId": "lreq_seeded",
    }


def test_a_disconnected_item_carries_when_and_why_and_no_renewal(store):
    # Given a released lease
    leased_account(store, "sa_1", status="disconnected")
    # When the disconnected leases are listed
    item = json.loads(listing(store, status="disconnected").to_json())["items"][0]
    # Then it says when and why, and has no next renewal
    assert (item["status"], item["nextRenewalAt"]) == ("disconnected", None)
    assert (item["disconnectedAt"], item["disconnectedReason"]) == (
        "2026-04-10T00:00:00Z",
        "released_by_partner",
    )


def test_the_status_filter_separates_assigned_from_disconnected(store):
    # Given one assigned and one released lease
    leased_account(store, "sa_on")
    leased_account(store, "sa_off", status="disconnected")
    # When each status is listed
    # Then each list holds only its own
    assert (ids(listing(store)), ids(listing(store, status="disconnected"))) == (["sa_on"], ["sa_off"])


def test_a_project_listing_holds_only_that_projects_leases(store, five_leases):
    # Given leases spread over prj_a and prj_a2
    # When prj_a is listed
    # Then only its leases come, newest first
    assert ids(listing(store, project_id=PROJECT)) == ["sa_5", "sa_3", "sa_1"]


def test_other_organizations_leases_are_never_listed(store, five_leases):
    # Given org_b has a lease too
    leased_account(store, "sa_b", org_id=OTHER_ORG, project_id=OTHER_ORG_PROJECT)
    # When org_a lists its leases
    # Then org_b's lease is not among them
    assert "sa_b" not in ids(listing(store))


def test_pages_follow_each_other_through_the_cursor(store, five_leases):
    # Given five leases, listed two at a time
    seen: list[str] = []
    cursor = None
    pages = 0
    # When every page is followed
    while True:
        page = listing(store, limit=2, cursor=cursor)
        seen += ids(page)
        pages += 1
        cursor = page.next_cursor
        if cursor is None:
            break
    # Then three pages give every lease once, in order
    assert (pages, seen) == (3, five_leases)


def test_a_page_that_ends_exactly_at_the_last_lease_has_no_next_cursor(store, five_leases):
    # Given five leases
    # When all five are asked for
    # Then there is no next page
    assert listing(store, limit=5).next_cursor is None


def test_the_order_is_stable_for_leases_assigned_in_the_same_second(store):
    # Given three leases assigned at the same instant
    for name in ("sa_x", "sa_y", "sa_z"):
        leased_account(store, name, assigned_at="2026-04-01T10:00:00Z")
    # When they are listed one per page
    first = listing(store, limit=1)
    second = listing(store, limit=1, cursor=first.next_cursor)
    third = listing(store, limit=1, cursor=second.next_cursor)
    # Then each appears exactly once
    assert sorted(ids(first) + ids(second) + ids(third)) == ["sa_x", "sa_y", "sa_z"]


def test_a_project_cursor_round_trips_within_the_project(store, five_leases):
    # Given prj_a's first page of one
    first = listing(store, project_id=PROJECT, limit=1)
    # When its cursor is followed on the same listing
    second = listing(store, project_id=PROJECT, limit=1, cursor=first.next_cursor)
    # Then the next of prj_a's leases comes
    assert ids(second) == ["sa_3"]


@pytest.mark.parametrize(
    "cursor",
    [
        "not-a-cursor",
        "",
        "!!!",
        forged(["after"]),
        forged({"v": 2, "after": "x", "status": "assigned", "projectId": None}),
        forged({"v": 1, "after": 7, "status": "assigned", "projectId": None}),
        forged({"v": 1, "status": "assigned", "projectId": None}),
        forged({"v": 1, "after": "", "status": "assigned", "projectId": None}),
        base64.urlsafe_b64encode(b"\xff\xfe").decode(),
        "v1.e30.AAAAAAAAAAAAAAAAAAAAAA",
        encode_cursor(
            signing_key("another-secret"),
            org_id=ORG,
            position="2026-04-03T10:00:00Z#lse_3",
            status="assigned",
            project_id=None,
        ),
        encode_cursor(KEY, org_id=ORG, position="", status="assigned", project_id=None),
        encode_cursor(KEY, org_id=ORG, position="x", status="assigned", project_id=None),
    ],
    ids=[
        "text",
        "empty",
        "symbols",
        "list",
        "version",
        "position-type",
        "no-position",
        "empty-position-unsigned",
        "not-utf8",
        "zero-tag",
        "other-key",
        "signed-empty-position",
        "signed-bad-position",
    ],
)
def test_a_forged_cursor_is_a_validation_issue_at_cursor(store, five_leases, cursor):
    # Given a cursor this listing never returned
    # When it is used
    with pytest.raises(ValidationFailed) as raised:
        listing(store, cursor=cursor)
    # Then the issue is at `cursor`
    assert [issue.path for issue in raised.value.issues] == ["cursor"]


def test_a_cursor_of_another_status_is_refused(store, five_leases):
    # Given a cursor from the assigned listing
    cursor = listing(store, limit=1).next_cursor
    # When it is used on the disconnected listing
    # Then it is a 422 at cursor
    with pytest.raises(ValidationFailed):
        listing(store, status="disconnected", cursor=cursor)


def test_a_tampered_cursor_is_refused(store, five_leases):
    # Given a real cursor whose position is changed but whose signature is kept
    cursor = listing(store, limit=1).next_cursor
    assert cursor is not None
    tampered = resigned(cursor, {"after": "2099-01-01T00:00:00Z#lse_x"})
    # When it is used / Then it is a 422 at cursor
    with pytest.raises(ValidationFailed) as raised:
        listing(store, cursor=tampered)
    assert [issue.path for issue in raised.value.issues] == ["cursor"]


def test_a_cursor_of_another_organization_is_refused(store, five_leases):
    # Given a cursor issued to org_a
    cursor = listing(store, limit=1).next_cursor
    # When org_b uses it / Then it is a 422 at cursor
    with pytest.raises(ValidationFailed):
        listing(store, cursor=cursor, org_id=OTHER_ORG)


def test_a_cursor_signed_with_another_deployments_key_is_refused(store, five_leases):
    # Given a cursor of another deployment (another signing secret)
    cursor = listing(store, limit=1, key=signing_key("another deployment")).next_cursor
    # When it is used here / Then it is a 422 at cursor
    with pytest.raises(ValidationFailed):
        listing(store, cursor=cursor)


def test_a_cursor_of_another_project_is_refused(store, five_leases):
    # Given a cursor from prj_a's listing
    cursor = listing(store, project_id=PROJECT, limit=1).next_cursor
    # When it is used on the organization-wide listing
    # Then it is a 422 at cursor
    with pytest.raises(ValidationFailed):
        listing(store, cursor=cursor)


def test_a_project_of_another_organization_is_not_found(store):
    # Given org_b's project
    # When org_a lists it
    # Then it is not found
    with pytest.raises(NotFound):
        listing(store, project_id=OTHER_ORG_PROJECT)


def test_an_unknown_project_is_not_found(store):
    # Given no such project
    # When it is listed
    # Then it is not found
    with pytest.raises(NotFound):
        listing(store, project_id="prj_missing")


def test_a_malformed_project_id_is_not_found(store):
    # Given a project id that cannot name anything
    # When it is listed
    # Then it is not found
    with pytest.raises(NotFound):
        listing(store, project_id="prj a")


def test_an_organization_without_leases_gets_an_empty_page(store):
    # Given an organization with no leases
    # When it lists them
    page = listing(store, org_id=OTHER_ORG)
    # Then the page is empty and final
    assert json.loads(page.to_json()) == {"items": [], "nextCursor": None}
