"""The API's cursor pagination: 50 a page by default, ``page_size`` up to 500; each list
names its ordering (newest first, with the id to break ties)."""

from rest_framework.pagination import CursorPagination


class ApiCursor(CursorPagination):
    page_size = 50
    max_page_size = 500
    page_size_query_param = "page_size"
