"""How allauth fits this product: where people land after logging in, the subjects and
signature of its emails, and a sign-up for a taken address costing what a new one costs."""

from dataclasses import dataclass
from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from allauth.core import context
from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.core.mail import EmailMessage
from django.http import HttpRequest
from django.urls import reverse

from accounts.invitations import SESSION_KEY
from tlsrpt_saas.mail import header_clean


@dataclass(frozen=True)
class ProductSite:
    """What allauth's e-mails call ``current_site``: without the sites framework it would be
    the request's host ("Hello from 127.0.0.1:8000!"); it is the product and SITE_URL."""

    name: str
    domain: str


def product_site() -> ProductSite:
    return ProductSite(name=settings.PRODUCT_NAME, domain=settings.SITE_URL.split("://", 1)[-1])


class AccountAdapter(DefaultAccountAdapter):
    def render_mail(
        self,
        template_prefix: str,
        email: str | list[str],
        context: dict[str, Any],
        headers: dict[str, str] | None = None,
    ) -> EmailMessage:
        context = {
            **context,
            "current_site": product_site(),
            "product_name": settings.PRODUCT_NAME,
            "site_url": settings.SITE_URL,
        }
        return super().render_mail(template_prefix, email, context, headers)

    def get_login_redirect_url(self, request: HttpRequest) -> str:
        # Someone who followed an invitation link before logging in goes back to it.
        token = request.session.get(SESSION_KEY)
        if token:
            return reverse("invitation_accept", args=[token])
        return super().get_login_redirect_url(request)

    def format_email_subject(self, subject: str) -> str:
        return header_clean(super().format_email_subject(subject))

    def send_account_already_exists_mail(self, email: str) -> None:
        # Signing up with a new address hashes its password (set_password); an address
        # with an account answers the same page and mails too, so it hashes the submitted
        # password as well and throws the hash away: the time taken tells nothing. (Only
        # on sign-up, the one form with a password1; adding an address to an account
        # comes here too.)
        password = context.request.POST.get("password1")
        if password is not None:
            make_password(password)
        super().send_account_already_exists_mail(email)
