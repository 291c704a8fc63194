"""Writing many rows at once: reports skipping duplicates, failure details by COPY; and
reading back what duplicates are compared with.

A large report carries thousands of failure details; building a model instance for each
and compiling a multi-row INSERT cost more than the database's own work. COPY takes
plain tuples straight from the parsed report.
"""

import gzip
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime

from django.db import connection

from reports.models import FailureDetail, Report

# Each column of a row and its type in binary COPY (a varchar's is text's). Binary: psycopg
# packs each value in C and PostgreSQL reads it without parsing text (a 2,000-detail
# report: 2.9 -> 1.1 ms of the client's time, 5.0 -> 3.8 ms in all).
_TYPED = (
    ("tenant_id", "int8"), ("policy_id", "int8"), ("result_type", "text"),
    ("sending_mta_ip", "text"), ("receiving_mx_hostname", "text"),
    ("receiving_mx_helo", "text"), ("receiving_ip", "text"), ("failed_session_count", "int8"),
    ("additional_information", "text"), ("failure_reason_code", "text"), ("day", "date"),
)  # fmt: skip
COLUMNS = tuple(column for column, _ in _TYPED)
_COPY_TYPES = [kind for _, kind in _TYPED]
_COPY_SQL = f"COPY {FailureDetail._meta.db_table} ({', '.join(COLUMNS)}) FROM STDIN (FORMAT BINARY)"


def failure_details_insert(rows: Sequence[tuple]) -> None:
    """Insert rows of ``COLUMNS`` inside the caller's transaction."""
    if not rows:
        return
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor, cursor.cursor.copy(_COPY_SQL) as copy:
            copy.set_types(_COPY_TYPES)
            for row in rows:
                copy.write_row(row)
        return
    FailureDetail.objects.bulk_create(
        [FailureDetail(**dict(zip(COLUMNS, row, strict=True))) for row in rows], batch_size=500
    )


_REPORT_FIELDS = [f for f in Report._meta.concrete_fields if not f.primary_key]
_KEY = ("tenant_id", "organization", "report_id", "start", "end")
_COLUMN_OF = {f.attname: f.column for f in Report._meta.concrete_fields}  # by attname, as _KEY


def reports_insert(rows: Sequence[Report]) -> list[int | None]:
    """Insert unsaved reports, skipping those whose unique key is already stored.

    Returns each row's new id, or None where the report was already there (a duplicate).
    The rows' keys must be distinct.
    """
    if not rows:
        return []
    quote = connection.ops.quote_name
    columns = ", ".join(quote(f.column) for f in _REPORT_FIELDS)
    key_columns = ", ".join(quote(_COLUMN_OF[name]) for name in _KEY)
    prepared = [
        [f.get_db_prep_save(f.pre_save(row, add=True), connection) for f in _REPORT_FIELDS]
        for row in rows
    ]
    ids: dict[tuple, int] = {}
    placeholder = "(" + ", ".join(["%s"] * len(_REPORT_FIELDS)) + ")"
    per_statement = 65535 // len(_REPORT_FIELDS)
    with connection.cursor() as cursor:
        for start in range(0, len(prepared), per_statement):
            chunk = prepared[start : start + per_statement]
            cursor.execute(
                f"INSERT INTO {quote(Report._meta.db_table)} ({columns}) "  # noqa: S608
                f"VALUES {', '.join([placeholder] * len(chunk))} "
                f"ON CONFLICT DO NOTHING RETURNING id, {key_columns}",
                [value for values in chunk for value in values],
            )
            ids.update((_key(key), pk) for pk, *key in cursor.fetchall())
    return [ids.get(_key(getattr(row, name) for name in _KEY)) for row in rows]


def reports_existing(keys: set[tuple]) -> dict[tuple, int]:
    """The ids of stored reports by the unique keys of rows built for ``reports_insert``."""
    if not keys:
        return {}
    rows = Report.objects.filter(
        tenant_id__in={k[0] for k in keys}, report_id__in={k[2] for k in keys}
    ).values_list("pk", *_KEY)
    wanted = {_key(k) for k in keys}
    found = {_key(key): pk for pk, *key in rows if _key(key) in wanted}
    return {k: found[_key(k)] for k in keys if _key(k) in found}


def reports_raw_json(ids: set[int]) -> dict[int, bytes]:
    """Stored reports' JSON as sent, by id: what a duplicate is compared with."""
    if not ids:
        return {}
    rows = Report.objects.filter(pk__in=ids).values_list("pk", "raw_json_gz")
    return {pk: gzip.decompress(bytes(raw)) for pk, raw in rows}


def _key(values: Iterable[object]) -> tuple:
    """A unique key comparable whatever the database gave back: datetimes as naive UTC
    (PostgreSQL returns them aware, SQLite naive in UTC)."""
    return tuple(
        (v.astimezone(UTC) if v.tzinfo else v).replace(tzinfo=None)
        if isinstance(v, datetime)
        else v
        for v in values
    )
