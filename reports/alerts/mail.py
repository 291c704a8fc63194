"""The email that tells a tenant's admins about a new alert, sent at most once."""

from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from domains.notices import admin_emails
from reports.models import Alert
from tlsrpt_saas.mail import email_build


def alert_notify(*, alert: Alert) -> int | None:
    """Claim ``alert``'s email, then send it; None if it was claimed already.

    The claim (``notified_at`` set by a conditional UPDATE) comes first, so two workers
    never both send; when sending fails in any way (the SMTP server down or refusing, a
    message Django will not build) the claim is released, so a retry sends it, and the
    error raised. The caller is in the alert's scope.
    """
    claimed = Alert.objects.filter(pk=alert.pk, notified_at__isnull=True).update(
        notified_at=timezone.now()
    )
    if not claimed:
        return None
    try:
        return alert_email_send(alert=alert)
    except Exception:
        Alert.objects.filter(pk=alert.pk).update(notified_at=None)
        raise


def alert_email_send(*, alert: Alert) -> int:
    """Send ``alert`` to the admins of its tenant; returns the number of messages sent."""
    recipients = admin_emails(alert.tenant_id)
    if not recipients:
        return 0
    domain = alert.domain
    slug = domain.tenant.slug
    context = {
        "alert": alert,
        "domain": domain,
        "tenant": domain.tenant,
        "dashboard_url": settings.SITE_URL + reverse("domain_dashboard", args=[slug, domain.pk]),
        "domain_url": settings.SITE_URL + reverse("domain_detail", args=[slug, domain.pk]),
    }
    message = email_build(
        to=recipients,
        subject=f"[TLS-RPT alert] {alert.title}",
        template="email/alert",
        context=context,
        headers={"X-TLSRPT-Alert": f"{alert.kind}; domain={domain.name}"},
    )
    return message.send()
