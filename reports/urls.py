"""Reports pages under /t/<slug>/, and the HTTPS door of RFC 8460 section 5.4."""

from django.urls import path

from reports import views
from reports.inbound.http import tlsrpt_post

tenant_patterns = [
    path("upload/", views.upload, name="upload"),
    path("inbound/", views.inbound_log, name="inbound_log"),
    path("inbound/<int:pk>/reprocess", views.inbound_reprocess, name="inbound_reprocess"),
]

urlpatterns = [
    path("tlsrpt/<str:token>", tlsrpt_post, name="tlsrpt_post"),
]
