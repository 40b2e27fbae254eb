"""Staff sign-in: the second factor for moderators and administrators, throttled passwords, session
limits, and forged posts."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.contrib.auth import SESSION_KEY
from django.core.cache import cache
from django.test import Client
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from editorial.auth import SIGNED_IN_AT, manual_secret
from editorial.models import LoginFailure, PrivateNote, SavedService, StaffAction
from tests.editorial_helpers import PASSWORD, sign_in, totp_device, totp_token

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fast_passwords")]
# The named users and services (alice comes from conftest).
pytest_plugins = ["tests.editorial_fixtures"]


def log_in(client: Client, username: str, password: str = PASSWORD, *, ip: str = "198.51.100.7", next_url: str = ""):
    data = {"username": username, "password": password}
    if next_url:
        data["next"] = next_url
    return client.post("/accounts/login/", data, REMOTE_ADDR=ip)


# --- The second factor ----------------------------------------------------------------------------------


def test_a_moderator_sets_up_a_second_factor_before_moderating(client, mona):
    sign_in(client, mona, verified=False)
    response = client.get("/manage/reports/")
    assert response.status_code == 302 and response.url == "/manage/2fa/?next=%2Fmanage%2Freports%2F"
    assert client.get("/manage/").status_code == 302, "no /manage/ page before the second factor"

    setup = client.get(response.url)
    html = setup.content.decode()
    assert setup.status_code == 200 and "<svg" in html, "the QR code, inline"
    device = TOTPDevice.objects.get(user=mona, confirmed=False)
    assert manual_secret(device) in html, "the key, for apps that cannot scan"
    assert client.post(response.url, {"token": "000000", "next": "/manage/reports/"}).status_code == 400
    device.refresh_from_db()
    assert not device.confirmed

    device.throttling_failure_count = 0  # the wrong guess above slowed further tries down
    device.throttling_failure_timestamp = None
    device.save()
    confirmed = client.post(response.url, {"token": totp_token(device), "next": "/manage/reports/"})
    assert confirmed.status_code == 302 and confirmed.url == "/manage/reports/"
    device.refresh_from_db()
    assert device.confirmed
    assert client.get("/manage/reports/").status_code == 200
    assert StaffAction.objects.filter(user=mona, action="2fa-set-up").exists()


def test_a_moderator_signs_in_with_password_and_code(client, mona):
    device = totp_device(mona)
    response = log_in(client, "mona", next_url="/manage/reports/")
    assert response.status_code == 302 and response.url.startswith("/manage/2fa/")
    assert client.get("/manage/reports/").status_code == 302, "the password alone is not enough"
    to_verify = client.get(response.url)
    assert to_verify.status_code == 302 and to_verify.url.startswith("/manage/2fa/verify/")
    assert client.post(to_verify.url, {"token": "123", "next": "/manage/reports/"}).status_code == 400
    device.refresh_from_db()
    device.throttling_failure_count = 0
    device.throttling_failure_timestamp = None
    device.save()
    verified = client.post(to_verify.url, {"token": totp_token(device), "next": "/manage/reports/"})
    assert verified.status_code == 302 and verified.url == "/manage/reports/"
    assert client.get("/manage/reports/").status_code == 200
    # A code is good once: replaying it in a new session fails.
    replay = Client()
    log_in(replay, "mona")
    assert replay.post("/manage/2fa/verify/", {"token": totp_token(device)}).status_code == 400


def test_the_admin_needs_the_second_factor_too(client, alice):
    sign_in(client, alice, verified=False)
    response = client.get("/admin/directory/service/")
    assert response.status_code == 302 and response.url == "/manage/2fa/?next=%2Fadmin%2Fdirectory%2Fservice%2F"
    sign_in(client, alice)
    assert client.get("/admin/").status_code == 200
    assert client.get("/admin/directory/service/").status_code == 200
    assert client.get("/admin/editorial/staffaction/").status_code == 200
    assert client.get("/admin/editorial/privatenote/").status_code == 404, "private notes are not in the admin"


def test_the_admin_signs_in_through_the_throttled_sign_in(client):
    response = client.get("/admin/login/?next=/admin/directory/")
    assert response.status_code == 302 and response.url == "/accounts/login/?next=%2Fadmin%2Fdirectory%2F"
    assert client.get("/admin/").url.startswith("/admin/login/")


def test_caseworkers_and_editors_sign_in_with_a_password_only(client, carol, erik):
    response = log_in(client, "carol", next_url="/manage/list/")
    assert response.status_code == 302 and response.url == "/manage/list/"
    assert client.get("/manage/list/").status_code == 200
    assert StaffAction.objects.filter(user=carol, action="signed-in").exists()
    other = Client()
    assert log_in(other, "erik").url == "/manage/"
    assert log_in(Client(), "erik", next_url="https://evil.example/").url == "/manage/", "no redirect off the site"


# --- Throttling -----------------------------------------------------------------------------------------


def test_it_locks_out_a_username_and_client_after_five_failures(client, carol):
    for _ in range(5):
        response = log_in(client, "carol", "wrong")
        assert response.status_code == 200 and SESSION_KEY not in client.session
    locked = log_in(client, "carol")
    assert locked.status_code == 429, "even the right password is not checked while locked"
    assert "Zu viele fehlgeschlagene Versuche" in locked.content.decode()  # German, the default language
    assert SESSION_KEY not in client.session
    assert log_in(client, "CAROL ").status_code == 429, "the username as typed does not matter"
    assert LoginFailure.objects.count() == 5
    assert not LoginFailure.objects.filter(client_hash__contains="198.51").exists(), "no address stored"

    assert log_in(Client(), "carol", ip="198.51.100.8").status_code == 302, "another client is not locked out"
    cache.clear()  # Redis expires the counts WEGWEISER_LOGIN_FAILURE_WINDOW after the first failure
    assert log_in(client, "carol").status_code == 302, "the lock ends after the window"


def test_without_the_shared_cache_it_counts_the_stored_failures(client, carol, settings):
    settings.CACHES = {"default": {**settings.CACHES["default"], "LOCATION": "redis://127.0.0.1:9/0"}}
    for _ in range(5):
        assert log_in(client, "carol", "wrong").status_code == 200
    assert log_in(client, "carol").status_code == 429, "password guessing gains nothing while Redis is down"
    LoginFailure.objects.update(at=timezone.now() - timedelta(minutes=16))
    assert log_in(client, "carol").status_code == 302


def test_it_locks_out_a_client_trying_many_usernames(client, carol, settings):
    settings.WEGWEISER_LOGIN_FAILURE_LIMIT_PER_CLIENT = 8
    for number in range(8):
        log_in(client, f"user{number}", "wrong")
    assert log_in(client, "carol").status_code == 429


# --- Sessions -------------------------------------------------------------------------------------------


def test_staff_sessions_end_with_the_browser_and_after_eight_hours(client, erik, settings):
    response = log_in(client, "erik")
    cookie = response.cookies[settings.SESSION_COOKIE_NAME]
    assert cookie["max-age"] == "" and cookie["expires"] == "", "a browser-session cookie"
    assert settings.SESSION_COOKIE_AGE == settings.WEGWEISER_STAFF_SESSION_SECONDS == 8 * 60 * 60
    assert client.get("/manage/").status_code == 200

    session = client.session
    session[SIGNED_IN_AT] = time.time() - 8 * 60 * 60 - 1
    session.save()
    response = client.get("/manage/")
    assert response.status_code == 302 and response.url.startswith("/accounts/login/")
    assert SESSION_KEY not in client.session
    assert StaffAction.objects.filter(user=erik, action="signed-out").exists()


def test_signing_out_takes_a_post(client, erik):
    log_in(client, "erik")
    assert client.get("/accounts/logout/").status_code == 405
    assert client.post("/accounts/logout/").status_code == 302
    assert client.get("/manage/").status_code == 302


# --- Forged posts ---------------------------------------------------------------------------------------


def test_forged_posts_are_rejected(carol, mona, kleve_service):
    forger = Client(enforce_csrf_checks=True)
    sign_in(forger, carol)
    assert forger.post(f"/manage/list/add/{kleve_service.pk}/").status_code == 403
    assert forger.post(f"/manage/notes/service/{kleve_service.pk}/", {"text": "x"}).status_code == 403
    report = {"text": "Die Nummer ist falsch.", "contact": ""}
    assert forger.post(f"/de/services/{kleve_service.pk}/report/", report).status_code == 403
    assert not SavedService.objects.exists() and not PrivateNote.objects.exists()

    moderator = Client(enforce_csrf_checks=True)
    sign_in(moderator, mona)
    assert moderator.post(f"/manage/services/{kleve_service.pk}/confirm/").status_code == 403
    kleve_service.refresh_from_db()
    assert kleve_service.last_verified_at is None
    assert Client(enforce_csrf_checks=True).post("/accounts/login/", {"username": "carol"}).status_code == 403

    # The same post with the page's token goes through.
    forger.get(f"/manage/list/add/{kleve_service.pk}/")
    token = forger.cookies["csrftoken"].value
    response = forger.post(f"/manage/list/add/{kleve_service.pk}/", {"csrfmiddlewaretoken": token})
    assert response.status_code == 302 and SavedService.objects.filter(user=carol).exists()
