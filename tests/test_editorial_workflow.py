"""The editorial workflow holds: an untrusted "still correct" waits for a moderator, empty field groups are never
called checked, the public page shows one state per group, editors move a service's place, and a second
proposal on an entry with one pending is merged (same author) or refused (another author).

Users: erik (editor of A, untrusted) · bea (editor of B) · mona (moderator of Kreis Kleve) · alice (administrator).
"""

from __future__ import annotations

import pytest
from django.utils import timezone

from directory.models import Gemeinde, Location, PointAccuracy, Service, VerificationState
from directory.places import representative_point
from directory.provenance import CONFIRMABLE_GROUPS
from editorial.models import (
    ChangeRequest,
    ChangeRequestKind,
    ChangeRequestStatus,
    EditorMembership,
    FieldGroup,
    FieldGroupVerification,
)
from editorial.services import field_group_verifications, place_value, primary_place
from tests import factories
from tests.editorial_helpers import make_trusted, sign_in
from tests.test_editorial import edit_data

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fast_passwords")]
pytest_plugins = ["tests.editorial_fixtures"]


@pytest.fixture
def with_phone(kleve_service) -> Service:
    """The Kleve service with a phone number (contact recorded) but no hours and no languages."""
    factories.phone(service=kleve_service, number="02821 594-0")
    return kleve_service


def confirm(client, service: Service, group: str = ""):
    return client.post(f"/manage/services/{service.pk}/confirm/", {"group": group} if group else {}, follow=True)


# --- An untrusted editor's "still correct" waits for a moderator ----------------------------------------


def test_an_untrusted_editors_confirmation_waits_for_a_moderator_and_changes_nothing_before(
    client, erik, mona, with_phone
):
    service = with_phone
    sign_in(client, erik)
    page = confirm(client, service).content.decode()
    assert "wartet auf die Prüfung" in page or "waits for a moderator" in page
    service.refresh_from_db()
    assert service.verification_state != VerificationState.VERIFIED and service.last_verified_at is None
    assert not FieldGroupVerification.objects.filter(service=service).exists(), "no effect until approved"
    request = ChangeRequest.objects.get(service=service)
    assert request.kind == ChangeRequestKind.CONFIRM and request.is_pending and request.author == erik
    assert request.proposed == {"whole": True, "groups": ["contact"]}, "only the group that holds a fact"
    assert "2821" in str(request.base["phones"])

    # The public page still says nothing was checked.
    public = client.get(f"/en/services/{service.pk}/").content.decode()
    assert "confirmed on" not in public and "Last verified on" not in public

    sign_in(client, mona)
    review = client.get(f"/manage/changes/{request.pk}/").content.decode()
    assert "Approve" in review or "Freigeben" in review or "veröffentlichen" in review
    assert client.post(f"/manage/changes/{request.pk}/approve/").status_code == 302
    service.refresh_from_db()
    request.refresh_from_db()
    assert request.status == ChangeRequestStatus.APPROVED
    assert service.verification_state == VerificationState.VERIFIED and service.verified_by == erik
    assert service.last_verified_at == request.created_at, "checked when the editor checked, by the editor"
    assert list(field_group_verifications(service)) == ["contact"]


def test_trusted_editors_moderators_and_admins_confirm_at_once(client, erik, mona, alice, with_phone):
    make_trusted(erik)
    for user in (erik, mona, alice):
        FieldGroupVerification.objects.all().delete()
        sign_in(client, user)
        confirm(client, with_phone, "contact")
        assert field_group_verifications(with_phone)["contact"].verified_by == user
    assert not ChangeRequest.objects.exists()


# --- Empty field groups are never checked; one state per group on the public page ------------------------


def test_the_field_groups_are_the_cores(db):
    assert tuple(FieldGroup.values) == CONFIRMABLE_GROUPS


def test_confirming_skips_the_groups_with_nothing_recorded_and_says_which(client, alice, with_phone):
    sign_in(client, alice)
    page = confirm(client, with_phone).content.decode()
    assert set(field_group_verifications(with_phone)) == {"contact"}
    assert "Öffnungszeiten" in page and "gesprochene Sprachen" in page.replace("Gesprochene", "gesprochene")
    assert "nichts eingetragen" in page

    confirm(client, with_phone, "hours")
    assert "hours" not in field_group_verifications(with_phone), "an empty group cannot be confirmed on its own"


def test_the_public_page_never_says_checked_and_not_yet_checked_for_the_same_facts(client, alice, kleve_service):
    """A confirmation of a group that holds nothing (an old row, or one emptied since) is not shown as checked."""
    for group in FieldGroup.values:
        FieldGroupVerification.objects.create(
            service=kleve_service, group=group, verified_at=timezone.now(), verified_by=alice
        )
    page = client.get(f"/en/services/{kleve_service.pk}/").content.decode()
    assert "Phone, e-mail and website not yet verified" in page
    assert "Phone, e-mail and website confirmed on" not in page
    assert "Opening hours confirmed on" not in page

    factories.phone(service=kleve_service, number="02821 594-0")
    page = client.get(f"/en/services/{kleve_service.pk}/").content.decode()
    assert "Phone, e-mail and website confirmed on" in page
    assert "Phone, e-mail and website not yet verified" not in page


# --- Editors change a service's address and place --------------------------------------------------------


def place_data(service: Service, **place: str) -> dict[str, str]:
    return {**edit_data(service), "latitude": "", "longitude": "", **place}


def test_a_trusted_editor_moves_a_service_by_its_address(client, erik, kleve_service):
    make_trusted(erik)
    sign_in(client, erik)
    response = client.post(
        f"/manage/services/{kleve_service.pk}/edit/",
        place_data(kleve_service, address_1="Nassauerallee 15-23", postal_code="47533", city="Kleve"),
    )
    assert response.status_code == 302
    place = place_value(kleve_service)
    assert place is not None
    assert (place["address_1"], place["postal_code"], place["city"]) == ("Nassauerallee 15-23", "47533", "Kleve")
    assert place["ags"] == factories.KLEVE and place["accuracy"] == PointAccuracy.POSTCODE
    location = primary_place(kleve_service).location
    assert location.is_approximate and location.history.latest().history_user == erik
    page = client.get(f"/de/services/{kleve_service.pk}/").content.decode()
    assert "Nassauerallee 15-23, 47533 Kleve" in page


def test_an_exact_point_is_kept_and_must_lie_in_the_address_town(client, alice, kleve_service):
    sign_in(client, alice)
    inside = representative_point(Gemeinde.objects.get(pk=factories.KLEVE))
    ok = client.post(
        f"/manage/services/{kleve_service.pk}/edit/",
        place_data(kleve_service, postal_code="47533", city="Kleve", latitude=str(inside.y), longitude=str(inside.x)),
    )
    assert ok.status_code == 302
    assert place_value(kleve_service)["accuracy"] == PointAccuracy.EXACT

    essen = representative_point(Gemeinde.objects.get(pk=factories.ESSEN))
    elsewhere = client.post(
        f"/manage/services/{kleve_service.pk}/edit/",
        place_data(kleve_service, postal_code="47533", city="Kleve", latitude=str(essen.y), longitude=str(essen.x)),
    )
    assert elsewhere.status_code == 400 and "Essen" in elsewhere.content.decode()
    outside = client.post(
        f"/manage/services/{kleve_service.pk}/edit/",
        place_data(kleve_service, postal_code="47533", latitude="52.52", longitude="13.40"),
    )
    assert outside.status_code == 400
    unknown = client.post(f"/manage/services/{kleve_service.pk}/edit/", place_data(kleve_service, postal_code="10115"))
    assert unknown.status_code == 400
    half = client.post(
        f"/manage/services/{kleve_service.pk}/edit/", place_data(kleve_service, postal_code="47533", latitude="51.7")
    )
    assert half.status_code == 400


def test_an_untouched_form_leaves_an_approximate_place_alone(client, alice, kleve_service):
    Location.objects.update(point_accuracy=PointAccuracy.MUNICIPALITY)
    before = place_value(kleve_service)
    sign_in(client, alice)
    response = client.post(f"/manage/services/{kleve_service.pk}/edit/", edit_data(kleve_service), follow=True)
    assert response.status_code == 200 and place_value(kleve_service) == before


def test_an_untrusted_editors_address_change_waits_for_review(client, erik, mona, kleve_service):
    before = place_value(kleve_service)
    sign_in(client, erik)
    client.post(
        f"/manage/services/{kleve_service.pk}/edit/",
        place_data(kleve_service, address_1="Nassauerallee 15-23", postal_code="47533", city="Kleve"),
    )
    assert place_value(kleve_service) == before, "nothing moves before review"
    change = ChangeRequest.objects.get(service=kleve_service)
    assert list(change.proposed) == ["place"] and change.proposed["place"]["address_1"] == "Nassauerallee 15-23"
    sign_in(client, mona)
    assert "Nassauerallee 15-23" in client.get(f"/manage/changes/{change.pk}/").content.decode()
    client.post(f"/manage/changes/{change.pk}/approve/")
    assert place_value(kleve_service)["address_1"] == "Nassauerallee 15-23"


# --- A second proposal on an entry with one pending ------------------------------------------------------


def test_a_second_proposal_of_the_same_editor_replaces_their_pending_one(client, erik, kleve_service):
    sign_in(client, erik)
    url = f"/manage/services/{kleve_service.pk}/edit/"
    client.post(url, edit_data(kleve_service, email="erst@kreis-kleve.de"))
    first = ChangeRequest.objects.get()
    form = client.get(url).content.decode()
    assert f"#{first.pk}" in form and 'value="erst@kreis-kleve.de"' in form, "the form starts from the proposal"
    client.post(url, edit_data(kleve_service, email="erst@kreis-kleve.de", url="https://kreis-kleve.de/ki"))
    assert ChangeRequest.objects.count() == 1
    first.refresh_from_db()
    assert first.proposed == {"url": "https://kreis-kleve.de/ki", "email": "erst@kreis-kleve.de"}
    assert first.base == {"url": "", "email": ""}


def test_a_proposal_while_another_editors_waits_is_refused_with_the_pending_one_named(
    client, erik, organization_a, kleve_service
):
    from tests.editorial_helpers import make_user

    ute = make_user("ute")
    EditorMembership.objects.create(user=ute, organization=organization_a)
    sign_in(client, erik)
    client.post(f"/manage/services/{kleve_service.pk}/edit/", edit_data(kleve_service, email="erik@kreis-kleve.de"))
    pending = ChangeRequest.objects.get()

    sign_in(client, ute)
    form = client.get(f"/manage/services/{kleve_service.pk}/edit/").content.decode()
    assert f"#{pending.pk}" in form and "erik" in form
    refused = client.post(
        f"/manage/services/{kleve_service.pk}/edit/", edit_data(kleve_service, email="ute@kreis-kleve.de")
    )
    assert refused.status_code == 400 and f"#{pending.pk}" in refused.content.decode()
    factories.phone(service=kleve_service)
    confirmed = confirm(client, kleve_service).content.decode()
    assert f"#{pending.pk}" in confirmed
    assert ChangeRequest.objects.count() == 1
