"""Staff sign-in: a password with throttled failures, a second factor (TOTP) for moderators and
administrators, and sessions that end with the browser and after a fixed number of hours."""

from __future__ import annotations

import hashlib
import math
import secrets
import time
from base64 import b32encode
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import django_otp
import segno
from django.conf import settings
from django.contrib import auth
from django.db import transaction
from django.db.models import Count, Max
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from directory import throttle
from directory.services import client_address, client_hash
from editorial.models import LoginFailure, StaffActionKind, TwoFactorEnrolment
from editorial.permissions import needs_two_factor
from editorial.services import log_action

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser, User

# Session key: when the user signed in (Unix time), for the absolute session limit.
SIGNED_IN_AT = "editorial_signed_in_at"


# --- Throttling failed sign-ins -------------------------------------------------------------------------


def login_client_hash(client_ip: str) -> str:
    """A salted hash of the client address (IPv6 per /64 network): countable, but not the address."""
    return client_hash(client_ip, purpose="editorial.LoginFailure.client_hash")


def normalized_username(username: str) -> str:
    return username.strip().casefold()[:150]


# Failed sign-ins are counted from their LoginFailure rows: one record in the database for every worker and
# machine, which also holds when the shared cache is down (this throttle must never open up). Sign-in is rare;
# two indexed counts per attempt cost nothing next to the password hash they can save.


def _delay(failures: int, last: datetime | None, *, limit: int, now: datetime) -> int:
    """Seconds still to wait after ``failures`` failures, the last at ``last``: none below ``limit``, then
    WEGWEISER_LOGIN_DELAY doubling with each further failure, at most WEGWEISER_LOGIN_DELAY_MAX."""
    if failures < limit or last is None:
        return 0
    cap = settings.WEGWEISER_LOGIN_DELAY_MAX
    delay = min(cap, settings.WEGWEISER_LOGIN_DELAY * 2 ** min(failures - limit, 30))
    return max(0, math.ceil((last + timedelta(seconds=delay) - now).total_seconds()))


def login_wait(*, username: str, client_ip: str) -> int:
    """Seconds before a password for ``username`` from this client is checked again (0: check it now).

    Two counts: the account's failures from every address (a guesser spreading over many addresses still
    slows down) and the address's failures for every account (one address trying many accounts). Each only
    delays, by at most WEGWEISER_LOGIN_DELAY_MAX after the last failure, so no stranger locks anyone out for long.
    While waiting, the password is not even checked, and the refused attempt is not counted.
    """
    now = timezone.now()
    recent = LoginFailure.objects.filter(at__gte=now - timedelta(seconds=settings.WEGWEISER_LOGIN_FAILURE_WINDOW))
    account = recent.filter(username=normalized_username(username)).aggregate(n=Count("id"), last=Max("at"))
    client = recent.filter(client_hash=login_client_hash(client_ip)).aggregate(n=Count("id"), last=Max("at"))
    wait = max(
        _delay(account["n"], account["last"], limit=settings.WEGWEISER_LOGIN_FAILURE_LIMIT, now=now),
        _delay(client["n"], client["last"], limit=settings.WEGWEISER_LOGIN_FAILURE_LIMIT_PER_CLIENT, now=now),
    )
    if wait:
        throttle.log_throttled("login", login_client_hash(client_ip)[:32])
    return wait


@transaction.atomic
def record_login_failure(*, username: str, client_ip: str) -> None:
    now = timezone.now()
    # Failures older than the window count for nothing any more.
    LoginFailure.objects.filter(at__lt=now - timedelta(seconds=settings.WEGWEISER_LOGIN_FAILURE_WINDOW)).delete()
    client = login_client_hash(client_ip)
    LoginFailure.objects.create(username=normalized_username(username), client_hash=client, at=now)


# --- Signing in and out ---------------------------------------------------------------------------------


def sign_in(request: HttpRequest, user: User) -> None:
    auth.login(request, user)  # a new session key, so a planted one is useless
    request.session[SIGNED_IN_AT] = time.time()
    # This browser's own failures are forgiven; others' failures on the account still count.
    client = login_client_hash(client_address(request))
    LoginFailure.objects.filter(username=normalized_username(user.get_username()), client_hash=client).delete()
    log_action(user=user, action=StaffActionKind.SIGNED_IN)


def sign_out(request: HttpRequest) -> None:
    if request.user.is_authenticated:
        log_action(user=request.user, action=StaffActionKind.SIGNED_OUT)
    auth.logout(request)


def session_too_old(request: HttpRequest) -> bool:
    """Whether a signed-in session has lasted longer than WEGWEISER_STAFF_SESSION_SECONDS.

    A session without the mark (signed in some other way) starts counting now.
    """
    started = request.session.get(SIGNED_IN_AT)
    if not isinstance(started, (int, float)):
        request.session[SIGNED_IN_AT] = time.time()
        return False
    return time.time() - started > settings.WEGWEISER_STAFF_SESSION_SECONDS


# --- The second factor ----------------------------------------------------------------------------------


def confirmed_device(user: User | AnonymousUser) -> Any:
    """The user's confirmed TOTP device (an authenticator app), or None."""
    return TOTPDevice.objects.devices_for_user(user, confirmed=True).order_by("id").first()


def device_to_set_up(user: User | AnonymousUser) -> Any:
    """The unconfirmed device whose secret the setup page shows, created on first use (same secret on reload)."""
    device = TOTPDevice.objects.devices_for_user(user, confirmed=False).order_by("id").first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name="authenticator app", confirmed=False)
    return device


def qr_code_svg(device: Any, *, title: str = "") -> str:
    """The otpauth:// address of the device as an inline SVG QR code (no image request, no JavaScript)."""
    return str(segno.make(device.config_url, error="m").svg_inline(scale=4, border=2, title=title or None))


def manual_secret(device: Any) -> str:
    """The secret in base32 groups of four, for apps that cannot scan."""
    secret = b32encode(device.bin_key).decode()
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


# --- Enrolment links: a second factor is set up with an administrator's one-time link, not the password alone.

# Session key: the enrolment link this signed-in session opened (its id), until the device is confirmed.
ENROLMENT = "editorial_enrolment"


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@transaction.atomic
def issue_enrolment_link(user: User, *, issued_by: User | None = None) -> str:
    """A new one-time link (its path) for ``user`` to set up a second factor; an unused earlier one stops working."""
    TwoFactorEnrolment.objects.filter(user=user, used_at__isnull=True).delete()
    token = secrets.token_urlsafe(32)
    TwoFactorEnrolment.objects.create(
        user=user,
        token_hash=_token_hash(token),
        issued_by=issued_by,
        expires_at=timezone.now() + timedelta(hours=settings.WEGWEISER_ENROLMENT_LINK_HOURS),
    )
    return reverse("editorial:two-factor-enrol", kwargs={"token": token})


def _usable_enrolments() -> Any:
    return TwoFactorEnrolment.objects.filter(used_at__isnull=True, expires_at__gt=timezone.now())


def open_enrolment_link(request: HttpRequest, token: str) -> bool:
    """Whether ``token`` is a usable link of the signed-in user; if so, this session may set up a device."""
    link = _usable_enrolments().filter(token_hash=_token_hash(token[:200]), user_id=request.user.pk).first()
    if link is None:
        return False
    request.session[ENROLMENT] = link.pk
    return True


def may_set_up_device(request: HttpRequest) -> bool:
    """Whether this session opened a usable enrolment link of its user (staff without the duty need none)."""
    if not needs_two_factor(request.user):
        return True
    link_id = request.session.get(ENROLMENT)
    return link_id is not None and _usable_enrolments().filter(pk=link_id, user_id=request.user.pk).exists()


@transaction.atomic
def confirm_device(*, request: HttpRequest, device: Any, token: str) -> bool:
    """Confirm a new device with a first code from it; the session counts as verified from then on.

    The enrolment link that allowed it is used up in the same transaction (good once, even if opened twice).
    """
    if not may_set_up_device(request):
        return False
    if not device.verify_token(token.strip()):
        return False
    link_id = request.session.pop(ENROLMENT, None)
    if link_id is not None and not _usable_enrolments().filter(pk=link_id).update(used_at=timezone.now()):
        return False
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    django_otp.login(request, device)
    log_action(user=request.user, action=StaffActionKind.TWO_FACTOR_SET_UP)
    return True


def verify_second_factor(*, request: HttpRequest, token: str) -> bool:
    """Check a code from the user's device (django-otp throttles repeated failures per device)."""
    device = confirmed_device(request.user)
    if device is None:
        return False
    verified = django_otp.verify_token(request.user, device.persistent_id, token.strip())
    if verified is None:
        return False
    django_otp.login(request, verified)
    log_action(user=request.user, action=StaffActionKind.TWO_FACTOR_VERIFIED)
    return True


def is_verified(request: HttpRequest) -> bool:
    check = getattr(request.user, "is_verified", None)
    return bool(check()) if callable(check) else False
