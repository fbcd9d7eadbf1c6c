"""Built-in task states and their precedence.

A state compares by precedence: ``state('SUCCESS') > state('PENDING')``.
Unknown (custom) states rank below SUCCESS and FAILURE but above REVOKED.
"""
from __future__ import annotations

__all__ = (
    'PENDING', 'RECEIVED', 'STARTED', 'SUCCESS', 'FAILURE',
    'REVOKED', 'RETRY', 'IGNORED', 'READY_STATES', 'UNREADY_STATES',
    'EXCEPTION_STATES', 'PROPAGATE_STATES', 'precedence', 'state',
)

#: Task state is unknown (assumed pending since you know the id).
PENDING = 'PENDING'
#: Task was received by a worker (only used in events).
RECEIVED = 'RECEIVED'
#: Task was started by a worker (:setting:`task_track_started`).
STARTED = 'STARTED'
#: Task succeeded.
SUCCESS = 'SUCCESS'
#: Task failed.
FAILURE = 'FAILURE'
#: Task was revoked.
REVOKED = 'REVOKED'
#: Task was rejected (only used in events).
REJECTED = 'REJECTED'
#: Task is waiting for retry.
RETRY = 'RETRY'
#: Task raised :exc:`~celery.exceptions.Ignore`: no state is stored.
IGNORED = 'IGNORED'

#: State precedence, highest first; ``None`` stands for any unknown state.
PRECEDENCE = [
    SUCCESS, FAILURE, None, REVOKED, STARTED, RECEIVED, REJECTED, RETRY, PENDING,
]

#: Hash lookup of ``PRECEDENCE`` to index.
PRECEDENCE_LOOKUP = {state: index for index, state in enumerate(PRECEDENCE)}
NONE_PRECEDENCE = PRECEDENCE_LOOKUP[None]

READY_STATES = frozenset({SUCCESS, FAILURE, REVOKED})
UNREADY_STATES = frozenset({PENDING, RECEIVED, STARTED, REJECTED, RETRY})
EXCEPTION_STATES = frozenset({RETRY, FAILURE, REVOKED})
PROPAGATE_STATES = frozenset({FAILURE, REVOKED})

ALL_STATES = frozenset({PENDING, RECEIVED, STARTED, SUCCESS, FAILURE, RETRY, REVOKED})


def precedence(state: str | None) -> int:
    """Get the precedence index for ``state``: lower index means higher precedence."""
    try:
        return PRECEDENCE_LOOKUP[state]
    except KeyError:
        return NONE_PRECEDENCE


class state(str):
    """Task state: a string whose comparisons follow state precedence."""

    def __gt__(self, other: object) -> bool:
        return precedence(self) < precedence(other)  # type: ignore[arg-type]

    def __ge__(self, other: object) -> bool:
        return precedence(self) <= precedence(other)  # type: ignore[arg-type]

    def __lt__(self, other: object) -> bool:
        return precedence(self) > precedence(other)  # type: ignore[arg-type]

    def __le__(self, other: object) -> bool:
        return precedence(self) >= precedence(other)  # type: ignore[arg-type]

    __hash__ = str.__hash__
