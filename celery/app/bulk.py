"""Publishing many task messages at once: ``with pipelined(producer): ...``."""
from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext
from typing import Any

from kombu import Producer

__all__ = ('pipelined', 'BATCH_SIZE')

#: Messages kept before a batch is written out on its own.
BATCH_SIZE = 1000


def pipelined(producer: Any, max_size: int = BATCH_SIZE) -> AbstractContextManager:
    """Context in which ``producer``'s publishes are written to the broker in batches.

    The messages are the same as when published one by one; they reach the
    broker at the latest when the context exits (an error inside it drops
    those not written yet).  A transport or producer that cannot batch
    publishes each message at once.
    """
    if not isinstance(producer, Producer) or not producer.supports_batch_publish:
        return nullcontext(producer)
    return producer.batch(max_size)
