"""The self-test's servers: the real SMTP door (and gunicorn for the HTTPS door) of
tests/inbound, with the self-test pointed at them."""

import pytest

from tests.inbound.conftest import gunicorn_server, smtp_server

__all__ = ["gunicorn_server", "smtp_server"]


@pytest.fixture
def door(smtp_server: tuple[str, int], settings) -> tuple[str, int]:
    """The SMTP door, where the self-test sends its report."""
    settings.SELF_TEST_SMTP_HOST, settings.SELF_TEST_SMTP_PORT = smtp_server
    settings.INBOUND_SMTP_LMTP = False
    return smtp_server
