"""Queueing a Celery task by its name, once the caller's transaction commits.

How services start background work: they name the task (a string, as the beat schedule
and the routes do) rather than import it, so a service never imports the tasks that
call it and no import cycle runs through a function-level import. The task is looked up
in the Celery app when queued; a task module the process has not imported yet (the web
server imports none) is imported then, as the worker's autodiscovery would.
"""

from typing import Any

from celery import Task
from django.db import transaction

from tlsrpt_saas.celery import app


def task_named(name: str) -> Task:
    """The registered task ``name``; KeyError if no task module defines it."""
    if name not in app.tasks:
        app.loader.import_default_modules()
    return app.tasks[name]


def task_queue(name: str, *args: Any) -> None:
    """Queue ``name`` with ``args`` now (the caller has committed, or holds no transaction)."""
    task_named(name).delay(*args)


def task_queue_on_commit(name: str, *args: Any) -> None:
    """Queue ``name`` with ``args`` once the current transaction commits (now, outside one)."""
    task_named(name)  # a misspelt name fails here, in the caller, not after the commit
    transaction.on_commit(lambda: task_queue(name, *args))
