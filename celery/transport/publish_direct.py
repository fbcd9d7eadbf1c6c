"""Publishing a task message straight to the channel, skipping ``Producer.publish``.

kombu's :meth:`~kombu.Producer.publish` spends about as much CPU around the
transport as the transport itself (argument defaults, delivery details, a
keyword dict, ``_publish``).  On the owned transports (:mod:`celery.transport`)
:func:`publish_direct` builds the same message with the channel's public
``prepare_message`` and hands it to ``basic_publish`` with the same arguments,
following kombu's rules: the same body, headers, properties (in the same
order) and delivery info on the wire.  Anything unusual (entities still to
declare, an auto-declared producer exchange, a ``content_type`` given by the
caller, a ``Queue`` as ``reply_to``, a ``Producer.batch()`` kombu has not
yet opened on the channel) goes through kombu's own publish instead
(:func:`can_publish_direct`).  Inside an open batch the message goes to the
channel's batch (``open_batch.publish_message``), as kombu would send it.
:func:`template_publisher` goes further for a group's members: the batch
encodes one member's message once (``open_batch.message_template``) and
each next member only its open values and body.  A JSON body is encoded by
:func:`~celery.transport.serialization.json_dumps` while kombu's own JSON
serializer is the registered one (the same text, without kombu's set-up per
call).

Extends: kombu's :class:`~kombu.Producer` (its ``publish``, for the common
case).  It reads two of the producer's private attributes, read-only: the
class's ``_publish`` (to tell a producer subclass that publishes its own way)
and ``_batch_local`` (to know whether a ``Producer.batch()`` is open); which is
why it lives with the owned transports.  ``CELERY_STOCK_TRANSPORTS=1`` or
``broker_transport_options={'fast_path': False}`` (stock channels) turn it off.
"""
from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any, NamedTuple

from kombu import Exchange, Producer
from kombu.compression import compress
from kombu.entity import maybe_delivery_mode
from kombu.serialization import dumps

from celery.transport.serialization import json_dumps, kombu_json_codec

__all__ = ('can_publish_direct', 'publish_direct', 'template_publisher', 'TemplatePublish')

#: ``Producer.publish`` arguments that are not message properties.
_ARGUMENTS = frozenset({
    'routing_key', 'delivery_mode', 'mandatory', 'immediate', 'priority',
    'content_type', 'content_encoding', 'serializer', 'headers', 'compression',
    'exchange', 'retry', 'retry_policy', 'declare', 'expiration', 'timeout',
    'confirm_timeout',
})

#: Channel classes that take the direct path (the owned transports' channels).
_CHANNELS: tuple[type, ...] | None = None

#: Producer classes seen, and whether they publish as kombu's own Producer.
_PLAIN: dict[type, bool] = {}


def _owned_channels() -> tuple[type, ...]:
    global _CHANNELS
    if _CHANNELS is None:
        channels = []
        # Imported when first needed: each needs its broker's library (redis-py,
        # py-amqp), which an install without that extra does not have; a
        # channel of a transport whose library is missing is never ours.
        for name in ('pyamqp', 'redis'):
            try:
                module = importlib.import_module(f'celery.transport.{name}')
            except ImportError:
                continue
            channels.append(module.Channel)
        _CHANNELS = tuple(channels)
    return _CHANNELS


def _plain_producer(cls: type) -> bool:
    plain = _PLAIN.get(cls)
    if plain is None:
        plain = _PLAIN[cls] = (issubclass(cls, Producer)
                               and cls.publish is Producer.publish
                               and cls._publish is Producer._publish)
    return plain


def can_publish_direct(producer: Producer, publish_args: dict[str, Any]) -> bool:
    """Whether :func:`publish_direct` gives exactly what ``producer.publish`` would."""
    if not _plain_producer(type(producer)):
        return False   # a stand-in, or a subclass that publishes its own way
    if publish_args.get('declare') or publish_args.get('content_type'):
        return False
    if producer.exchange is None:
        return False
    if producer.auto_declare and producer.exchange.name:
        return False   # kombu would declare the producer's exchange first
    if not isinstance(publish_args.get('reply_to', ''), str):
        return False   # kombu turns a reply_to Queue into its name
    batch_local = getattr(producer, '_batch_local', None)
    if batch_local is None:
        return False
    channel = producer.channel
    if getattr(batch_local, 'current', None) is not None:
        # An open Producer.batch(): taken here once kombu has opened the
        # channel's batch (at its first publish), which is then ours.
        return getattr(channel, 'open_batch', None) is not None
    return isinstance(channel, _owned_channels())


class _Plan(NamedTuple):
    """What ``Producer.publish`` would send for some arguments, before the body is encoded."""

    exchange: str
    routing_key: str
    properties: dict[str, Any]
    headers: dict[str, Any]
    serializer: str | None
    compression: str | None


def _plan(producer: Producer, publish_args: dict[str, Any]) -> _Plan:
    """kombu's rules for the exchange, routing key, properties and headers of a publish."""
    properties = {key: value for key, value in publish_args.items() if key not in _ARGUMENTS}
    default_exchange = producer.exchange
    assert default_exchange is not None  # can_publish_direct() checked it
    exchange = publish_args.get('exchange') or default_exchange
    delivery_mode = publish_args.get('delivery_mode')
    exchange_name: str
    if isinstance(exchange, Exchange):
        exchange_name = exchange.name
        delivery_mode = maybe_delivery_mode(delivery_mode or exchange.delivery_mode)
    else:
        exchange_name = exchange
        delivery_mode = maybe_delivery_mode(delivery_mode or default_exchange.delivery_mode)
    properties['delivery_mode'] = delivery_mode
    expiration = publish_args.get('expiration')
    if expiration is not None:
        properties['expiration'] = str(int(expiration * 1000))
    routing_key = publish_args.get('routing_key')
    if routing_key is None:
        routing_key = producer.routing_key
    compression = publish_args.get('compression')
    if compression is None:
        compression = producer.compression
    headers = publish_args.get('headers')
    if headers is None:
        headers = {}
    return _Plan(exchange_name, routing_key, properties, headers,
                 publish_args.get('serializer') or producer.serializer, compression)


def _serialize(body: object, serializer: str | None) -> tuple[str, str, Any]:
    """``kombu.serialization.dumps(body, serializer=serializer)``, JSON without its set-up."""
    if serializer == 'json':
        codec = kombu_json_codec()
        if codec is not None:
            try:
                return codec.content_type, codec.content_encoding, json_dumps(body)
            except Exception:  # noqa: BLE001 - kombu's dumps raises its EncodeError
                pass
    content_type, content_encoding, data = dumps(body, serializer=serializer)
    return content_type, content_encoding, data


def publish_direct(producer: Producer, body: object, publish_args: dict[str, Any]) -> object:
    """``producer.publish(body, retry=False, **publish_args)``, the same message, less work."""
    plan = _plan(producer, publish_args)
    headers = plan.headers
    content_type, content_encoding, data = _serialize(body, plan.serializer)
    if plan.compression:
        data, headers['compression'] = compress(data, plan.compression)
    channel = producer.channel
    message = channel.prepare_message(
        data, publish_args.get('priority', 0), content_type, content_encoding,
        headers, plan.properties)
    batch = getattr(channel, 'open_batch', None)
    if batch is not None and getattr(producer._batch_local, 'current', None) is not None:
        return batch.publish_message(
            message, plan.exchange, plan.routing_key,
            publish_args.get('mandatory', False), publish_args.get('immediate', False))
    return channel.basic_publish(
        message, exchange=plan.exchange, routing_key=plan.routing_key,
        mandatory=publish_args.get('mandatory', False),
        immediate=publish_args.get('immediate', False),
        timeout=publish_args.get('timeout'),
        confirm_timeout=publish_args.get('confirm_timeout'))


#: ``publish(header_values, property_values, body)``: True once published.
TemplatePublish = Callable[[tuple[Any, ...], tuple[Any, ...], object], bool]


def template_publisher(producer: Producer, body: object, publish_args: dict[str, Any],
                       open_headers: tuple[str, ...],
                       open_properties: tuple[str, ...]) -> TemplatePublish | None:
    """A publisher of messages like this one but for some header and property values.

    For an open ``Producer.batch()`` on an owned channel whose batch makes
    message templates (``message_template``): the message is encoded once
    and only the open values and the body are encoded per message; the
    bytes are those of :func:`publish_direct`.  None when that does not
    apply; the returned function returns False for a message it cannot take
    (the caller then publishes it the generic way).
    """
    channel = producer.channel
    batch = getattr(channel, 'open_batch', None)
    if batch is None or not can_publish_direct(producer, publish_args):
        return None
    plan = _plan(producer, publish_args)
    if plan.compression:
        return None
    serializer = plan.serializer
    content_type, content_encoding, data = dumps(body, serializer=serializer)
    sample = channel.prepare_message(
        data, publish_args.get('priority', 0), content_type, content_encoding,
        dict(plan.headers), dict(plan.properties))
    publish_sample = batch.message_template(
        sample, plan.exchange, plan.routing_key, publish_args.get('mandatory', False),
        publish_args.get('immediate', False), open_headers, open_properties)
    if publish_sample is None:
        return None
    batch_local = producer._batch_local
    encode = json_dumps if serializer == 'json' and kombu_json_codec() is not None else None

    def publish(header_values: tuple[Any, ...], property_values: tuple[Any, ...],
                body: object) -> bool:
        if channel.open_batch is not batch or getattr(batch_local, 'current', None) is None:
            return False   # the batch is over
        data: Any
        if encode is not None:
            try:
                data = encode(body)
            except Exception:  # noqa: BLE001 - the generic path raises kombu's error
                return False
        else:
            kind, encoding, data = dumps(body, serializer=serializer)
            if kind != content_type or encoding != content_encoding:
                return False
        return bool(publish_sample(header_values, property_values, data))
    return publish
