"""Tenant pages under /t/<slug>/ (members, settings, audit), and invitation links."""

from django.urls import path

from accounts import key_views, views

tenant_patterns = [
    path("members/", views.members, name="members"),
    path("members/<int:pk>/role", views.member_role, name="member_role"),
    path("members/<int:pk>/remove", views.member_remove, name="member_remove"),
    path("members/<int:pk>/transfer", views.member_transfer, name="member_transfer"),
    path("invitations/<int:pk>/withdraw", views.invitation_withdraw, name="invitation_withdraw"),
    path("leave", views.tenant_leave, name="tenant_leave"),
    path("settings/", views.tenant_settings, name="tenant_settings"),
    path("delete", views.tenant_delete_view, name="tenant_delete"),
    path("audit/", views.audit_log, name="audit_log"),
    path("keys/", key_views.api_keys, name="api_keys"),
    path("keys/<str:pk>/revoke", key_views.api_key_revoke_view, name="api_key_revoke"),
]

urlpatterns = [
    path("t/new/", views.tenant_new, name="tenant_new"),
    path("invite/<str:token>/", views.invitation_accept_view, name="invitation_accept"),
]
