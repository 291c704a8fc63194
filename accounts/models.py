"""People, tenants and who belongs to which tenant with which role."""

import calendar
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.db import models
from django.utils import timezone
from rest_framework_api_key.models import AbstractAPIKey

from accounts.managers import TenantScopedManager


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def create_user(self, email: str, password: str | None = None, **extra: object) -> "User":
        if not email:
            raise ValueError("An email address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **extra: object) -> "User":
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        return self.create_user(email, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    """A person; they log in with their email address."""

    email = models.EmailField(unique=True)
    name = models.CharField(max_length=150, blank=True)
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False)
    date_joined = models.DateTimeField(default=timezone.now)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = []

    def __str__(self) -> str:
        return self.email


def new_inbound_token() -> str:
    # 20 lowercase base32-ish chars: case-insensitive in email local parts, ~100 bits.
    alphabet = "abcdefghijklmnopqrstuvwxyz234567"
    return "".join(secrets.choice(alphabet) for _ in range(20))


class Tenant(models.Model):
    """A team: owns domains and receives reports at its own inbound address."""

    name = models.CharField(max_length=100)
    slug = models.SlugField(max_length=50, unique=True)
    inbound_token = models.CharField(max_length=40, unique=True, default=new_inbound_token)
    time_zone = models.CharField(max_length=64, default="UTC")
    weekly_digest = models.BooleanField(
        default=True, help_text="Send members a weekly summary of their domains' reports."
    )
    digest_weekday = models.PositiveSmallIntegerField(
        default=0, choices=[(i, day) for i, day in enumerate(calendar.day_name)]
    )
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return self.slug

    @property
    def inbound_address(self) -> str:
        """The ``rua=mailto:`` address senders deliver this tenant's reports to."""
        return f"{self.inbound_token}@{settings.INBOUND_DOMAIN}"

    @property
    def https_rua_url(self) -> str:
        """The ``rua=https:`` URL for RFC 8460 section 5.4 HTTPS delivery."""
        return f"{settings.SITE_URL}/tlsrpt/{self.inbound_token}"


class Role(models.TextChoices):
    OWNER = "owner", "Owner"
    ADMIN = "admin", "Admin"
    MEMBER = "member", "Member"
    VIEWER = "viewer", "Viewer"

    @property
    def rank(self) -> int:
        """Higher can do more: a viewer reads, a member uploads, an admin manages."""
        return _RANKS[self]


_RANKS = {Role.VIEWER: 0, Role.MEMBER: 1, Role.ADMIN: 2, Role.OWNER: 3}


@dataclass(frozen=True)
class AtLeast:
    """``membership.at_least.admin``: the person holds that role or a higher one.

    For templates, which cannot call ``has_role(Role.ADMIN)``: the same test as
    ``tenant_view(Role.ADMIN)``, so a page shows a link exactly when its view lets the
    person in. Every role can read, so there is no ``viewer``.
    """

    role: Role

    @property
    def member(self) -> bool:
        """Uploads and reprocesses reports, starts DNS checks."""
        return self.role.rank >= Role.MEMBER.rank

    @property
    def admin(self) -> bool:
        """Manages domains, mailboxes, MTA-STS hosting, webhooks, API keys and members."""
        return self.role.rank >= Role.ADMIN.rank

    @property
    def owner(self) -> bool:
        """Makes and unmakes owners, and deletes the tenant."""
        return self.role.rank >= Role.OWNER.rank


class Membership(models.Model):
    """A person's role in a tenant: how a web request finds its tenant.

    It has no scoped manager because it is read before any scope exists: to find the
    tenant of a request, it is queried only by ``accounts.tenancy`` (pages) and
    ``accounts.api_auth`` (the API with a session), and by the weekly digest's signed
    unsubscribe link, which names its membership. Every other query names its tenant,
    person or row explicitly.
    """

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.MEMBER)
    # The person's own choice; the tenant-wide Tenant.weekly_digest must be on as well.
    weekly_digest = models.BooleanField(
        default=True, help_text="Receive this tenant's weekly digest email."
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "tenant"], name="membership_unique_user_tenant")
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.tenant} as {self.role}"

    def has_role(self, at_least: Role) -> bool:
        return Role(self.role).rank >= at_least.rank

    @property
    def at_least(self) -> AtLeast:
        return AtLeast(Role(self.role))

    @property
    def assignable_roles(self) -> list[tuple[str, str]]:
        """The roles this person may give others, as choices: only an owner makes owners."""
        return [(r.value, r.label) for r in Role if r != Role.OWNER or self.at_least.owner]


def new_invitation_key() -> str:
    return secrets.token_urlsafe(24)


class Invitation(models.Model):
    """An emailed invitation to join a tenant; accepted once, by that email, in time."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField()
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.MEMBER)
    key = models.CharField(max_length=64, unique=True, default=new_invitation_key)
    invited_by = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    objects = TenantScopedManager()

    def __str__(self) -> str:
        return f"{self.email} to {self.tenant} as {self.role}"

    @property
    def expires_at(self) -> datetime:
        return self.created_at + settings.INVITATION_MAX_AGE

    @property
    def is_expired(self) -> bool:
        return timezone.now() >= self.expires_at


class AuditEvent(models.Model):
    """Who did what in a tenant, and when: kept for its admins."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="audit_events")
    actor = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, related_name="+")
    # Kept as text too: the event stays readable after the person is deleted.
    actor_email = models.EmailField(blank=True)
    action = models.CharField(max_length=64)
    summary = models.CharField(max_length=500)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    objects = TenantScopedManager()

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.actor_email} {self.action}"


class KeyScope(models.TextChoices):
    READ = "read", "Read only"
    WRITE = "write", "Read and write"


class ApiKey(AbstractAPIKey):
    """A tenant's REST API key: shown once, stored as a prefix and a SHA-512 hash.

    It has no scoped manager because it is how an API request finds its tenant, before
    any scope exists: to find it, keys are queried only by ``accounts.api_auth``. Every
    other query names its tenant or key explicitly.
    """

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="api_keys")
    scope = models.CharField(max_length=5, choices=KeyScope.choices, default=KeyScope.READ)
    created_by = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, related_name="+")
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta(AbstractAPIKey.Meta):
        verbose_name = "API key"

    @property
    def writable(self) -> bool:
        return self.scope == KeyScope.WRITE
