"""The e-mail telling a tenant's admins that a failing webhook endpoint was turned off."""

from django.conf import settings
from django.urls import reverse

from domains.notices import admin_emails
from reports.webhooks.models import WebhookEndpoint
from tlsrpt_saas.mail import email_build


def endpoint_disabled_notify(*, endpoint: WebhookEndpoint) -> int:
    """Send it to the admins of the endpoint's tenant; how many messages were sent."""
    recipients = admin_emails(endpoint.tenant_id)
    if not recipients:
        return 0
    page = reverse("webhook_detail", args=[endpoint.tenant.slug, endpoint.pk])
    message = email_build(
        to=recipients,
        subject=f"[TLS-RPT] Webhook turned off: {endpoint.url}",
        template="reports/webhooks/email/endpoint_disabled",
        context={"endpoint": endpoint, "tenant": endpoint.tenant, "url": settings.SITE_URL + page},
        headers={"Auto-Submitted": "auto-generated"},
    )
    return message.send()
