"""Guards against joining results where that would deadlock a worker."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from celery._state import _set_task_join_will_block, task_join_will_block

__all__ = ('assert_will_not_block', 'allow_join_result', 'denied_join_result', 'E_WOULDBLOCK')

E_WOULDBLOCK = """\
Never call result.get() within a task!
See https://docs.celeryq.dev/en/latest/userguide/tasks.html\
#avoid-launching-synchronous-subtasks
"""


def assert_will_not_block() -> None:
    """Raise :exc:`RuntimeError` when joining here would block a worker."""
    if task_join_will_block():
        raise RuntimeError(E_WOULDBLOCK)


@contextmanager
def allow_join_result() -> Iterator[None]:
    """Allow ``result.get()`` inside a task (at your own risk of deadlock)."""
    previous = task_join_will_block()
    _set_task_join_will_block(False)
    try:
        yield
    finally:
        _set_task_join_will_block(previous)


@contextmanager
def denied_join_result() -> Iterator[None]:
    """Forbid ``result.get()`` in this block."""
    previous = task_join_will_block()
    _set_task_join_will_block(True)
    try:
        yield
    finally:
        _set_task_join_will_block(previous)
