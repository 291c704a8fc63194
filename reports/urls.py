"""Reports pages under /t/<slug>/, and the HTTPS door of RFC 8460 section 5.4."""

from django.urls import path

from reports.dashboards import views as dashboard_views
from reports.digests import views as digest_views
from reports.inbound import mailbox_views, views
from reports.inbound.http import tlsrpt_post
from reports.readiness import views as readiness_views
from reports.selftest import views as selftest_views
from reports.webhooks import views as webhook_views

tenant_patterns = [
    path("", dashboard_views.tenant_home, name="tenant_home"),
    path("domains/<int:pk>/dashboard/", dashboard_views.domain_dashboard, name="domain_dashboard"),
    path(
        "domains/<int:pk>/readiness/",
        readiness_views.domain_readiness_card,
        name="domain_readiness",
    ),
    path("reports/", dashboard_views.report_list, name="report_list"),
    path("reports/<int:pk>/", dashboard_views.report_detail, name="report_detail"),
    path("reports/<int:pk>/raw", dashboard_views.report_raw, name="report_raw"),
    path("export/<str:what>.csv", dashboard_views.export_csv, name="export_csv"),
    path("upload/", views.upload, name="upload"),
    path("inbound/", views.inbound_log, name="inbound_log"),
    path("inbound/<int:pk>/reprocess", views.inbound_reprocess, name="inbound_reprocess"),
    path("inbound/<int:pk>/conflict", dashboard_views.inbound_conflict, name="inbound_conflict"),
    path("inbound/<int:pk>/raw", dashboard_views.inbound_raw, name="inbound_raw"),
    path("mailboxes/", mailbox_views.mailbox_list, name="mailbox_list"),
    path("mailboxes/new", mailbox_views.mailbox_edit, name="mailbox_new"),
    path("mailboxes/<int:pk>/", mailbox_views.mailbox_edit, name="mailbox_edit"),
    path("mailboxes/<int:pk>/test", mailbox_views.mailbox_check, name="mailbox_test"),
    path("mailboxes/<int:pk>/toggle", mailbox_views.mailbox_toggle, name="mailbox_toggle"),
    path("mailboxes/<int:pk>/delete", mailbox_views.mailbox_delete, name="mailbox_delete"),
    path("digest", digest_views.digest_preference, name="digest_preference"),
    path("webhooks/", webhook_views.webhook_list, name="webhook_list"),
    path("webhooks/new", webhook_views.webhook_new, name="webhook_new"),
    path("webhooks/<int:pk>/", webhook_views.webhook_detail, name="webhook_detail"),
    path("webhooks/<int:pk>/edit", webhook_views.webhook_edit, name="webhook_edit"),
    path("webhooks/<int:pk>/rotate", webhook_views.webhook_rotate, name="webhook_rotate"),
    path("webhooks/<int:pk>/toggle", webhook_views.webhook_toggle, name="webhook_toggle"),
    path("webhooks/<int:pk>/delete", webhook_views.webhook_delete, name="webhook_delete"),
    path("webhooks/<int:pk>/test", webhook_views.webhook_test, name="webhook_test"),
    path(
        "webhooks/deliveries/<int:pk>/resend",
        webhook_views.webhook_resend,
        name="webhook_resend",
    ),
    path("domains/<int:pk>/self-test", selftest_views.self_test_start, name="self_test_start"),
    path(
        "domains/<int:pk>/self-test/<int:test_id>/",
        selftest_views.self_test_page,
        name="self_test_progress",
    ),
]

urlpatterns = [
    path("tlsrpt/<str:token>", tlsrpt_post, name="tlsrpt_post"),
]
