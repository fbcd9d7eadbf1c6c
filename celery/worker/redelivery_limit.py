"""task_max_redeliveries: dead-letter a message the broker keeps handing back.

Brokers do not count redeliveries in a header we can read on both RabbitMQ
and Redis, only flag them (``delivery_info['redelivered']``). So a flagged
message is counted in a header of ours, :data:`REDELIVERIES_HEADER`: it is
published again with the count raised and the flagged copy acked, until the
count passes the limit and the message goes to the dead-letter queue.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from celery.utils.log import get_logger
from celery.worker.dead_letter import MAX_REDELIVERIES, dead_letter_message

__all__ = ('REDELIVERIES_HEADER', 'guard_redeliveries', 'republish')

logger = get_logger(__name__)

#: How many times the broker has redelivered this message so far.
REDELIVERIES_HEADER = 'x-celery-redeliveries'

Handler = Callable[[Any], Any]


def republish(app: Any, message: Any, headers: dict[str, Any], routing_key: str | None,
              exchange: str = '', confirm: bool = False) -> None:
    """Publish ``message``'s exact body with ``headers`` (to a queue by name by default)."""
    properties = message.properties if isinstance(message.properties, dict) else {}
    extra = {k: properties[k] for k in ('correlation_id', 'reply_to', 'priority')
             if properties.get(k) is not None}
    with app.producer_or_acquire() as producer:
        if confirm and hasattr(producer.channel, 'confirm_select'):
            producer.channel.confirm_select()
        producer.publish(message.body, exchange=exchange, routing_key=routing_key, headers=headers,
                         content_type=message.content_type,
                         content_encoding=message.content_encoding,
                         delivery_mode=2, retry=True, **extra)


def guard_redeliveries(consumer: Any, handler: Handler) -> Handler:
    """``handler``, counting redeliveries first when :setting:`task_max_redeliveries` is set."""
    limit = consumer.app.conf.task_max_redeliveries
    if limit is None:
        return handler  # off: not one extra step per message

    def on_task_received(message: Any) -> Any:
        if not (message.delivery_info or {}).get('redelivered'):
            return handler(message)
        return _on_redelivered(consumer, message, limit, handler)
    return on_task_received


def _on_redelivered(consumer: Any, message: Any, limit: int, handler: Handler) -> Any:
    headers = message.headers
    if not isinstance(headers, dict):
        return handler(message)  # the handler reports bad headers
    try:
        count = int(headers.get(REDELIVERIES_HEADER) or 0) + 1
    except (TypeError, ValueError):
        count = 1
    app = consumer.app
    try:
        if count > limit:
            logger.error('Task %s[%s] redelivered %d times (task_max_redeliveries=%d): '
                         'moved to the dead-letter queue.',
                         headers.get('task'), headers.get('id'), count, limit)
            if not dead_letter_message(app, message, MAX_REDELIVERIES, consumer.hostname,
                                       f'redelivered {count} times'):
                return message.reject_log_error(logger, consumer.connection_errors)
        else:
            info = message.delivery_info or {}
            republish(app, message, {**headers, REDELIVERIES_HEADER: count},
                      info.get('routing_key'), info.get('exchange') or '')
    except Exception as exc:  # noqa: BLE001 - keep the message: run it as it is
        logger.error('Cannot count redelivery of %r: %r', headers.get('id'), exc)
        return handler(message)
    return message.ack_log_error(logger, consumer.connection_errors)
