"""Outbound webhooks: signed, retried and logged deliveries of a tenant's events."""
