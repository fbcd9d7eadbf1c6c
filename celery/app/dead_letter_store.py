"""Read, replay and purge the dead letters in :setting:`task_dead_letter_queue`.

Every operation takes all dead letters off the queue unacked, settles the
ones it is done with (acks them only once a replay is published, confirmed
on RabbitMQ) and puts every other one back: an error part-way loses nothing.
"""
from __future__ import annotations

import base64
import hashlib
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from kombu.utils.uuid import uuid

from celery.exceptions import DeadLetterNotFound, DeadLetterQueueNotFound, ImproperlyConfigured
from celery.worker.dead_letter import dead_letter_queue, envelope
from celery.worker.redelivery_limit import REDELIVERIES_HEADER, republish

__all__ = ('DeadLetterFilter', 'DeadLetter', 'open_dead_letters', 'replay', 'discard')


@dataclass(frozen=True)
class DeadLetterFilter:
    """Which dead letters an operation applies to (every one by default)."""

    task: str | None = None
    reason: str | None = None
    older_than: float | None = None

    def matches(self, letter: dict[str, Any], now: float | None = None) -> bool:
        """Whether ``letter`` passes every filter that is set."""
        if self.task is not None and letter.get('task') != self.task:
            return False
        if self.reason is not None and letter.get('reason') != self.reason:
            return False
        if self.older_than is not None:
            age = (time.time() if now is None else now) - float(letter.get('time') or 0)
            return age > self.older_than
        return True


@dataclass
class DeadLetter:
    """One dead letter: its envelope and the broker message holding it."""

    letter: dict[str, Any]
    message: Any

    @property
    def id(self) -> str:
        return str(self.letter.get('id'))

    def original_body(self) -> bytes:
        """The exact bytes of the dead-lettered message's body."""
        return base64.b64decode(self.letter.get('body') or b'')


def _queue_name(app: Any) -> str:
    name: str = app.conf.task_dead_letter_queue
    if not name:
        raise ImproperlyConfigured('task_dead_letter_queue is not set: there are no dead letters.')
    return name


@contextmanager
def open_dead_letters(app: Any) -> Iterator[list[DeadLetter]]:
    """Every dead letter, held unacked; the ones not settled go back on exit."""
    with app.connection_for_write() as connection:
        queue = dead_letter_queue(_queue_name(app))(connection.default_channel)
        queue.declare()
        letters: list[DeadLetter] = []
        while True:
            message = queue.get(no_ack=False, accept=['json'])
            if message is None:
                break
            letters.append(DeadLetter(_letter_of(message), message))
        try:
            yield letters
        finally:
            for held in letters:
                if not held.message.acknowledged:
                    held.message.requeue()


#: Headers RabbitMQ adds when it dead-letters a message (dropped on replay).
DEATH_HEADERS = ('x-death', 'x-first-death-exchange', 'x-first-death-queue',
                 'x-first-death-reason', 'x-last-death-exchange', 'x-last-death-queue',
                 'x-last-death-reason')


def _letter_of(message: Any) -> dict[str, Any]:
    """The envelope a worker published, or one made from a message RabbitMQ dead-lettered."""
    headers = message.headers if isinstance(message.headers, dict) else {}
    if headers.get('x-death'):
        return _broker_letter(message, headers)
    try:
        payload = message.decode()
    except Exception:  # noqa: BLE001 - one unreadable message must not hide the others
        payload = None
    return payload if isinstance(payload, dict) else {'id': None, 'reason': 'unreadable'}


def _broker_letter(message: Any, headers: dict[str, Any]) -> dict[str, Any]:
    """An envelope for a message RabbitMQ moved here (``x-death``: why, from where, when)."""
    death = headers['x-death'][0] if isinstance(headers['x-death'], list) else {}
    when: Any = death.get('time')  # py-amqp decodes the AMQP timestamp to a datetime
    stamp = when.timestamp() if isinstance(when, datetime) else float(when or time.time())
    body = message.body if isinstance(message.body, bytes) else str(message.body).encode()
    letter = envelope(message, str(death.get('reason') or 'rejected'), hostname='',
                      detail='dead-lettered by RabbitMQ (x-death)')
    # Stable across listings, so that ``show``/``replay`` can name it.
    letter['id'] = headers.get('id') or hashlib.sha1(body).hexdigest()
    letter['queue'] = death.get('queue') or letter['queue']
    letter['exchange'] = death.get('exchange', letter['exchange'])
    letter['hostname'] = None  # RabbitMQ does not say which worker rejected it
    letter['time'] = stamp
    return letter


def select(letters: list[DeadLetter], ids: list[str] | None,
           where: DeadLetterFilter) -> list[DeadLetter]:
    """The letters named by ``ids`` (all when none) that pass ``where``."""
    if ids:
        by_id = {held.id: held for held in letters}
        missing = [i for i in ids if i not in by_id]
        if missing:
            raise DeadLetterNotFound(f'No dead letter with id {", ".join(missing)}')
        letters = [by_id[i] for i in ids]
    now = time.time()
    return [held for held in letters if where.matches(held.letter, now)]


def _queue_exists(app: Any, connection: Any, name: str) -> bool:
    channel = connection.channel()
    try:
        channel.queue_declare(queue=name, passive=True)
        return True
    except connection.channel_errors:
        if connection.transport.driver_type == 'amqp':
            return False
        # Redis keeps no empty queues: one bound to an exchange counts as there.
        return name in app.amqp.queues or _bound_on_redis(channel, name)
    finally:
        try:
            channel.close()
        except connection.channel_errors + connection.connection_errors:
            pass


def _bound_on_redis(channel: Any, name: str) -> bool:
    # Celery binds a queue it creates to an exchange of the same name.
    try:
        return any(queue == name for _, _, queue in channel.get_table(name))
    except Exception:  # noqa: BLE001 - no binding table: not there
        return False


class _Original:
    """The dead-lettered message as :func:`republish` reads a message."""

    def __init__(self, held: DeadLetter, new_id: bool) -> None:
        letter = held.letter
        self.body = held.original_body()
        self.content_type = letter.get('content_type')
        self.content_encoding = letter.get('content_encoding')
        self.properties = dict(letter.get('properties') or {})
        headers = letter.get('headers')
        self.headers = dict(headers) if isinstance(headers, dict) else {}
        for name in (REDELIVERIES_HEADER, *DEATH_HEADERS):
            self.headers.pop(name, None)
        if new_id:
            self.headers['id'] = self.properties['correlation_id'] = uuid()


def replay(app: Any, held: DeadLetter, queue: str | None = None, new_id: bool = False) -> str:
    """Publish ``held``'s original message to ``queue`` (its own by default); return the queue.

    The dead letter is acked only after the publish returned (confirmed on
    RabbitMQ); a missing queue raises :exc:`DeadLetterQueueNotFound` first.
    """
    target = queue or held.letter.get('queue')
    with app.connection_for_write() as connection:
        if not target or not _queue_exists(app, connection, target):
            raise DeadLetterQueueNotFound(
                f'Cannot replay dead letter {held.id}: queue {target!r} does not exist')
    original = _Original(held, new_id)
    republish(app, original, original.headers, target, confirm=True)
    held.message.ack()
    return target


def discard(held: DeadLetter) -> None:
    """Remove ``held`` for good."""
    held.message.ack()
