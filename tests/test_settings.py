"""Settings: with nothing configured the project runs on SQLite and a serverless broker."""

import json
import os
import re
import subprocess
import sys

import pytest
from django.db import connection

from tests.conftest import ROOT

PROBE = (
    "import json, django; from django.conf import settings; django.setup();"
    "print(json.dumps({'db': settings.DATABASES['default']['ENGINE'],"
    "'broker': settings.CELERY_BROKER_URL, 'email': settings.EMAIL_BACKEND,"
    "'debug': settings.DEBUG}))"
)


# Queues a task on the default broker, as a management command does (adddomain, ingest).
QUEUE_PROBE = (
    "import django; django.setup(); from tlsrpt_saas.celery import app;"
    "conn = app.connection_for_write(); conn.ensure_connection(); conn.release()"
)


def _settings_with(env: dict[str, str], probe: str = PROBE) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.endswith("_URL") and k not in {
        "SECRET_KEY", "DEBUG"}}  # fmt: skip
    clean["DJANGO_SETTINGS_MODULE"] = "tlsrpt_saas.settings"
    return subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, env={**clean, **env},
        capture_output=True, text=True, check=False,
    )  # fmt: skip


def test_with_nothing_set_but_debug_it_uses_sqlite_filesystem_broker_and_console_mail() -> None:
    result = _settings_with({"DEBUG": "true"})

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {
        "db": "django.db.backends.sqlite3",
        "broker": "filesystem://localhost/",
        "email": "django.core.mail.backends.console.EmailBackend",
        "debug": True,
    }


def test_the_default_broker_says_nothing_to_a_newcomer(tmp_path) -> None:
    """kombu warned "No hostname was supplied" on every command of the README's walk."""
    result = _settings_with({"DEBUG": "true", "VAR_DIR": str(tmp_path)}, QUEUE_PROBE)

    assert result.returncode == 0, result.stderr
    assert result.stderr == ""


def test_without_debug_a_secret_key_is_required() -> None:
    result = _settings_with({})

    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


# Each boolean variable settings.py reads, and the setting that shows its value.
BOOLEANS = {
    "DEBUG": "DEBUG",
    "SECURE_COOKIES": "SESSION_COOKIE_SECURE",
    "SECURE_SSL_REDIRECT": "SECURE_SSL_REDIRECT",
    "INBOUND_SMTP_LMTP": "INBOUND_SMTP_LMTP",
    "TLSRPT_VERIFY_DKIM": "TLSRPT_VERIFY_DKIM",
    "CELERY_TASK_ALWAYS_EAGER": "CELERY_TASK_ALWAYS_EAGER",
    "HOSTED_MTA_STS": "HOSTED_MTA_STS",
    "WEBHOOKS_ALLOW_HTTP": "WEBHOOKS_ALLOW_HTTP",
}
BOOLEAN_PROBE = (
    "import json, django; from django.conf import settings; django.setup();"
    f"print(json.dumps({{name: getattr(settings, name) for name in {list(BOOLEANS.values())}}}))"
)


def test_every_boolean_setting_is_read_strictly() -> None:
    text = (ROOT / "tlsrpt_saas" / "settings.py").read_text()

    assert set(re.findall(r"\benv_bool\(\"(\w+)\"", text)) == set(BOOLEANS)
    assert "env.bool(" not in text


@pytest.mark.parametrize("name", sorted(BOOLEANS))
def test_a_misspelt_boolean_stops_start_up_naming_the_variable(name: str) -> None:
    result = _settings_with({"SECRET_KEY": "x" * 50, name: "ture"}, BOOLEAN_PROBE)

    assert result.returncode != 0
    assert f"ImproperlyConfigured: {name}='ture' is not a boolean" in result.stderr


@pytest.mark.parametrize(
    ("spelling", "value"),
    [("true", True), ("FALSE", False), ("1", True), ("0", False),
     ("Yes", True), ("no", False), ("ON", True), ("off", False)],
)  # fmt: skip
def test_each_accepted_spelling_of_a_boolean_starts_with_its_value(
    spelling: str, value: bool
) -> None:
    env = {"SECRET_KEY": "x" * 50} | dict.fromkeys(BOOLEANS, spelling)
    result = _settings_with(env, BOOLEAN_PROBE)

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == dict.fromkeys(BOOLEANS.values(), value)


def test_an_empty_boolean_means_its_default() -> None:
    env = {"SECRET_KEY": "x" * 50, "SITE_URL": "https://tlsrpt.example.com"}
    result = _settings_with(env | dict.fromkeys(BOOLEANS, ""), BOOLEAN_PROBE)

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {
        "DEBUG": False, "SESSION_COOKIE_SECURE": True, "SECURE_SSL_REDIRECT": True,
        "INBOUND_SMTP_LMTP": False, "TLSRPT_VERIFY_DKIM": True, "CELERY_TASK_ALWAYS_EAGER": False,
        "HOSTED_MTA_STS": True, "WEBHOOKS_ALLOW_HTTP": False,
    }  # fmt: skip


def _env_example() -> dict[str, str]:
    """The variables docker/.env.example sets, as shipped."""
    lines = (ROOT / "docker" / ".env.example").read_text().splitlines()
    pairs = (line.split("=", 1) for line in lines if line and not line.startswith("#"))
    return dict(pairs)


def _example_secret_key() -> str:
    return _env_example()["SECRET_KEY"]


HOST_PROBE = (
    "import json, django; from django.conf import settings; django.setup();"
    "from django.http.request import validate_host;"
    "print(json.dumps({'site': settings.SITE_URL, 'hosts': [h for h in"
    " ('127.0.0.1', 'localhost') if validate_host(h, settings.ALLOWED_HOSTS)],"
    "'keys': settings.FIELD_ENCRYPTION_KEYS}))"
)


def test_the_shipped_docker_env_answers_the_readme_address() -> None:
    """docker compose up with .env.example (and a real SECRET_KEY): 127.0.0.1:8000 works."""
    env = {**_env_example(), "SECRET_KEY": "k3Jq9-a-real-secret-key-with-enough-entropy-8f2Lm0pQ"}
    env["ALLOWED_HOSTS"] += ",localhost"  # as compose.yaml passes it
    clean = {k: v for k, v in os.environ.items() if not k.endswith("_URL") and k != "DEBUG"}
    result = subprocess.run(
        [sys.executable, "-c", HOST_PROBE], cwd=ROOT,
        env={**clean, **env, "DJANGO_SETTINGS_MODULE": "tlsrpt_saas.settings"},
        capture_output=True, text=True, check=False,
    )  # fmt: skip

    assert result.returncode == 0, result.stderr
    readme = (ROOT / "README.md").read_text()
    docker = readme[readme.index("## Docker") :]
    values = json.loads(result.stdout)
    assert values["site"] == "http://127.0.0.1:8000" and values["site"] in docker
    assert values["hosts"] == ["127.0.0.1", "localhost"]
    assert values["keys"] == []  # documented, empty until set: derived from SECRET_KEY
    assert "FIELD_ENCRYPTION_KEYS" in _env_example() and "SMTP_PUBLISH" in _env_example()


def test_without_debug_the_shipped_placeholder_secret_key_is_refused() -> None:
    result = _settings_with({"SECRET_KEY": _example_secret_key()})

    assert result.returncode != 0
    assert "SECRET_KEY is still a placeholder" in result.stderr


def test_with_debug_the_placeholder_secret_key_is_accepted() -> None:
    result = _settings_with({"SECRET_KEY": _example_secret_key(), "DEBUG": "true"})

    assert result.returncode == 0, result.stderr


def test_with_database_and_redis_urls_it_uses_postgresql_and_redis() -> None:
    result = _settings_with({
        "SECRET_KEY": "x" * 50,
        "DATABASE_URL": "postgres://u@db.internal:5432/tlsrpt",
        "REDIS_URL": "redis://cache.internal:6379/0",
    })  # fmt: skip

    assert result.returncode == 0, result.stderr
    values = json.loads(result.stdout)
    assert values["db"] == "django.db.backends.postgresql"
    assert values["broker"] == "redis://cache.internal:6379/0"


def test_production_settings_pass_the_deploy_checks() -> None:
    unset = {"DEBUG", "SITE_URL", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    clean = {k: v for k, v in os.environ.items() if k not in unset}
    env = {
        **clean,
        "SECRET_KEY": "k3Jq9-production-like-secret-key-with-enough-entropy-8f2Lm0pQ",
        "SITE_URL": "https://tlsrpt.example.com",
        "ALLOWED_HOSTS": "tlsrpt.example.com",
    }

    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT, env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip

    assert result.returncode == 0, result.stdout + result.stderr


def test_production_static_files_collect(tmp_path) -> None:
    """The Docker image runs this at build time with the hashed, compressed storage."""
    unset = {"DEBUG", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    env = {k: v for k, v in os.environ.items() if k not in unset}
    env |= {"SECRET_KEY": "collectstatic-only", "STATIC_ROOT": str(tmp_path / "static")}
    result = subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v", "0"],
        cwd=ROOT, env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    assert (tmp_path / "static" / "staticfiles.json").exists()


STORE = """
import json
from accounts.models import Tenant
from reports.inbound.store import inbound_store
from tests.reports.mail import report_json
tenant = Tenant.objects.get(slug="dev")
for _ in range(150):
    raw = json.dumps(report_json(domain="example.org")).encode()
    inbound_store(tenant=tenant, channel="upload", raw=raw, queue=False)
"""
DRAIN = (
    "from reports.ingest.messages import backlog_drain;"
    " backlog_drain(seconds=60, wake=lambda: None)"
)
COUNT = """
import json
from collections import Counter
from django_scopes import scopes_disabled
from reports.models import InboundMessage
with scopes_disabled():
    rows = InboundMessage.objects.values_list("status", "attempts")
print(json.dumps(Counter(f"{status}/{attempts}" for status, attempts in rows)))
"""


def test_the_sqlite_default_takes_concurrent_writers_without_lock_errors(tmp_path) -> None:
    """make run's default: drains in three processes at once share one SQLite file."""
    env = {**os.environ, "DEBUG": "true", "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
           "CELERY_BROKER_URL": "filesystem://", "INGEST_BATCH_SIZE": "10",
           # Tasks queued here (adddomain's health check) stay out of the repository's var/.
           "VAR_DIR": str(tmp_path / "var")}  # fmt: skip
    env.pop("REDIS_URL", None)

    def manage(*args: str) -> subprocess.Popen:
        return subprocess.Popen(
            [sys.executable, "manage.py", *args], cwd=ROOT, env=env,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip

    def run(*args: str) -> str:
        process = manage(*args)
        out, err = process.communicate(timeout=120)
        assert process.returncode == 0, err
        return out

    run("migrate", "-v", "0")
    run("createtenant", "dev", "--owner", "dev@example.org")
    run("adddomain", "dev", "example.org", "--verified")
    run("shell", "-c", STORE)

    drains = [manage("shell", "-c", DRAIN) for _ in range(3)]

    errors = [err for out, err in (d.communicate(timeout=120) for d in drains) if "Error" in err]
    assert errors == []
    assert all(d.returncode == 0 for d in drains)
    counts = json.loads(run("shell", "-c", COUNT).strip().splitlines()[-1])
    assert counts == {"processed/1": 150}


JIT_PROBE = (
    "import json, django; from django.conf import settings; django.setup();"
    "print(json.dumps(settings.DATABASES['default'].get('OPTIONS', {})))"
)


def test_postgresql_connections_ask_for_no_jit_keeping_options_of_their_own() -> None:
    """A join through monthly partitions is costed for every month: JIT compilation
    then took longer than the query."""
    plain = _settings_with(
        {"DEBUG": "true", "DATABASE_URL": "postgres://u@127.0.0.1:5432/x"}, JIT_PROBE
    )
    own = _settings_with(
        {
            "DEBUG": "true",
            "DATABASE_URL": "postgres://u@127.0.0.1:5432/x?options=-c%20work_mem%3D64MB",
        },
        JIT_PROBE,
    )

    assert plain.returncode == 0, plain.stderr
    assert json.loads(plain.stdout)["options"] == "-c jit=off"
    assert own.returncode == 0, own.stderr
    assert json.loads(own.stdout)["options"] == "-c work_mem=64MB -c jit=off"


@pytest.mark.postgresql_only(reason="JIT compilation is PostgreSQL's")
@pytest.mark.django_db
def test_the_database_connection_runs_without_jit() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SHOW jit")
        assert cursor.fetchone() == ("off",)
