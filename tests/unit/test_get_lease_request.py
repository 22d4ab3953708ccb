"""Reading one lease request (api.md 2.2), organization-wide or through its project."""

from __future__ import annotations

import pytest

from layers_common.errors import NotFound
from layers_common.repository.records import LeaseRequestRecord
from layers_common.services.get_lease_request import get_lease_request
from tests.fakes import FakeLeasingStore
from tests.unit.seeding import ORG, OTHER_ORG, OTHER_PROJECT, PROJECT


@pytest.fixture
def partial(store: FakeLeasingStore) -> LeaseRequestRecord:
    record = LeaseRequestRecord(
        org_id=ORG,
        request_id="lreq_01HXZR7K8M2P4RSTUV56789AB",
        project_id=PROJECT,
        count=5,
        niche={"vertical": " coffee ", "language": "en", "geo": ["US", "CA"]},
        status="partial",
        submitted_at="2026-04-18T19:24:11Z",
        body_hash="h",
        assigned_at="2026-04-18T19:24:13Z",
        assigned_social_account_ids=("sa_3", "sa_1", "sa_2"),
        note="Assigned 3 of 5: no more warmed accounts match this niche.",
    )
    store.put_lease_request(record)
    return record


def test_a_request_is_read_organization_wide_as_the_contract_shows_it(store, partial):
    # Given a partially assigned request of org_a
    # When org_a reads it without naming the project
    view = get_lease_request(store, org_id=ORG, request_id=partial.request_id)
    # Then the body is the contract's, niche echoed as submitted, ids in assignment order
    assert view.model_dump(mode="json") == {
        "requestId": partial.request_id,
        "projectId": PROJECT,
        "status": "partial",
        "count": 5,
        "niche": {"vertical": " coffee ", "language": "en", "geo": ["US", "CA"]},
        "submittedAt": "2026-04-18T19:24:11Z",
        "assignedAt": "2026-04-18T19:24:13Z",
        "assignedSocialAccountIds": ["sa_3", "sa_1", "sa_2"],
        "note": "Assigned 3 of 5: no more warmed accounts match this niche.",
    }


def test_a_request_is_read_through_its_own_project(store, partial):
    # Given a request of prj_a
    # When it is read through prj_a
    view = get_lease_request(store, org_id=ORG, request_id=partial.request_id, project_id=PROJECT)
    # Then it is found
    assert view.request_id == partial.request_id


def test_a_requested_request_has_no_assignment_yet(store):
    # Given a request just accepted
    store.put_lease_request(
        LeaseRequestRecord(
            org_id=ORG,
            request_id="lreq_new",
            project_id=PROJECT,
            count=1,
            niche={"vertical": "tea"},
            status="requested",
            submitted_at="2026-04-18T19:24:11Z",
            body_hash="h",
        )
    )
    # When it is read
    view = get_lease_request(store, org_id=ORG, request_id="lreq_new").model_dump(mode="json")
    # Then assignedAt is null and the ids are empty
    assert (view["assignedAt"], view["assignedSocialAccountIds"], view["note"]) == (None, [], None)


def test_a_request_read_through_another_project_of_the_same_organization_is_not_found(store, partial):
    # Given a request of prj_a
    # When it is read through prj_a2
    # Then it is not found
    with pytest.raises(NotFound):
        get_lease_request(store, org_id=ORG, request_id=partial.request_id, project_id=OTHER_PROJECT)


def test_a_request_of_another_organization_is_not_found(store, partial):
    # Given a request of org_a
    # When org_b reads it
    # Then it is not found
    with pytest.raises(NotFound):
        get_lease_request(store, org_id=OTHER_ORG, request_id=partial.request_id)


def test_an_unknown_request_is_not_found(store):
    # Given no such request
    # When it is read
    # Then it is not found
    with pytest.raises(NotFound):
        get_lease_request(store, org_id=ORG, request_id="lreq_missing")


@pytest.mark.parametrize("request_id", ["", "a/b", "x" * 129, "lreq 1"])
def test_a_malformed_request_id_is_not_found(store, request_id):
    # Given a path id that cannot name anything
    # When it is read
    # Then it is not found
    with pytest.raises(NotFound):
        get_lease_request(store, org_id=ORG, request_id=request_id)


def test_a_malformed_project_id_is_not_found(store, partial):
    # Given a malformed project id on the project route
    # When the request is read through it
    # Then it is not found
    with pytest.raises(NotFound):
        get_lease_request(store, org_id=ORG, request_id=partial.request_id, project_id="prj/../a")
