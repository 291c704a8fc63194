"""WSGI entry point for gunicorn.

Loading the application also warms what Django otherwise builds on the first request:
the URL resolver (every urls module and the views they import) and the template engine
(its tag libraries and the base layout). Under gunicorn's --preload (Procfile) this is
done once in the master, before the workers fork, so no visitor waits for it.

Then every object loaded so far is frozen out of the garbage collector's reach
(``gc.freeze``): they live as long as the process, and without it each full collection
walked them all again, adding about 90 ms to one request in twenty of a page that builds
many objects (the dashboard benchmark's overview). Frozen before the fork, their pages
also stay shared between the workers.
"""

import gc
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tlsrpt_saas.settings")
application = get_wsgi_application()


def _warm() -> None:
    # Imported here, once the application is loaded: they read the settings.
    from django.template.loader import get_template

    # Likewise: the resolver imports every urls module and its views.
    from django.urls import get_resolver

    get_resolver().url_patterns  # noqa: B018 (imports every urls module and its views)
    for name in ("base.html", "account/login.html"):
        get_template(name)


_warm()
gc.freeze()
