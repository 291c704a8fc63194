"""`make run`'s banner: the commands it prints act on the database `make run` uses."""

import os
import subprocess
import sys

from tests.conftest import ROOT

# What a fresh terminal has: none of the settings `make run` was started with.
BARE = {k: v for k, v in os.environ.items() if k in {"PATH", "HOME", "LANG", "TMPDIR"}}


def banner(env: dict[str, str]) -> str:
    result = subprocess.run(
        [sys.executable, "bin/run_banner.py"], cwd=ROOT, env={**BARE, **env},
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return result.stdout


def printed(text: str, command: str) -> str:
    return next(line.strip() for line in text.splitlines() if f"manage.py {command}" in line)


def test_the_printed_commands_use_the_database_make_run_was_started_with(tmp_path) -> None:
    started_with = {"DEBUG": "true", "DATABASE_URL": f"sqlite:///{tmp_path / 'run db.sqlite3'}",
                    "VAR_DIR": str(tmp_path / "var")}  # fmt: skip
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "-v", "0"], cwd=ROOT,
        env={**BARE, **started_with}, check=True, capture_output=True,
    )  # fmt: skip
    text = banner(started_with)
    create = printed(text, "createtenant").replace("SLUG", "dev")

    # Pasted into another terminal, where none of those variables is set.
    subprocess.run(["bash", "-c", create], cwd=ROOT, env=BARE, check=True, capture_output=True)

    count = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c",
         "from accounts.models import Tenant; print(Tenant.objects.filter(slug='dev').count())"],
        cwd=ROOT, env={**BARE, **started_with}, check=True, capture_output=True, text=True,
    )  # fmt: skip
    assert count.stdout.strip().splitlines()[-1] == "1"
    assert "four processes" in text and "smtp" in text


def test_secrets_the_commands_do_not_need_are_not_printed() -> None:
    env = {"DEBUG": "true", "SECRET_KEY": "s3cret-one", "EMAIL_URL": "smtp://u:pw@mail:25",
           "FIELD_ENCRYPTION_KEYS": "a2V5", "INBOUND_DOMAIN": "reports.example.net"}  # fmt: skip

    line = printed(banner(env), "ingest")

    assert line.startswith("DEBUG=true INBOUND_DOMAIN=reports.example.net .venv/bin/python ")
    for secret in ("s3cret-one", "pw@mail", "a2V5"):
        assert secret not in line


def test_without_debug_the_commands_carry_the_secret_key() -> None:
    line = printed(banner({"SECRET_KEY": "a key with spaces"}), "adddomain")

    assert line.startswith("SECRET_KEY='a key with spaces' .venv/bin/python manage.py adddomain")
