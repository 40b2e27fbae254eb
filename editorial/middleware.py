"""Session limits and the second factor for the staff areas (/manage/ and the Django admin).

Public pages are left alone: nothing here reads the session or the user there, so anonymous pages
stay cacheable. Install after django_otp.middleware.OTPMiddleware.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlencode

from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse

from editorial.auth import is_verified, session_too_old, sign_out
from editorial.permissions import needs_two_factor


class StaffSessionMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        manage, admin = reverse("editorial:dashboard"), reverse("admin:index")
        if request.path.startswith((manage, admin)) and request.user.is_authenticated:
            if session_too_old(request):
                sign_out(request)
                return redirect_to_login(request.get_full_path())
            # The admin's own views have no decorator of ours: require the second factor here.
            exempt = (reverse("admin:logout"), reverse("admin:login"))
            if (
                request.path.startswith(admin)
                and request.path not in exempt
                and needs_two_factor(request.user)
                and not is_verified(request)
            ):
                return HttpResponseRedirect(
                    f"{reverse('editorial:two-factor')}?{urlencode({'next': request.get_full_path()})}"
                )
        return self.get_response(request)
