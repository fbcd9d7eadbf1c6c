"""Publishing a task message: the ``send_task_message`` closure of :class:`~celery.app.amqp.AMQP`.

:func:`create_task_sender` reads the configuration once and returns the function
that resolves a message's exchange, routing key, delivery mode and retry policy,
then publishes it (and its ``task-sent`` event).
"""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, cast

from kombu import Exchange, Queue
from kombu.common import Broadcast
from kombu.exceptions import SerializerNotInstalled

from celery import signals
from celery.app.publish import publish, undeclared
from celery.exceptions import ImproperlyConfigured
from celery.utils.serialization import serializer_not_installed

if TYPE_CHECKING:
    from kombu import Producer as KombuProducer
    from kombu.abstract import MaybeChannelBound

    from celery.app.amqp import AMQP
    from celery.app.task_message import task_message
    from celery.events.dispatcher import EventDispatcher

__all__ = ('DELIVERY_MODE_NAMES', 'create_task_sender', 'normalize_delivery_mode',
           'retry_policy_of')

#: Names accepted by :setting:`task_default_delivery_mode`.
DELIVERY_MODE_NAMES = {'transient': 1, 'persistent': 2}


def normalize_delivery_mode(value: int | str | None) -> int | None:
    """Return an AMQP delivery mode (1 or 2) from an int, digit string or name."""
    if value is None or isinstance(value, int):
        return value
    text = str(value).strip().lower()
    if text.isdigit():
        return int(text)
    try:
        return DELIVERY_MODE_NAMES[text]
    except KeyError:
        raise ImproperlyConfigured(
            f'Unknown delivery mode {value!r}: use 1/"transient" or '
            f'2/"persistent" (task_default_delivery_mode).') from None


def retry_policy_of(*policies: Mapping[str, Any] | None) -> dict[str, Any]:
    """Merge publish retry policies (later ones win), ``retry_errors`` as a tuple."""
    policy: dict[str, Any] = {}
    for each in policies:
        policy.update(each or {})
    # kombu catches ``retry_errors`` with ``except``, which takes no list.
    if isinstance(policy.get('retry_errors'), list):
        policy['retry_errors'] = tuple(policy['retry_errors'])
    return policy


def create_task_sender(amqp: AMQP) -> Callable[..., object]:
    """Return ``send_task_message(producer, name, message, **options)`` for ``amqp``'s app."""
    # Everything read from the configuration is read once, here, and
    # captured by the closure: this function runs for every message.
    conf = amqp.app.conf
    default_retry = conf.task_publish_retry
    default_policy = retry_policy_of(conf.task_publish_retry_policy)
    default_delivery_mode = normalize_delivery_mode(conf.task_default_delivery_mode)
    default_rkey = conf.task_default_routing_key
    default_serializer = conf.task_serializer
    default_compressor = conf.task_compression
    default_priority = conf.task_default_priority
    default_exchange = amqp.default_exchange
    queues = amqp.queues
    default_queue = amqp.default_queue
    before_publish = signals.before_task_publish
    after_publish = signals.after_task_publish

    def send_task_message(producer: KombuProducer, name: str, message: task_message,
                          exchange: Exchange | str | None = None,
                          routing_key: str | None = None,
                          queue: Queue | str | None = None,
                          event_dispatcher: EventDispatcher | None = None,
                          retry: bool | None = None,
                          retry_policy: Mapping[str, Any] | None = None,
                          serializer: str | None = None,
                          delivery_mode: int | str | None = None,
                          compression: str | None = None,
                          declare: Sequence[MaybeChannelBound] | None = None,
                          headers: Mapping[str, Any] | None = None,
                          exchange_type: str | None = None, timeout: float | None = None,
                          confirm_timeout: float | None = None,
                          **properties: Any) -> object:
        message_headers, message_properties, body, sent_event = message
        if headers:
            # Extra headers may have any name: the TypedDict lists only the known ones.
            cast('dict[str, Any]', message_headers).update(headers)
        if properties:
            message_properties.update(properties)
        if message_properties.get('priority') is None:
            # None (no setting) is passed on too: kombu would otherwise
            # put priority 0 on every AMQP message.
            message_properties['priority'] = default_priority

        target: Queue | None
        qname: str | None = None
        if queue is None:
            target = default_queue if exchange is None else None
        elif isinstance(queue, str):
            qname, target = queue, queues[queue]
        else:
            target = queue
        if target is not None and qname is None:
            qname = target.name
        queue_exchange = target.exchange if target is not None else None

        if delivery_mode is None:
            delivery_mode = getattr(queue_exchange, 'delivery_mode', None) or default_delivery_mode
        else:
            delivery_mode = normalize_delivery_mode(delivery_mode)
        if exchange_type is None:
            exchange_type = getattr(queue_exchange, 'type', None) or 'direct'

        if (not exchange or not routing_key) and exchange_type == 'direct':
            # Direct routing to one queue goes through the default exchange.
            exchange, routing_key = '', qname
        elif exchange is None and target is not None:
            # (target is set when exchange is not: the default queue at least.)
            exchange = (queue_exchange and queue_exchange.name) or default_exchange
            routing_key = routing_key or target.routing_key or default_rkey

        if declare is None and target is not None and not isinstance(target, Broadcast):
            declare = undeclared(producer, target)

        if retry is None:
            retry = default_retry
        policy = (retry_policy_of(default_policy, retry_policy) if retry_policy
                  else default_policy)

        if before_publish.receivers:
            before_publish.send(
                sender=name, body=body, exchange=exchange, routing_key=routing_key,
                declare=declare, headers=message_headers,
                properties=message_properties, retry_policy=retry_policy)
        publish_args = dict(
            exchange=exchange, routing_key=routing_key,
            serializer=serializer or default_serializer,
            compression=compression or default_compressor,
            retry_policy=policy, delivery_mode=delivery_mode, declare=declare,
            headers=message_headers, timeout=timeout,
            confirm_timeout=confirm_timeout, **message_properties)
        try:
            result = publish(producer, body, retry, publish_args)
        except SerializerNotInstalled as exc:
            raise serializer_not_installed(publish_args['serializer']) from exc
        if after_publish.receivers:
            after_publish.send(sender=name, body=body, headers=message_headers,
                               exchange=exchange, routing_key=routing_key)
        if sent_event:
            # Under the same publish-retry limits as the task message itself.
            _send_sent_event(event_dispatcher or amqp._event_dispatcher, producer,
                             sent_event, qname, exchange, routing_key, retry, policy)
        return result

    return send_task_message


def _send_sent_event(dispatcher: EventDispatcher, producer: KombuProducer,
                     sent_event: dict[str, Any], qname: str | None,
                     exchange: Exchange | str | None, routing_key: str | None,
                     retry: bool, retry_policy: Mapping[str, Any] | None) -> None:
    if isinstance(exchange, Exchange):
        exchange = exchange.name
    sent_event.update(queue=qname, exchange=exchange, routing_key=routing_key)
    dispatcher.publish('task-sent', sent_event, producer,
                       retry=retry, retry_policy=retry_policy)
