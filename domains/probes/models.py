"""The latest probe of each MX host, shared by every tenant whose domains use it.

Not tenant data: it is what any sender sees of a public host (Google's and Microsoft's MX
hosts serve thousands of domains), so it has no tenant and no scoped manager, and holds
nothing a tenant told us. Each tenant's judgement of it is its own ``DnsCheck``.
"""

from django.db import models
from django.utils import timezone


class MxProbe(models.Model):
    host = models.CharField(max_length=253, unique=True)  # lowercase, no trailing dot
    probed_at = models.DateTimeField(default=timezone.now)
    result = models.JSONField(default=dict)  # ProbeResult.as_dict()

    def __str__(self) -> str:
        return f"{self.host} {self.probed_at:%Y-%m-%d %H:%M}"
