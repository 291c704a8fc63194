"""Print `make run`'s banner: where to sign up, and commands to try from another terminal.

The commands carry the settings `make run` got from its environment (the command line,
or the `.env` file honcho loads), so that in another terminal they act on the same
database and broker, not on the SQLite default. Secrets the commands do not need are
left out. `make run` runs this under `honcho run`, which loads `.env` as `honcho start`
does for the processes.
"""

import os
import shlex
import sys
from collections.abc import Mapping
from pathlib import Path

# Imported by its path from the repository's root, as mypy and the benchmarks name modules.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bin.check_settings_documented import ROOT, settings_variables

# Read by settings, but not needed by createtenant, adddomain and ingest: not printed.
NOT_NEEDED = {"FIELD_ENCRYPTION_KEYS", "EMAIL_URL"}
# What settings.env_bool reads as true (anything else but its false words is refused).
TRUE = {"true", "1", "yes", "on"}


def command_prefix(environ: Mapping[str, str]) -> str:
    """`NAME=value ... .venv/bin/python manage.py` with the settings set in ``environ``."""
    names = settings_variables((ROOT / "tlsrpt_saas" / "settings.py").read_text())
    names -= NOT_NEEDED
    if environ.get("DEBUG", "").lower() in TRUE:
        names.discard("SECRET_KEY")  # DEBUG gives the commands a development key
    ordered = sorted(names, key=lambda name: (name != "DEBUG", name))
    pairs = [f"{name}={shlex.quote(environ[name])}" for name in ordered if name in environ]
    return " ".join([*pairs, ".venv/bin/python manage.py"])


def banner(environ: Mapping[str, str]) -> str:
    site = environ.get("SITE_URL") or "http://127.0.0.1:8000"
    smtp = f"{environ.get('INBOUND_SMTP_HOST') or '127.0.0.1'}:"
    smtp += environ.get("INBOUND_SMTP_PORT") or "2525"
    m = command_prefix(environ)
    return f"""
==> Open {site}/accounts/signup/ and sign up. Ctrl-C stops the four processes below:
    web (gunicorn: the pages, the API, the HTTPS report door), worker (Celery: processes
    reports, DNS checks, mail), beat (Celery beat: the periodic jobs) and smtp (the SMTP
    report door on {smtp}).
    The verification email is printed below: open its link to confirm your address.
    Or from another terminal (same settings as here): create a tenant, add a domain,
    feed it reports:
      {m} createtenant SLUG --owner you@example.com
      {m} adddomain SLUG example.com --verified
      {m} ingest --tenant SLUG path/to/report.eml
"""


if __name__ == "__main__":
    sys.stdout.write(banner(os.environ))
