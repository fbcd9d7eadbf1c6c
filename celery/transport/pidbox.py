"""Broadcasting a remote-control command through a kombu mailbox.

Extends :class:`kombu.pidbox.Mailbox`: its public calls (``call``,
``multi_call``, ``cast``, ``abcast``) all go through one private method,
``_broadcast``, which alone takes a reply limit together with destinations
and the ``pattern``/``matcher`` pair that Celery's ``broadcast()`` offers.
It is called here and nowhere else; where an untested kombu lacks it the
public calls stand in (without ``pattern``/``matcher``).
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from celery.exceptions import ImproperlyConfigured

if TYPE_CHECKING:
    from kombu.pidbox import Mailbox

__all__ = ('broadcast',)


def broadcast(mailbox: Mailbox, command: str, arguments: dict[str, Any],
              destination: Sequence[str] | None, reply: bool, timeout: float,
              limit: int | None, callback: Callable[..., Any] | None, channel: Any = None,
              pattern: str | None = None, matcher: str | None = None) -> Any:
    """Send ``command`` to ``destination`` (every node if None); the replies if ``reply``."""
    private = getattr(mailbox, '_broadcast', None)
    if private is not None:
        if pattern and matcher:
            return private(command, arguments, None, reply, timeout, limit, callback,
                           channel=channel, pattern=pattern, matcher=matcher)
        return private(command, arguments, destination, reply, timeout, limit, callback,
                       channel=channel)
    if pattern and matcher:
        raise ImproperlyConfigured('This kombu cannot broadcast to a pattern of node names')
    if not reply:
        if destination:
            return mailbox.cast(list(destination), command, arguments)
        return mailbox.abcast(command, arguments)
    if destination:
        return mailbox.call(list(destination), command, arguments, timeout=timeout,
                            callback=callback, channel=channel)
    return mailbox.multi_call(command, arguments, timeout=timeout, limit=limit,
                              callback=callback, channel=channel)
