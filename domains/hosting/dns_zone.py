"""Our DNS zone of hosted ``_mta-sts`` TXT records (txt_mode hosted), answered by PowerDNS.

A customer who picks txt_mode hosted publishes, once, ``_mta-sts.<domain>`` CNAME
``<dns_label>.<HOSTED_DNS_ZONE>.``; PowerDNS Authoritative (compose profile ``dns``)
answers that name with ``v=STSv1; id=<policy id>``, so a policy change needs no DNS edit.

The design: PowerDNS's gpgsql backend reads the product's own database, through views.
Migration ``domains/0006`` creates, on PostgreSQL only, a schema ``pdns`` holding the
tables of PowerDNS 4.7's gpgsql schema as views (PowerDNS connects with
``search_path=pdns``): ``records`` yields the zone's SOA and NS rows and one TXT row per
hosted policy that is on, in txt_mode hosted, with an id, of a verified domain. Nothing is
copied, so the answer changes in the very transaction that changes the policy: the moment
it commits (with PowerDNS's caches off; see below). The one table, ``pdns.zone``, holds
the zone's name, name servers and TTL from the settings; ``zone_sync`` rewrites it, from
``hosted_policy_update``'s transaction, when the settings changed.

- Labels are random (``HostedPolicy.dns_label``, 20 hex digits): always one short label
  whatever the domain's length, never two domains on one name (two tenants may both have
  proven one domain), and nothing to rename when the zone changes.
- The SOA serial is the newest policy version's id plus one: it grows with every change,
  even two in one second, so secondaries transfer again.
- TTL ``TTL`` (5 minutes) on every row: a sender that cached the record learns a new id
  within that; RFC 8461 senders fetch the policy again only when the id changes, so a
  longer TTL would only delay them. PowerDNS's own packet and query caches add their TTLs
  (20 s by default; the compose service keeps them short).
- On SQLite there is no PowerDNS backend, so txt_mode hosted is not offered there; nor
  without ``HOSTED_DNS_ZONE``. ``unavailable_reason`` says which.
"""

from django.conf import settings
from django.db import connection

from domains.hosting.models import HostedPolicy

TTL = 300


def unavailable_reason() -> str:
    """Why txt_mode hosted is not offered on this server; "" when it is."""
    if not settings.HOSTED_DNS_ZONE:
        return "this server has no DNS zone of its own for _mta-sts records (HOSTED_DNS_ZONE)"
    if connection.vendor != "postgresql":
        return "our DNS server reads PostgreSQL, and this server's database is not PostgreSQL"
    return ""


def offered() -> bool:
    return not unavailable_reason()


def record_name(policy: HostedPolicy) -> str:
    """The name in our zone that answers the policy's TXT record (no trailing dot)."""
    return f"{policy.dns_label}.{settings.HOSTED_DNS_ZONE}"


def _wanted() -> tuple[str, str, str, int]:
    zone = settings.HOSTED_DNS_ZONE
    return zone, " ".join(settings.HOSTED_DNS_NAMESERVERS), f"hostmaster.{zone}", TTL


def zone_sync() -> None:
    """Make ``pdns.zone`` say what the settings say (PostgreSQL only; a no-op elsewhere).

    Read first and written only on a difference, so that concurrent policy changes do not
    queue on the zone's row.
    """
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT name, nameservers, hostmaster, ttl FROM pdns.zone")
        found = cursor.fetchone()
        if not settings.HOSTED_DNS_ZONE:
            if found is not None:
                cursor.execute("DELETE FROM pdns.zone")
            return
        wanted = _wanted()
        if found is not None and tuple(found) == wanted:
            return
        cursor.execute(
            "INSERT INTO pdns.zone (id, name, nameservers, hostmaster, ttl)"
            " VALUES (1, %s, %s, %s, %s) ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name,"
            " nameservers = EXCLUDED.nameservers, hostmaster = EXCLUDED.hostmaster,"
            " ttl = EXCLUDED.ttl",
            wanted,
        )
