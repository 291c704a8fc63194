"""How allauth fits this product: where people land after logging in."""

from allauth.account.adapter import DefaultAccountAdapter
from django.http import HttpRequest
from django.urls import reverse

from accounts.invitations import SESSION_KEY


class AccountAdapter(DefaultAccountAdapter):
    def get_login_redirect_url(self, request: HttpRequest) -> str:
        # Someone who followed an invitation link before logging in goes back to it.
        token = request.session.get(SESSION_KEY)
        if token:
            return reverse("invitation_accept", args=[token])
        return super().get_login_redirect_url(request)
