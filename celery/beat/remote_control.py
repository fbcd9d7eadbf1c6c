"""Beat's remote control node: answers ``ping`` while the scheduler keeps ticking.

With ``beat_enable_remote_control`` beat joins the control mailbox as
``celerybeat@<host>``, so ``celery inspect ping`` (``app.control.ping()``)
shows whether it is alive.  A beat whose scheduler has not ticked for
longer than the allowed tick age is stuck: it stays silent, so a health
check sees it as down.
"""
from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING, Any

from kombu.utils.encoding import safe_str

from celery.utils.collections import AttributeDict
from celery.utils.log import get_logger
from celery.utils.nodenames import gethostname, host_format, nodename, nodesplit

if TYPE_CHECKING:
    from kombu.message import Message

    from celery.beat.service import Service

__all__ = ('BeatPidbox', 'beat_nodename', 'NODENAME_DEFAULT')

logger = get_logger('celery.beat')

NODENAME_DEFAULT = 'celerybeat'

#: Seconds to wait for a message before checking whether to stop.
DRAIN_TIMEOUT = 1.0


def beat_nodename(hostname: str | None = None) -> str:
    """Return beat's node name: ``celerybeat@<host>`` unless ``hostname`` names one."""
    name, host = nodesplit(host_format(hostname) if hostname else '')
    return nodename(name or NODENAME_DEFAULT, host or gethostname())


def _ping(state: Any, **kwargs: Any) -> dict[str, str]:
    return {'ok': 'pong'}


class BeatPidbox:
    """A thread that consumes beat's mailbox and answers the commands beat knows."""

    #: Seconds to wait for the thread when stopping.
    join_timeout: float = 3.0
    #: The least tick age ever counted as stale when none is configured.
    min_tick_age: float = 60.0
    #: Seconds between reconnect attempts after the broker went away.
    retry_interval: float = 5.0

    handlers = {'ping': _ping}

    def __init__(self, service: Service) -> None:
        self.service = service
        self.app = service.app
        self.hostname = service.hostname
        self.node = self.app.control.mailbox.Node(
            safe_str(self.hostname), handlers=self.handlers,
            state=AttributeDict(app=self.app, hostname=self.hostname, beat=service))
        self._stopped = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def max_tick_age(self) -> float:
        """Seconds without a tick after which beat counts as stuck."""
        configured = self.app.conf.get('beat_remote_control_max_tick_age')
        if configured is not None:
            return float(configured)
        # Beat may sleep a whole loop interval between ticks: allow two.
        return max(self.min_tick_age, 2.0 * self.service.scheduler.max_interval)

    def tick_age(self) -> float:
        """Seconds since the scheduler last ticked (or since beat started)."""
        return time.monotonic() - self.service.last_tick

    def is_stale(self) -> bool:
        """Whether the scheduler has not ticked within :attr:`max_tick_age`."""
        return self.tick_age() > self.max_tick_age

    def fanout_support(self) -> bool:
        """Whether the broker transport can broadcast (remote control needs fanout)."""
        with self.app.connection_for_read() as conn:
            return 'fanout' in conn.transport.implements.exchange_type

    def on_message(self, body: object, message: Message) -> None:
        """Answer a command addressed to beat, unless beat is stuck."""
        if not isinstance(body, dict) or body.get('method') not in self.handlers:
            return  # commands for workers (inspect active, ...): not ours to answer
        if self.is_stale():
            logger.warning('beat: not answering %r: the scheduler last ticked %.1fs ago '
                           '(beat_remote_control_max_tick_age is %.1fs)',
                           body['method'], self.tick_age(), self.max_tick_age)
            return
        try:
            self.node.handle_message(body, message)
        except Exception as exc:  # a bad command must not stop beat
            logger.error('beat: remote control command failed: %r', exc, exc_info=True)

    def start(self) -> None:
        """Start answering in a daemon thread (only on brokers that can broadcast)."""
        if not self.fanout_support():
            logger.warning('beat: remote control is enabled but the broker transport '
                           'cannot broadcast (no fanout exchanges): not starting it')
            return
        self._thread = threading.Thread(target=self._run, name='BeatPidbox', daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the thread and wait up to :attr:`join_timeout` for it."""
        self._stopped.set()
        if self._thread is not None:
            self._thread.join(self.join_timeout)

    def _run(self) -> None:
        while not self._stopped.is_set():
            try:
                self._consume()
            except Exception as exc:  # broker gone: try again later
                logger.error('beat: remote control connection lost (%r); reconnecting in '
                             '%.0fs', exc, self.retry_interval)
                self._stopped.wait(self.retry_interval)

    def _consume(self) -> None:
        with self.app.connection_for_read() as conn:
            self.node.channel = conn.channel()
            consumer = self.node.listen(callback=self.on_message)
            logger.info('beat: remote control listening as %s', self.hostname)
            try:
                while not self._stopped.is_set():
                    try:
                        conn.drain_events(timeout=DRAIN_TIMEOUT)
                    except TimeoutError:
                        continue
            finally:
                consumer.cancel()
