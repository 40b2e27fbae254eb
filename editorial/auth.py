"""Staff sign-in: a password with throttled failures, a second factor (TOTP) for moderators and
administrators, and sessions that end with the browser and after a fixed number of hours."""

from __future__ import annotations

import time
from base64 import b32encode
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import django_otp
import segno
from django.conf import settings
from django.contrib import auth
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from directory import throttle
from directory.services import client_hash
from editorial.models import LoginFailure, StaffActionKind
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


# Failed sign-ins are counted in the shared cache (directory/throttle.py): one count for every worker and
# machine. The LoginFailure rows stay the record of them, and are counted instead while the cache is
# unavailable: this throttle must not open up for password guessing when Redis is down.
LOGIN_THROTTLE = "login"


def _pair(username: str, client: str) -> str:
    """The throttle key of a username and client, both hashed (no username is kept in the cache)."""
    return client_hash(f"{normalized_username(username)}\n{client}", purpose="editorial.login.pair")


def _recent_failures(client_ip: str) -> Any:
    since = timezone.now() - timedelta(seconds=settings.WEGWEISER_LOGIN_FAILURE_WINDOW)
    return LoginFailure.objects.filter(client_hash=login_client_hash(client_ip), at__gte=since)


def login_throttled(*, username: str, client_ip: str) -> bool:
    """Whether this client has failed too often for this username (or for any username) lately.

    While throttled, the password is not even checked, so guessing on gains nothing.
    """
    per_user = settings.WEGWEISER_LOGIN_FAILURE_LIMIT
    per_client = settings.WEGWEISER_LOGIN_FAILURE_LIMIT_PER_CLIENT
    client = login_client_hash(client_ip)
    for_pair = throttle.hits(LOGIN_THROTTLE, _pair(username, client))
    for_client = throttle.hits(LOGIN_THROTTLE, client)
    if for_pair is not None and for_client is not None:
        throttled = for_pair >= per_user or for_client >= per_client
    else:
        recent = _recent_failures(client_ip)
        throttled = (
            recent.filter(username=normalized_username(username))[:per_user].count() >= per_user
            or recent[:per_client].count() >= per_client
        )
    if throttled:
        throttle.log_throttled(LOGIN_THROTTLE, client)
    return throttled


@transaction.atomic
def record_login_failure(*, username: str, client_ip: str) -> None:
    now = timezone.now()
    window = settings.WEGWEISER_LOGIN_FAILURE_WINDOW
    client = login_client_hash(client_ip)
    # Failures older than the window count for nothing any more.
    LoginFailure.objects.filter(at__lt=now - timedelta(seconds=window)).delete()
    LoginFailure.objects.create(username=normalized_username(username), client_hash=client, at=now)
    throttle.hit(LOGIN_THROTTLE, _pair(username, client), window=window)
    throttle.hit(LOGIN_THROTTLE, client, window=window)


# --- Signing in and out ---------------------------------------------------------------------------------


def sign_in(request: HttpRequest, user: User) -> None:
    auth.login(request, user)  # a new session key, so a planted one is useless
    request.session[SIGNED_IN_AT] = time.time()
    client = login_client_hash(request.META.get("REMOTE_ADDR", ""))
    LoginFailure.objects.filter(username=normalized_username(user.get_username()), client_hash=client).delete()
    throttle.forget(LOGIN_THROTTLE, _pair(user.get_username(), client))
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


@transaction.atomic
def confirm_device(*, request: HttpRequest, device: Any, token: str) -> bool:
    """Confirm a new device with a first code from it; the session counts as verified from then on."""
    if not device.verify_token(token.strip()):
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
