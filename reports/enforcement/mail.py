"""The e-mail telling a tenant's admins that the product changed a hosted MTA-STS policy:
promoted to enforce, ramped its max_age, or rolled it back (an alert: promotion paused)."""

from django.conf import settings
from django.urls import reverse

from domains.hosting.models import HostedPolicyVersion
from domains.notices import admin_emails
from tlsrpt_saas.mail import email_build

SUBJECTS = {
    "promote": "[TLS-RPT] {domain}: MTA-STS promoted to enforce",
    "ramp": "[TLS-RPT] {domain}: MTA-STS max_age raised to {max_age}",
    "rollback": "[TLS-RPT alert] {domain}: MTA-STS rolled back to testing",
}


def change_email_send(*, version: HostedPolicyVersion, action: str) -> int:
    """Send the change ``version`` (made by the loop's ``action``) to the tenant's admins."""
    recipients = admin_emails(version.tenant_id)
    if not recipients:
        return 0
    domain = version.hosted_policy.domain
    slug = domain.tenant.slug
    context = {
        "version": version, "action": action, "domain": domain, "tenant": domain.tenant,
        "hosting_url": settings.SITE_URL + reverse("domain_mta_sts", args=[slug, domain.pk]),
        "dashboard_url": settings.SITE_URL + reverse("domain_dashboard", args=[slug, domain.pk]),
    }  # fmt: skip
    message = email_build(
        to=recipients,
        subject=SUBJECTS[action].format(domain=domain.name, max_age=version.max_age),
        template="email/mta_sts_change",
        context=context,
        headers={"X-TLSRPT-MTA-STS": f"{action}; domain={domain.name}; id={version.policy_id}"},
    )
    return message.send()
