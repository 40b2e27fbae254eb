"""Helpers for the editorial tests: signing users in (with the second factor where it is required)
and the codes of their authenticator apps. The named users are fixtures in tests/editorial_fixtures.py."""

from __future__ import annotations

import time

from django.contrib.auth.models import User
from django.test import Client
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from editorial.models import EditorMembership
from editorial.permissions import forget_roles, needs_two_factor

PASSWORD = "correct horse battery staple"
KLEVE = "05154"


def make_user(username: str) -> User:
    return User.objects.create_user(username, f"{username}@example.org", PASSWORD)


def make_trusted(user: User) -> None:
    EditorMembership.objects.filter(user=user).update(trusted=True)
    forget_roles(user)


def totp_device(user: User) -> TOTPDevice:
    """The user's confirmed authenticator app (created if they have none)."""
    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    return device or TOTPDevice.objects.create(user=user, name="test phone", confirmed=True)


def totp_token(device: TOTPDevice, *, steps_ahead: int = 0) -> str:
    """The code the user's app shows now (or ``steps_ahead`` periods later: a code is accepted only once)."""
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time() + steps_ahead * device.step
    return f"{totp.token():0{device.digits}d}"


def sign_in(client: Client, user: User | None, *, verified: bool = True) -> Client:
    """Sign ``user`` in; moderators and administrators with a verified second factor unless ``verified=False``.

    The same as signing in with password and TOTP code (tests/test_editorial_security.py does that for real).
    """
    if user is None:
        return client
    client.force_login(user)
    if verified and needs_two_factor(user):
        session = client.session
        session[DEVICE_ID_SESSION_KEY] = totp_device(user).persistent_id
        session.save()
    return client
