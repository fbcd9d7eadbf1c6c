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

# Celery's state names, kept for compatibility.
#: No worker has reported on the task yet; an id nobody knows reads as this too.
PENDING = 'PENDING'
#: A worker has taken the message (reported in events only).
RECEIVED = 'RECEIVED'
#: A worker began running it (stored only with :setting:`task_track_started`).
STARTED = 'STARTED'
#: It returned a value.
SUCCESS = 'SUCCESS'
#: It raised an error.
FAILURE = 'FAILURE'
#: It was revoked before (or while) running.
REVOKED = 'REVOKED'
#: Its message was rejected (reported in events only).
REJECTED = 'REJECTED'
#: It raised :exc:`~celery.exceptions.Retry` and will run again.
RETRY = 'RETRY'
#: It raised :exc:`~celery.exceptions.Ignore`: nothing is stored.
IGNORED = 'IGNORED'

#: States by precedence, highest first; ``None`` marks where unknown states rank.
PRECEDENCE = [
    SUCCESS, FAILURE, None, REVOKED, STARTED, RECEIVED, REJECTED, RETRY, PENDING,
]

#: ``PRECEDENCE`` as a mapping from state to its index.
PRECEDENCE_LOOKUP = {state: index for index, state in enumerate(PRECEDENCE)}
NONE_PRECEDENCE = PRECEDENCE_LOOKUP[None]

READY_STATES = frozenset({SUCCESS, FAILURE, REVOKED})
UNREADY_STATES = frozenset({PENDING, RECEIVED, STARTED, REJECTED, RETRY})
EXCEPTION_STATES = frozenset({RETRY, FAILURE, REVOKED})
PROPAGATE_STATES = frozenset({FAILURE, REVOKED})

ALL_STATES = frozenset({PENDING, RECEIVED, STARTED, SUCCESS, FAILURE, RETRY, REVOKED})


def precedence(state: str | None) -> int:
    """Index of ``state`` in :data:`PRECEDENCE` (lower ranks higher); unknown ones rank as None."""
    return PRECEDENCE_LOOKUP.get(state, NONE_PRECEDENCE)


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
