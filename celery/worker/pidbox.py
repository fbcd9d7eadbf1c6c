"""The worker's remote control mailbox node (``<nodename>.celery.pidbox``)."""
from __future__ import annotations

import socket
import threading
from typing import TYPE_CHECKING

from kombu.utils.encoding import safe_str

from celery.exceptions import ImproperlyConfigured
from celery.utils.collections import AttributeDict
from celery.utils.functional import pass1
from celery.utils.log import get_logger
from celery.worker import control
from celery.worker.duplicate_node import is_resource_locked, node_answers, refuse_duplicate

if TYPE_CHECKING:
    from kombu import Connection, Consumer as KombuConsumer
    from kombu.message import Message

    from celery.worker.consumer.consumer import Consumer

__all__ = ('Pidbox', 'gPidbox')

logger = get_logger(__name__)


class Pidbox:
    """Consume control commands on the worker's own connection."""

    consumer: KombuConsumer | None = None

    def __init__(self, c: Consumer) -> None:
        self.c = c
        self.hostname = c.hostname
        self.node = c.app.control.mailbox.Node(
            safe_str(c.hostname), handlers=control.Panel.data,
            state=AttributeDict(app=c.app, hostname=c.hostname, consumer=c,
                                tset=pass1 if getattr(c.controller, 'use_eventloop', False) else set),
        )
        self._forward_clock = c.app.clock.forward

    def on_message(self, body: object, message: Message) -> None:
        """Run one command; a failing command is logged and the worker goes on."""
        # Clients usually hold no valid clock to adjust with: just tick.
        self._forward_clock()
        if not isinstance(body, dict) or 'method' not in body:
            logger.error('Ignored a remote control message that is not a command '
                         '(expected a dict with "method"): %r', body)
            return
        try:
            self.node.handle_message(body, message)
        except KeyError as exc:
            logger.error('No such control command: %s (known: %s)', exc,
                         ', '.join(sorted(control.Panel.data)))
        except (SystemExit, KeyboardInterrupt):
            raise
        except Exception as exc:  # noqa: BLE001 - a bad command must not stop the worker
            logger.error('Control command error: %r', exc, exc_info=True)

    def start(self, c: Consumer) -> None:
        """Open a channel on the consumer's connection and listen."""
        assert c.connection is not None  # the Connection step connected it
        self.node.channel = c.connection.channel()
        try:
            self.consumer = self.node.listen(callback=self.on_message)
        except c.channel_errors as exc:
            # RabbitMQ: another connection holds our exclusive queue.  A live
            # worker answering to our name is fatal; a stale connection of our
            # own is retried by the consumer.
            if is_resource_locked(exc) and node_answers(c.app, self.hostname):
                refuse_duplicate(self.hostname)
            raise
        self.consumer.on_decode_error = c.on_decode_error

    def on_stop(self) -> None:
        """Hook for subclasses."""

    def stop(self, c: Consumer) -> None:
        """Stop listening."""
        self.on_stop()
        self._close_channel(c)
        self.consumer = None

    def reset(self) -> None:
        """Re-open the channel (after a channel error)."""
        self.stop(self.c)
        self.start(self.c)

    def _close_channel(self, c: Consumer) -> None:
        if self.node and self.node.channel:
            try:
                self.node.channel.close()
            except c.connection_errors + c.channel_errors + (OSError,):
                pass

    def shutdown(self, c: Consumer) -> None:
        """Cancel the consumer and close the channel."""
        self.on_stop()
        if self.consumer:
            logger.debug('Canceling broadcast consumer...')
            try:
                self.consumer.cancel()
            except c.connection_errors + c.channel_errors + (OSError,):
                pass
        self.stop(self.c)


class gPidbox(Pidbox):
    """Pidbox for green pools: its own connection, drained in a green thread."""

    _node_shutdown: threading.Event | None = None
    _node_stopped: threading.Event | None = None
    _resets = 0

    def start(self, c: Consumer) -> None:
        from celery.concurrency.green import GreenTaskPool
        if not isinstance(c.pool, GreenTaskPool):
            raise ImproperlyConfigured(f'The green pidbox needs a green pool, not {c.pool!r}')
        c.pool.spawn_n(self.loop, c)

    def on_stop(self) -> None:
        if self._node_stopped and self._node_shutdown is not None:
            self._node_shutdown.set()
            logger.debug('Waiting for broadcast thread to shutdown...')
            self._node_stopped.wait()
            self._node_stopped = self._node_shutdown = None

    def reset(self) -> None:
        self._resets += 1

    def _do_reset(self, c: Consumer, connection: Connection) -> None:
        self._close_channel(c)
        self.node.channel = connection.channel()
        self.consumer = self.node.listen(callback=self.on_message)
        self.consumer.consume()

    def loop(self, c: Consumer) -> None:
        """Drain control messages until the worker stops."""
        shutdown = self._node_shutdown = threading.Event()
        stopped = self._node_stopped = threading.Event()
        try:
            with c.connection_for_read() as connection:
                logger.info('pidbox: Connected to %s.', connection.as_uri())
                self._listen_until(shutdown, c, connection)
        finally:
            stopped.set()

    def _listen_until(self, shutdown: threading.Event, c: Consumer,
                      connection: Connection) -> None:
        # reset() only counts requests: the channel is replaced here, in the
        # green thread that owns this connection.
        resets_done = self._resets
        self._do_reset(c, connection)
        while not shutdown.is_set() and c.connection:
            if resets_done < self._resets:
                resets_done += 1
                self._do_reset(c, connection)
            try:
                # A timeout keeps the shutdown flag checked about once a second.
                connection.drain_events(timeout=1.0)
            except socket.timeout:
                pass
