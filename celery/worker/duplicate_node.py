"""Refuse to run a worker under a node name another running worker already uses."""
from __future__ import annotations

from typing import TYPE_CHECKING, NoReturn

from celery.exceptions import WorkerTerminate
from celery.platforms import EX_FAILURE
from celery.utils.log import get_logger
from celery.worker import state as worker_state

if TYPE_CHECKING:
    from celery.app.base import Celery

__all__ = ('DUPLICATE_NODE', 'is_resource_locked', 'node_answers', 'refuse_duplicate',
           'stop_for_duplicate')

logger = get_logger(__name__)

#: AMQP reply code of a queue held exclusively by another connection.
RESOURCE_LOCKED = 405

DUPLICATE_NODE = (
    'A worker with the node name %s is already running.  Two workers with one '
    'name cannot be told apart by control commands, replies or events: stop '
    'the other worker, or give each worker a unique node name with -n '
    '(for example -n worker2@%%h).')


def is_resource_locked(exc: BaseException) -> bool:
    """Whether ``exc`` is the broker refusing a queue held exclusively elsewhere."""
    return getattr(exc, 'code', None) == RESOURCE_LOCKED


def node_answers(app: Celery, hostname: str, timeout: float = 1.0) -> bool:
    """Whether a running worker named ``hostname`` answers a ping."""
    try:
        replies = app.control.ping(destination=[hostname], timeout=timeout) or []
    except Exception as exc:  # noqa: BLE001 - unknown: let the caller retry as before
        logger.debug('Could not ping %s: %r', hostname, exc)
        return False
    return any(hostname in reply for reply in replies)


def refuse_duplicate(hostname: str) -> NoReturn:
    """Log why and end the worker now (while starting up)."""
    logger.critical(DUPLICATE_NODE, hostname)
    raise WorkerTerminate(EX_FAILURE)


def stop_for_duplicate(hostname: str) -> None:
    """Log why and have the worker's loop end it (from a callback or thread)."""
    logger.critical(DUPLICATE_NODE, hostname)
    worker_state.should_terminate = EX_FAILURE
