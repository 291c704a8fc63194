"""Writing many failure-detail rows at once: COPY on PostgreSQL, bulk_create elsewhere.

A large report carries thousands of failure details; building a model instance for each
and compiling a multi-row INSERT cost more than the database's own work. COPY takes
plain tuples straight from the parsed report.
"""

from collections.abc import Sequence

from django.db import connection

from reports.models import FailureDetail

COLUMNS = (
    "tenant_id", "policy_id", "result_type", "sending_mta_ip", "receiving_mx_hostname",
    "receiving_mx_helo", "receiving_ip", "failed_session_count", "additional_information",
    "failure_reason_code",
)  # fmt: skip
_COPY_SQL = f"COPY {FailureDetail._meta.db_table} ({', '.join(COLUMNS)}) FROM STDIN"


def failure_details_insert(rows: Sequence[tuple]) -> None:
    """Insert rows of ``COLUMNS`` inside the caller's transaction."""
    if not rows:
        return
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor, cursor.cursor.copy(_COPY_SQL) as copy:
            for row in rows:
                copy.write_row(row)
        return
    FailureDetail.objects.bulk_create(
        [FailureDetail(**dict(zip(COLUMNS, row, strict=True))) for row in rows], batch_size=500
    )
