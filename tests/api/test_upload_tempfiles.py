"""Uploads through the API leave no temporary file behind, accepted or rejected: each is
removed when the response is made, not when the garbage collector gets to it."""

import gc
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from accounts.models import ApiKey, KeyScope
from tests.factories import make_tenant
from tests.reports.mail import report_json

pytestmark = pytest.mark.django_db

URL = "/api/v1/inbound/upload"
BODY = json.dumps(report_json(domain="acme.test")).encode()  # about 700 bytes


@pytest.fixture
def temp_dir(settings: Any, tmp_path: Path) -> Iterator[Path]:
    """Uploads over 100 bytes go to temporary files in a directory of this test's own;
    the garbage collector is off, so only an explicit close removes them."""
    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 100
    settings.FILE_UPLOAD_TEMP_DIR = str(tmp_path)
    gc.collect()
    gc.disable()
    try:
        yield tmp_path
    finally:
        gc.enable()


@pytest.fixture
def writer() -> Client:
    secret = ApiKey.objects.create_key(tenant=make_tenant("acme"), name="w", scope=KeyScope.WRITE)[
        1
    ]
    return Client(HTTP_AUTHORIZATION=f"Bearer {secret}")


def raw(client: Client, body: bytes) -> int:
    response = client.post(
        URL, body, content_type="application/json",
        HTTP_CONTENT_DISPOSITION="attachment; filename=raw.json",
    )  # fmt: skip
    return response.status_code


def multipart(client: Client, body: bytes) -> int:
    return client.post(URL, {"file": SimpleUploadedFile("r.json", body)}).status_code


@pytest.mark.parametrize("send", [raw, multipart])
def test_a_rejected_upload_leaves_no_temporary_file(temp_dir, writer, settings, send) -> None:
    settings.TLSRPT_MAX_MESSAGE_BYTES = 500
    assert send(writer, BODY) == 400  # too large
    assert list(temp_dir.iterdir()) == []


@pytest.mark.parametrize("send", [raw, multipart])
def test_an_accepted_upload_leaves_no_temporary_file(temp_dir, writer, send) -> None:
    assert send(writer, BODY) == 201
    assert list(temp_dir.iterdir()) == []


def test_a_file_under_another_name_is_refused_and_removed(temp_dir, writer) -> None:
    response = writer.post(URL, {"report": SimpleUploadedFile("r.json", BODY)})
    assert response.status_code == 400
    assert response.json()["error"]["fields"]["file"] == ["Send the report as the field 'file'."]
    assert list(temp_dir.iterdir()) == []
