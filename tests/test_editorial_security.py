"""Staff sign-in: the second factor for moderators and administrators, throttled passwords, session
limits, and forged posts."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.contrib.auth import SESSION_KEY
from django.core.management import call_command
from django.test import Client
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from editorial.auth import SIGNED_IN_AT, issue_enrolment_link, manual_secret
from editorial.models import LoginFailure, PrivateNote, SavedService, StaffAction, TwoFactorEnrolment
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

    assert client.get(f"{issue_enrolment_link(mona)}").url == "/manage/2fa/", "an administrator's link"
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


def test_without_an_enrolment_link_the_password_alone_sets_up_no_device(client, mona):
    log_in(client, "mona")
    refused = client.get("/manage/2fa/")
    assert refused.status_code == 403
    assert "einmaligen Link" in refused.content.decode(), "says to ask an administrator (in German)"
    assert not TOTPDevice.objects.filter(user=mona).exists(), "no secret shown, none made"
    assert client.post("/manage/2fa/", {"token": "123456"}).status_code == 403


def test_an_enrolment_link_is_good_once_for_its_own_account_until_it_expires(client, mona, alice):
    path = issue_enrolment_link(mona, issued_by=alice)
    stored = TwoFactorEnrolment.objects.get(user=mona)
    assert path.split("/")[-2] not in stored.token_hash and len(stored.token_hash) == 64, "only a hash is kept"

    opened = Client().get(path)
    assert opened.status_code == 302 and opened.url.startswith("/accounts/login/?next="), "the password first"
    assert opened["Referrer-Policy"] == "no-referrer"

    sign_in(alice_client := Client(), alice, verified=False)
    assert alice_client.get(path).status_code == 404, "another account's link does nothing"

    log_in(client, "mona")
    assert client.get(path).url == "/manage/2fa/"
    device = (
        TOTPDevice.objects.get(user=mona, confirmed=False) if client.get("/manage/2fa/").status_code == 200 else None
    )
    assert device is not None
    assert client.post("/manage/2fa/", {"token": totp_token(device)}).status_code == 302
    assert TwoFactorEnrolment.objects.get(pk=stored.pk).used_at is not None

    TOTPDevice.objects.filter(user=mona).delete()  # lost the phone: the used link does not serve again
    again = Client()
    log_in(again, "mona")
    assert again.get(path).status_code == 404
    assert again.get("/manage/2fa/").status_code == 403

    expired = issue_enrolment_link(mona)
    TwoFactorEnrolment.objects.filter(used_at__isnull=True).update(expires_at=timezone.now())
    assert again.get(expired).status_code == 404, "expired"
    newer = issue_enrolment_link(mona)
    assert again.get(newer).url == "/manage/2fa/"


def test_the_first_administrator_gets_a_link_from_a_command(alice, capsys):
    call_command("issue_enrolment_link", "alice", "--base-url", "https://wegweiser.example/")
    link = capsys.readouterr().out.strip()
    assert link.startswith("https://wegweiser.example/manage/2fa/enrol/")
    client = Client()
    log_in(client, "alice")
    assert client.get(link.removeprefix("https://wegweiser.example")).url == "/manage/2fa/"
    assert client.get("/manage/2fa/").status_code == 200


def test_an_administrator_issues_a_link_in_the_admin(client, alice, mona):
    sign_in(client, alice)
    response = client.post("/admin/editorial/twofactorenrolment/add/", {"user": mona.pk}, follow=True)
    assert response.status_code == 200
    shown = [str(m) for m in response.context["messages"] if "/manage/2fa/enrol/" in str(m)]
    assert len(shown) == 1
    link = shown[0].split("http://testserver", 1)[1]
    assert TwoFactorEnrolment.objects.get(user=mona).issued_by == alice
    other = Client()
    log_in(other, "mona")
    assert other.get(link).url == "/manage/2fa/"


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


def age_failures(seconds: int) -> None:
    """Let time pass for the stored failures (the throttle reads their times from the database)."""
    LoginFailure.objects.update(at=timezone.now() - timedelta(seconds=seconds))


def test_after_five_failures_an_account_waits_before_its_password_is_checked(client, carol):
    for _ in range(5):
        response = log_in(client, "carol", "wrong")
        assert response.status_code == 200 and SESSION_KEY not in client.session
    locked = log_in(client, "carol")
    assert locked.status_code == 429, "even the right password is not checked while waiting"
    assert locked["Retry-After"] == "15"
    # German, the default language, and the wait in words that machines read from Retry-After.
    told = "Zu viele fehlgeschlagene Versuche. Bitte versuchen Sie es in 15 Sekunden noch einmal."
    assert told in locked.content.decode()
    assert SESSION_KEY not in client.session
    assert log_in(client, "CAROL ").status_code == 429, "the username as typed does not matter"
    assert log_in(Client(), "carol", ip="198.51.100.8").status_code == 429, "the account waits at every address"
    assert LoginFailure.objects.count() == 5, "refused attempts are not counted (a stranger cannot grow the wait)"
    assert not LoginFailure.objects.filter(client_hash__contains="198.51").exists(), "no address stored"

    age_failures(16)
    assert log_in(client, "carol").status_code == 302, "the wait ends after 15 seconds"


def test_the_wait_doubles_with_each_further_failure_up_to_five_minutes(client, carol):
    for _ in range(5):
        log_in(client, "carol", "wrong")
    waits = [int(log_in(client, "carol")["Retry-After"])]
    for _ in range(7):
        age_failures(waits[-1] + 1)
        assert log_in(client, "carol", "wrong").status_code == 200, "after the wait, the password is checked"
        waits.append(int(log_in(client, "carol")["Retry-After"]))
    assert waits == [15, 30, 60, 120, 240, 300, 300, 300]


def test_guessing_from_twenty_addresses_gets_few_passwords_checked(fast_passwords, client, carol, settings):
    # 120 sign-ins hash 120 passwords: on a busy machine that outlasts the first wait (15 s), so the waits are
    # made long enough that the loop cannot outrun them; what is tested is the counting, not the clock.
    settings.WEGWEISER_LOGIN_DELAY = 600
    settings.WEGWEISER_LOGIN_DELAY_MAX = 3600
    checked = 0
    for address in range(20):
        for _ in range(6):
            if log_in(Client(), "carol", "wrong", ip=f"203.0.113.{address}").status_code == 200:
                checked += 1
    assert checked == 5, "20 addresses × 6 guesses: only the first five passwords were checked"


def test_a_shared_address_delays_other_accounts_for_minutes_not_a_quarter_hour(client, carol, erik):
    for number in range(50):
        log_in(client, f"user{number}", "wrong")
    assert log_in(client, "carol").status_code == 429, "one address trying many accounts waits"
    assert log_in(Client(), "carol", ip="198.51.100.99").status_code == 302, "other addresses are not held back"
    age_failures(5 * 60 + 1)
    assert log_in(client, "erik").status_code == 302, "after five minutes at most, a colleague signs in"


def test_without_the_shared_cache_the_throttle_holds(client, carol, settings):
    settings.CACHES = {"default": {**settings.CACHES["default"], "LOCATION": "redis://127.0.0.1:9/0"}}
    for _ in range(5):
        assert log_in(client, "carol", "wrong").status_code == 200
    assert log_in(client, "carol").status_code == 429, "password guessing gains nothing while Redis is down"
    age_failures(16)
    assert log_in(client, "carol").status_code == 302


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
