"""The manager of every tenant-owned model: django-scopes' ``ScopedManager(tenant=...)``.

django-scopes builds its manager class inside a function, where mypy's Django plugin
cannot find it to type ``Model.objects`` and reverse relations; the same class, named
here, can be. Queries through it raise outside ``scope(tenant=...)``.
"""

from typing import TYPE_CHECKING, TypeVar

from django.db import models
from django_scopes import ScopedManager

_M = TypeVar("_M", bound=models.Model)

if TYPE_CHECKING:
    _ScopedOnTenant = models.Manager
else:
    _ScopedOnTenant = type(ScopedManager(tenant="tenant"))


class TenantScopedManager(_ScopedOnTenant[_M]):
    """Scoped on the model's ``tenant`` field."""
