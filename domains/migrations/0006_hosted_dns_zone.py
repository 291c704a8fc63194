"""Hosted ``_mta-sts`` TXT records: a DNS label per hosted policy, and on PostgreSQL the
``pdns`` schema that PowerDNS's gpgsql backend reads (see ``domains.hosting.dns_zone``).

The views read ``domains_hostedpolicy`` and ``domains_domain``: PostgreSQL then refuses to
alter or drop the columns they name, so a later migration that changes one of them drops
``pdns.records`` first and creates it again afterwards.
"""

import secrets

from django.apps.registry import Apps
from django.db import migrations, models
from django.db.backends.base.schema import BaseDatabaseSchemaEditor

import domains.hosting.models

# PowerDNS 4.7's gpgsql schema (schema.pgsql.sql), as views with the columns its default
# queries read. Only the zone row is a table; the records follow the hosted policies.
PDNS_SCHEMA = """
CREATE SCHEMA pdns;

CREATE TABLE pdns.zone (
    id integer PRIMARY KEY CHECK (id = 1),
    name varchar(255) NOT NULL CHECK (name = lower(name)),
    nameservers text NOT NULL DEFAULT '',
    hostmaster varchar(255) NOT NULL,
    ttl integer NOT NULL
);

CREATE VIEW pdns.domains AS
SELECT 1 AS id, z.name, NULL::varchar(128) AS master, NULL::integer AS last_check,
       'NATIVE'::text AS type, NULL::bigint AS notified_serial, NULL::varchar(40) AS account,
       NULL::text AS options, NULL::text AS catalog
FROM pdns.zone z;

CREATE VIEW pdns.records AS
SELECT 0::bigint AS id, 1 AS domain_id, z.name, 'SOA'::varchar(10) AS type,
       concat_ws(' ',
           coalesce(nullif(split_part(z.nameservers, ' ', 1), ''), z.name),
           z.hostmaster,
           (SELECT coalesce(max(v.id), 0) + 1 FROM domains_hostedpolicyversion v),
           3600, 600, 604800, 60
       )::varchar(65535) AS content,
       z.ttl, 0 AS prio, false AS disabled, NULL::varchar(255) AS ordername, true AS auth
FROM pdns.zone z
UNION ALL
SELECT 0, 1, z.name, 'NS', ns, z.ttl, 0, false, NULL, true
FROM pdns.zone z, unnest(string_to_array(z.nameservers, ' ')) AS ns
WHERE ns <> ''
UNION ALL
SELECT 0, 1, (p.dns_label || '.' || z.name)::varchar(255), 'TXT',
       '"v=STSv1; id=' || p.policy_id || '"', z.ttl, 0, false, NULL, true
FROM pdns.zone z, domains_hostedpolicy p JOIN domains_domain d ON d.id = p.domain_id
WHERE p.enabled AND p.txt_mode = 'hosted' AND p.policy_id <> ''
  AND d.verified_at IS NOT NULL;

-- The rest of gpgsql's schema, empty: no metadata, keys, TSIG, autoprimaries, comments.
CREATE VIEW pdns.domainmetadata AS
SELECT 0 AS id, 0 AS domain_id, ''::varchar(32) AS kind, ''::text AS content WHERE false;
CREATE VIEW pdns.cryptokeys AS
SELECT 0 AS id, 0 AS domain_id, 0 AS flags, false AS active, false AS published,
       ''::text AS content WHERE false;
CREATE VIEW pdns.tsigkeys AS
SELECT 0 AS id, ''::varchar(255) AS name, ''::varchar(50) AS algorithm,
       ''::varchar(255) AS secret WHERE false;
CREATE VIEW pdns.supermasters AS
SELECT '0.0.0.0'::inet AS ip, ''::varchar(255) AS nameserver, ''::varchar(40) AS account
WHERE false;
CREATE VIEW pdns.comments AS
SELECT 0 AS id, 0 AS domain_id, ''::varchar(255) AS name, ''::varchar(10) AS type,
       0 AS modified_at, ''::varchar(40) AS account, ''::varchar(65535) AS comment WHERE false;
"""


def labels_fill(apps: Apps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    policy_model = apps.get_model("domains", "HostedPolicy")
    for policy in policy_model._base_manager.filter(dns_label__isnull=True):
        policy.dns_label = secrets.token_hex(10)
        policy.save(update_fields=["dns_label"])


def pdns_schema_create(apps: Apps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(PDNS_SCHEMA, params=None)


def pdns_schema_drop(apps: Apps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP SCHEMA IF EXISTS pdns CASCADE")


class Migration(migrations.Migration):
    dependencies = [
        ("domains", "0005_hosted_mta_sts"),
    ]

    operations = [
        migrations.AddField(
            model_name="hostedpolicy",
            name="dns_label",
            field=models.CharField(max_length=20, null=True, editable=False),
        ),
        migrations.RunPython(labels_fill, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="hostedpolicy",
            name="dns_label",
            field=models.CharField(
                default=domains.hosting.models.dns_label_new,
                editable=False,
                max_length=20,
                unique=True,
            ),
        ),
        migrations.RunPython(pdns_schema_create, pdns_schema_drop),
    ]
