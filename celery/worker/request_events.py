"""The worker's hook for task outcomes, as the main process sees them."""
from __future__ import annotations

import weakref
from typing import TYPE_CHECKING, Any

from celery.utils.dispatch import Signal
from celery.utils.dispatch.signal import NONE_ID

if TYPE_CHECKING:
    from celery.utils.dispatch.signal import LookupKey, Receiver, _Kept
from celery.utils.log import get_logger

__all__ = ('request_event', 'DirectSignal')

logger = get_logger(__name__)


class DirectSignal(Signal):
    """A signal sent several times per task: strong receivers of any sender are called directly.

    :meth:`Signal.send` looks receivers up by sender on every call (about ten
    times the cost of calling one).  Here, while every receiver was connected
    with ``weak=False`` and no ``sender``, the list of callables is kept from
    one send to the next (until a connect or disconnect replaces
    :attr:`receivers`); otherwise :meth:`Signal.send` does the work.
    """

    _direct_for: list[tuple[LookupKey, _Kept]] | None = None
    _direct: tuple[Receiver, ...] | None = None

    def send(self, sender: object, **named: Any) -> list[tuple[Receiver, object]]:
        """Call every receiver; return ``[(receiver, response), ...]``."""
        receivers = self.receivers
        if receivers is not self._direct_for:
            self._direct_for, self._direct = receivers, _direct_callables(receivers)
        direct = self._direct
        if direct is None:
            return super().send(sender, **named)
        responses: list[tuple[Receiver, object]] = []
        for receiver in direct:
            try:
                responses.append((receiver, receiver(signal=self, sender=sender, **named)))
            except Exception as exc:  # a broken receiver must not break the worker
                logger.exception('Signal handler %r raised: %r', receiver, exc)  # noqa: TRY401
                responses.append((receiver, exc))
        return responses


def _direct_callables(receivers: list[tuple[LookupKey, _Kept]]) -> tuple[Receiver, ...] | None:
    """The receivers themselves, or None if one is weak or listens to one sender only."""
    direct: list[Receiver] = []
    for (_, sender_key), ref in receivers:
        if sender_key != NONE_ID or isinstance(ref, weakref.ref):
            return None
        direct.append(ref)
    return tuple(direct)


#: Sent in the worker's main process for every task event a request reports
#: (``task-started``, ``task-succeeded``, ``task-failed``, ``task-retried``,
#: ``task-rejected``, ``task-revoked``), whether or not task events are enabled.
#: With prefork the task signals fire in the pool children; this one does not.
request_event = DirectSignal(name='request_event',
                             providing_args={'request', 'type', 'fields'})
