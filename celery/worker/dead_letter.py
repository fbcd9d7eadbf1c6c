"""Move a message the worker will not run to the dead-letter queue (task_dead_letter_queue)."""
from __future__ import annotations

import base64
import time
from typing import Any

from kombu import Exchange, Queue
from kombu.utils.json import dumps
from kombu.utils.uuid import uuid

from celery import bootsteps
from celery.exceptions import ImproperlyConfigured
from celery.utils.log import get_logger
from celery.utils.saferepr import saferepr

__all__ = (
    'MALFORMED', 'UNREGISTERED', 'MAX_RETRIES', 'MAX_REDELIVERIES', 'REASONS',
    'dead_letter_queue', 'envelope', 'publish_dead_letter', 'dead_letter_message',
    'dead_letter_if_retries_exhausted', 'dead_letter_exchange_arguments', 'DeadLetterExchange',
)

logger = get_logger(__name__)

#: Why a message was dead-lettered (the envelope's ``reason``).
MALFORMED = 'malformed'
UNREGISTERED = 'unregistered'
MAX_RETRIES = 'max_retries'
MAX_REDELIVERIES = 'max_redeliveries'
REASONS = (MALFORMED, UNREGISTERED, MAX_RETRIES, MAX_REDELIVERIES)


def dead_letter_queue(name: str) -> Queue:
    """The durable queue dead letters named ``name`` are published to."""
    return Queue(name, Exchange(name, 'direct'), routing_key=name, durable=True)


def dead_letter_exchange_arguments(app: Any) -> dict[str, str] | None:
    """Queue arguments routing rejected messages to the DLQ through RabbitMQ, or None.

    Only with :setting:`task_dead_letter_exchange` on and an AMQP broker: Redis
    has no dead-lettering, there the worker publishes every dead letter itself.
    """
    conf = app.conf
    if not conf.task_dead_letter_exchange:
        return None
    name = conf.task_dead_letter_queue
    if not name:
        raise ImproperlyConfigured(
            'task_dead_letter_exchange needs task_dead_letter_queue: the queue to route to.')
    with app.connection_for_write() as connection:  # not connected: reads the URL only
        if connection.transport.driver_type != 'amqp':
            return None
    return {'x-dead-letter-exchange': name, 'x-dead-letter-routing-key': name}


def _broker_dead_letters(app: Any) -> bool:
    """Whether RabbitMQ moves the messages the worker rejects (requeue=False) itself."""
    return bool(app.conf.task_dead_letter_exchange) and \
        dead_letter_exchange_arguments(app) is not None


def _raw_body(message: Any) -> bytes:
    body = message.body
    if isinstance(body, str):
        return body.encode('utf-8')
    return bytes(body or b'')


def _json_safe_headers(headers: Any) -> Any:
    if not isinstance(headers, dict):
        return saferepr(headers)
    try:
        dumps(headers)
    except (TypeError, ValueError):
        # One unserializable value must not cost the rest of the headers.
        return {str(k): saferepr(v) for k, v in headers.items()}
    return headers


def envelope(message: Any, reason: str, hostname: str, detail: str = '') -> dict[str, Any]:
    """What is kept of ``message``: why, where from, by whom, when, and its exact bytes."""
    headers = message.headers if isinstance(message.headers, dict) else {}
    delivery_info = message.delivery_info or {}
    properties = message.properties or {}
    return {
        'id': uuid(),
        'reason': reason,
        'detail': detail,
        'task': headers.get('task'),
        'task_id': headers.get('id'),
        'queue': delivery_info.get('routing_key'),
        'exchange': delivery_info.get('exchange'),
        'headers': _json_safe_headers(message.headers),
        'body': base64.b64encode(_raw_body(message)).decode('ascii'),
        'content_type': message.content_type,
        'content_encoding': message.content_encoding,
        'properties': {k: properties.get(k) for k in ('correlation_id', 'reply_to', 'priority')
                       if properties.get(k) is not None},
        'hostname': hostname,
        'time': time.time(),
    }


def publish_dead_letter(app: Any, letter: dict[str, Any]) -> None:
    """Publish ``letter`` to :setting:`task_dead_letter_queue`."""
    queue = dead_letter_queue(app.conf.task_dead_letter_queue)
    with app.producer_or_acquire() as producer:
        producer.publish(letter, exchange=queue.exchange, routing_key=queue.routing_key,
                         declare=[queue], serializer='json', delivery_mode=2, retry=True)


def dead_letter_message(app: Any, message: Any, reason: str, hostname: str,
                        detail: str = '') -> bool:
    """Copy ``message`` to the dead-letter queue if one is configured; True when copied.

    A failure to publish is logged, never raised: the caller still settles
    the message as it would without dead letters.
    """
    if not app.conf.task_dead_letter_queue:
        return False
    if reason in (MALFORMED, UNREGISTERED) and _broker_dead_letters(app):
        # The caller rejects it next: RabbitMQ's dead-letter exchange moves it
        # (a copy of ours as well would make two dead letters of one message).
        return False
    try:
        publish_dead_letter(app, envelope(message, reason, hostname, detail))
    except Exception as exc:
        logger.error('Cannot dead-letter message (%s): %r', reason, exc, exc_info=True)
        return False
    return True


def dead_letter_if_retries_exhausted(request: Any, exc: BaseException) -> None:
    """A task failed on its last allowed attempt: dead-letter its message."""
    app = request.app
    if not app.conf.task_dead_letter_queue:
        return
    max_retries = request.task.max_retries
    retries = request.request_dict.get('retries') or 0
    if max_retries is None or retries < max_retries:
        return
    if _rejected_on_failure(request.task) and _broker_dead_letters(app):
        return  # rejected next (acks_late, acks_on_failure off): RabbitMQ moves it
    dead_letter_message(app, request.message, MAX_RETRIES, request.hostname,
                        f'{retries} retries: {saferepr(exc)}')


def _rejected_on_failure(task: Any) -> bool:
    if not task.acks_late:
        return False
    acks = getattr(task, 'acks_on_failure', None)
    if acks is None:
        acks = getattr(task, 'acks_on_failure_or_timeout', True)
    return acks is not None and not acks


class DeadLetterExchange(bootsteps.Step):
    """Worker step: with task_dead_letter_exchange, declare the DLQ on every connection.

    RabbitMQ drops what it dead-letters to an exchange that does not exist, so
    the dead-letter queue and its exchange are there before any message is taken.
    """

    label = 'DeadLetterExchange'

    def __init__(self, w: Any, **kwargs: Any) -> None:
        self.enabled = bool(w.app.conf.task_dead_letter_exchange)
        if self.enabled:
            w.app.steps['consumer'].add(DeclareDeadLetterQueue)
        super().__init__(w, **kwargs)


class DeclareDeadLetterQueue(bootsteps.StartStopStep):
    """Consumer step: declare the dead-letter queue and exchange on the new connection."""

    label = 'DeclareDeadLetterQueue'
    requires = ('celery.worker.consumer.connection:Connection',)

    def include_if(self, c: Any) -> bool:
        return bool(c.app.conf.task_dead_letter_exchange)

    def start(self, c: Any) -> None:
        queue = dead_letter_queue(c.app.conf.task_dead_letter_queue)
        queue(c.connection.default_channel).declare()
