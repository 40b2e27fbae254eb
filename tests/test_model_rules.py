"""Rules the data must keep are database constraints; every change is kept in a restorable history."""

import datetime as dt

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from directory.models import Language, Organization, Phone, Schedule, Service, ServiceArea
from directory.services import restore_version
from directory.translation import translate

pytestmark = pytest.mark.django_db


@pytest.fixture
def organization():
    return Organization.objects.create(name={"de": "Testträger e. V."})


@pytest.fixture
def service(organization):
    return Service.objects.create(organization=organization, name={"de": "Beratung", "en": "Counselling"})


def rejected(make):
    with pytest.raises(IntegrityError), transaction.atomic():
        make()


def test_it_rejects_an_age_range_that_admits_nobody(organization):
    rejected(
        lambda: Service.objects.create(organization=organization, name={"de": "x"}, minimum_age=27, maximum_age=12)
    )


def test_it_rejects_a_name_without_german(organization):
    rejected(lambda: Service.objects.create(organization=organization, name={"en": "only English"}))


def test_it_rejects_a_slot_that_closes_before_it_opens(service):
    rejected(lambda: Schedule.objects.create(service=service, byday="MO", opens_at=dt.time(12), closes_at=dt.time(9)))


def test_it_rejects_malformed_weekdays_and_orphan_or_doubly_owned_slots(service):
    rejected(
        lambda: Schedule.objects.create(service=service, byday="Monday", opens_at=dt.time(9), closes_at=dt.time(12))
    )
    rejected(lambda: Schedule.objects.create(byday="MO", opens_at=dt.time(9), closes_at=dt.time(12)))
    Schedule.objects.create(service=service, byday="MO,TH", opens_at=dt.time(9), closes_at=dt.time(12))


def test_it_rejects_malformed_codes(service):
    rejected(lambda: ServiceArea.objects.create(service=service, ags="5154"))
    rejected(lambda: ServiceArea.objects.create(service=service, ags="05154X"))
    rejected(lambda: Language.objects.create(service=service, code="AR"))
    rejected(lambda: Phone.objects.create(service=service, number="call us"))
    ServiceArea.objects.create(service=service, ags="05154")
    Phone.objects.create(service=service, number="+49 201 123-45")


def test_it_rejects_verified_without_a_date(organization):
    rejected(lambda: Organization.objects.create(name={"de": "x"}, verification_state="verified"))
    Organization.objects.create(name={"de": "x"}, verification_state="verified", last_verified_at=timezone.now())


def test_the_history_records_who_changed_what_and_can_restore_it(service, alice):
    service.name = {"de": "Migrationsberatung", "en": "Migration counselling"}
    service._change_reason = "renamed"
    service._history_user = alice
    service.save()
    versions = list(service.history.order_by("history_date"))
    assert [v.history_type for v in versions] == ["+", "~"]
    assert versions[-1].history_user == alice
    assert versions[-1].history_change_reason == "renamed"
    delta = versions[-1].diff_against(versions[0])
    assert [change.field for change in delta.changes] == ["name"]

    restore_version(versions[0], user=alice)
    service.refresh_from_db()
    assert service.name == {"de": "Beratung", "en": "Counselling"}
    assert service.history.count() == 3
    assert (
        service.history.latest().history_change_reason
        == f"restored the version of {versions[0].history_date:%Y-%m-%d %H:%M}"
    )


def test_text_falls_back_to_german_and_says_so(service):
    assert translate(service.name, "en").text == "Counselling"
    fallback = translate(service.name, "ar")
    assert (fallback.text, fallback.language, fallback.is_fallback) == ("Beratung", "de", True)
    assert not translate(service.name, "de").is_fallback
