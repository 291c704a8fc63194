"""Start-up (issue 18: "the first request after start takes 10 s"): what the first request
used to build is built when the application loads, once, before gunicorn forks."""

import os
import subprocess
import sys

from django.conf import settings

PROBE = """
import tlsrpt_saas.wsgi  # what gunicorn loads
from django.template import engines
from django.urls import get_resolver

loader = engines["django"].engine.template_loaders[0]
print(get_resolver()._populated, sorted(k for k in loader.get_template_cache if k == "base.html"))
"""


def test_loading_the_wsgi_application_warms_urls_and_templates() -> None:
    env = {**os.environ, "PYTHONPATH": str(settings.BASE_DIR)}
    done = subprocess.run(
        [sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, check=True,
        cwd=settings.BASE_DIR,
    )  # fmt: skip
    assert done.stdout.split("\n")[-2] == "True ['base.html']", done.stderr[-2000:]


def test_gunicorn_preloads_the_app_and_installs_compile_bytecode() -> None:
    root = settings.BASE_DIR
    web = next(
        line for line in (root / "Procfile").read_text().splitlines() if line.startswith("web:")
    )
    assert "--preload" in web.split()
    assert '"--preload"' in (root / "docker" / "Dockerfile").read_text()
    assert "uv sync --frozen --compile-bytecode" in (root / "Makefile").read_text()
