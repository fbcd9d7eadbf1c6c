"""Consumer step: sync revoked ids and clocks with other workers at start-up."""
from __future__ import annotations

import threading
from typing import Any

from celery import bootsteps
from celery.utils.log import get_logger
from celery.worker.consumer.events import Events
from celery.worker.state import revoked

__all__ = ('Mingle',)

logger = get_logger(__name__)

#: Transports with broadcast support.
COMPATIBLE_TRANSPORTS = {'amqp', 'redis'}


class Mingle(bootsteps.StartStopStep):
    """Ask other workers (``hello``) for their revoked ids and logical clock.

    The exchange runs in a background thread so start-up does not wait for
    the one-second reply window; replies are merged in the consumer thread.
    """

    label = 'Mingle'
    requires = (Events,)

    def __init__(self, c: Any, without_mingle: bool = False, **kwargs: Any) -> None:
        self.enabled = not without_mingle and self.compatible_transport(c.app)
        super().__init__(c, without_mingle=without_mingle, **kwargs)

    def compatible_transport(self, app: Any) -> bool:
        """Whether the broker transport supports broadcast."""
        with app.connection_for_read() as conn:
            return conn.transport.driver_type in COMPATIBLE_TRANSPORTS

    def start(self, c: Any) -> None:
        if c.restart_count > 0:
            return
        threading.Thread(target=self.sync, args=(c,), name='mingle', daemon=True).start()

    def sync(self, c: Any) -> None:
        """Send ``hello`` and merge every reply."""
        try:
            replies = self.send_hello(c)
        except Exception as exc:  # noqa: BLE001 - mingle is best effort
            logger.warning('mingle: could not sync with other workers: %r', exc)
            return
        if replies:
            logger.info('mingle: sync with %s nodes', len(replies))
            c.call_soon(self.on_node_replies, c, replies)
        else:
            logger.info('mingle: all alone')

    def send_hello(self, c: Any) -> dict[str, Any]:
        """Broadcast ``hello`` and return the replies by node name."""
        # A connection of its own, closed after: a pooled one would go back
        # to the pool with a reply poll still pending on Redis, and a pool
        # child forked later would hang closing it.
        with c.app.connection_for_write() as connection:
            inspect = c.app.control.inspect(timeout=1.0, connection=connection)
            our_revoked = getattr(revoked, '_data', revoked)
            replies = inspect.hello(c.hostname, our_revoked) or {}
        replies.pop(c.hostname, None)
        return replies

    def on_node_replies(self, c: Any, replies: dict[str, Any]) -> None:
        """Merge the clock and revoked ids of each node."""
        for nodename, reply in replies.items():
            try:
                if reply.get('clock'):
                    c.app.clock.adjust(reply['clock'])
                if reply.get('revoked'):
                    revoked.update(reply['revoked'])
            except Exception as exc:  # noqa: BLE001 - one bad reply must not stop start-up
                logger.warning('mingle: bad reply from %s: %r', nodename, exc)
