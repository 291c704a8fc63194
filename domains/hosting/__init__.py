"""Hosted MTA-STS: policies we serve at ``mta-sts.<domain>`` for a tenant's verified domains."""
