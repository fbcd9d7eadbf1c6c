"""Consumer step: sync revoked ids and clocks with other workers at start-up."""
from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from kombu import Consumer, Producer
from kombu.utils.uuid import uuid

from celery import bootsteps
from celery.utils.log import get_logger
from celery.worker.duplicate_node import stop_for_duplicate
from celery.worker.consumer.events import Events
from celery.worker.state import revoked

if TYPE_CHECKING:
    from collections.abc import Callable

    from kombu.message import Message
    from kombu.transport.virtual import Channel

    from celery.app.base import Celery
    from celery.worker.consumer.consumer import Consumer as WorkerConsumer

    #: The other nodes' ``hello`` replies, by node name.
    Replies = dict[str, Any]

__all__ = ('Mingle',)

logger = get_logger(__name__)

#: Transports with broadcast support.
COMPATIBLE_TRANSPORTS = {'amqp', 'redis'}

_NO_REPLY = object()

#: Seconds to wait for the other workers' replies.
REPLY_WINDOW = 1.0


class Mingle(bootsteps.StartStopStep):
    """Ask other workers (``hello``) for their revoked ids and logical clock.

    Start-up does not wait for the reply window: with an event loop the
    exchange runs in it, on a channel of the consumer's connection; without
    one it runs in a background thread with a connection of its own.
    """

    label = 'Mingle'
    requires = (Events,)

    def __init__(self, c: WorkerConsumer, without_mingle: bool = False, **kwargs: Any) -> None:
        self.enabled = not without_mingle and self.compatible_transport(c.app)
        super().__init__(c, without_mingle=without_mingle, **kwargs)

    def compatible_transport(self, app: Celery) -> bool:
        """Whether the broker transport supports broadcast."""
        with app.connection_for_read() as conn:
            return bool(conn.transport.driver_type in COMPATIBLE_TRANSPORTS)

    def start(self, c: WorkerConsumer) -> None:
        if c.restart_count > 0:
            # Reconnected before the replies came: be ready without them.
            self._release_ready(c)
            return
        logger.info('mingle: searching for neighbors')
        self._hold_ready(c)
        if c.hub is not None:
            self.hello_in_loop(c)
        else:
            threading.Thread(target=self.sync, args=(c,), name='mingle', daemon=True).start()

    def hello_in_loop(self, c: WorkerConsumer) -> None:
        """Broadcast ``hello`` on the consumer's connection; merge the replies after the window."""
        mailbox = c.app.control.mailbox(c.connection)
        ticket = uuid()
        replies: Replies = {}

        def on_reply(body: object, message: Message) -> None:
            if message.headers.get('ticket') != ticket:
                return  # a reply to another request of this process
            if isinstance(body, dict):
                replies.update(body)
            else:
                logger.warning('mingle: ignored a reply that is not a mapping of node '
                               'names to replies: %r', body)

        channel: Channel | None = None
        consumer: Consumer | None = None
        try:
            assert c.connection is not None  # the Connection step runs first
            channel = c.connection.channel()
            consumer = Consumer(channel, [mailbox.reply_queue], accept=mailbox.accept,
                                no_ack=True, callbacks=[on_reply])
            consumer.consume()
            # kombu's Mailbox can only broadcast-and-wait in public: send
            # here, collect from the loop.
            mailbox._publish('hello', self._hello_arguments(c), reply_ticket=ticket,
                             channel=channel, timeout=REPLY_WINDOW, producer=Producer(channel))
        except Exception as exc:  # noqa: BLE001 - mingle is best effort
            logger.warning('mingle: could not sync with other workers: %r', exc)
            self._close(c, consumer, channel)
            self._release_ready(c)
            return

        def collect() -> None:
            self._close(c, consumer, channel)
            if self._drop_own_reply(c, replies):
                stop_for_duplicate(c.hostname)
                return
            self.on_replies(c, replies)
        if c.hub is not None:
            c.hub.call_later(REPLY_WINDOW, collect)

    def _hold_ready(self, c: WorkerConsumer) -> None:
        """Keep the worker's ready callback ("ready.") until mingle is done, as Celery logs it."""
        self._ready_callback, c.init_callback = c.init_callback, None

    def _release_ready(self, c: WorkerConsumer) -> None:
        callback, self._ready_callback = self._ready_callback, None
        if callback:
            callback(c)

    _ready_callback: Callable[[WorkerConsumer], object] | None = None

    def _close(self, c: WorkerConsumer, consumer: Consumer | None,
               channel: Channel | None) -> None:
        try:
            if consumer is not None:
                consumer.cancel()
            if channel is not None:
                channel.close()
        except c.connection_errors + c.channel_errors + (OSError,):
            pass  # the connection went away: the channel went with it

    def sync(self, c: WorkerConsumer) -> None:
        """Send ``hello`` over a connection of its own and merge every reply (thread)."""
        try:
            replies = self.send_hello(c)
        except Exception as exc:  # noqa: BLE001 - mingle is best effort
            logger.warning('mingle: could not sync with other workers: %r', exc)
            c.call_soon(self._release_ready, c)
            return
        if replies is not None:
            c.call_soon(self.on_replies, c, replies)

    def send_hello(self, c: WorkerConsumer) -> Replies | None:
        """Broadcast ``hello``; the replies by node name (None: our name is taken)."""
        # A connection of its own, closed after: a pooled one would go back
        # to the pool with a reply poll still pending on Redis, and a pool
        # child forked later would hang closing it.
        with c.app.connection_for_write() as connection:
            inspect = c.app.control.inspect(timeout=REPLY_WINDOW, connection=connection)
            replies: Replies = inspect.hello(**self._hello_arguments(c)) or {}
        if self._drop_own_reply(c, replies):
            stop_for_duplicate(c.hostname)
            return None
        return replies

    @staticmethod
    def _drop_own_reply(c: WorkerConsumer, replies: Replies) -> bool:
        """Remove a reply under our own name; True if there was one."""
        # Our own mailbox does not listen yet: a reply under our name comes
        # from another running worker with the same node name.
        return replies.pop(c.hostname, _NO_REPLY) is not _NO_REPLY

    def _hello_arguments(self, c: WorkerConsumer) -> dict[str, Any]:
        # The revoked ids go with their timestamps (LimitedSet's data), as Celery sends them.
        return {'from_node': c.hostname, 'revoked': getattr(revoked, '_data', revoked)}

    def on_replies(self, c: WorkerConsumer, replies: Replies) -> None:
        """Log the outcome, merge what the other nodes sent, then let the worker be ready."""
        if not replies:
            logger.info('mingle: all alone')
        else:
            logger.info('mingle: sync with %s nodes', len(replies))
            self.on_node_replies(c, replies)
        self._release_ready(c)

    def on_node_replies(self, c: WorkerConsumer, replies: Replies) -> None:
        """Merge the clock and revoked ids of each node."""
        for nodename, reply in replies.items():
            try:
                if reply.get('clock'):
                    c.app.clock.adjust(reply['clock'])
                if reply.get('revoked'):
                    revoked.update(reply['revoked'])
            except Exception as exc:  # noqa: BLE001 - one bad reply must not stop start-up
                logger.warning('mingle: bad reply from %s: %r', nodename, exc)
