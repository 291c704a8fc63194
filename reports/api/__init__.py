"""The REST API of reports (under /api/v1/, with accounts' and domains')."""
