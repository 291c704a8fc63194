"""Domain pages under /t/<slug>/domains/."""

from django.urls import path

from domains import views
from domains.hosting import views as hosting_views

tenant_patterns = [
    path("domains/", views.domain_list, name="domain_list"),
    path("domains/<int:pk>/", views.domain_detail, name="domain_detail"),
    path("domains/<int:pk>/check", views.domain_check_now, name="domain_check"),
    path("domains/<int:pk>/health", views.domain_health, name="domain_health"),
    path("domains/<int:pk>/delete", views.domain_delete, name="domain_delete"),
    path("domains/<int:pk>/mta-sts", hosting_views.domain_mta_sts, name="domain_mta_sts"),
]
