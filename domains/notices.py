"""One-off emails about a domain to its tenant's admins."""

from django.conf import settings
from django.urls import reverse

from accounts.models import Membership, Role
from domains.models import Domain
from tlsrpt_saas.mail import email_build


def admin_emails(tenant_id: int) -> list[str]:
    return sorted(
        Membership.objects.filter(
            tenant_id=tenant_id, role__in=[Role.OWNER, Role.ADMIN]
        ).values_list("user__email", flat=True)
    )


def unverified_notice_send(*, domain: Domain) -> int:
    """Tell the admins that ``domain`` no longer counts reports; returns messages sent."""
    recipients = admin_emails(domain.tenant_id)
    if not recipients:
        return 0
    url = settings.SITE_URL + reverse("domain_detail", args=[domain.tenant.slug, domain.pk])
    message = email_build(
        to=recipients,
        subject=f"[TLS-RPT] {domain.name} is no longer verified",
        template="email/domain_unverified",
        context={"domain": domain, "url": url, "days": settings.DOMAIN_UNVERIFY_AFTER_DAYS},
    )
    return message.send()
