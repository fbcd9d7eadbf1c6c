"""How the consumer answers messages it cannot run: unknown, invalid or undecodable."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from celery import signals
from celery.app.context import Context
from celery.exceptions import InvalidTaskError, NotRegistered
from celery.utils.log import get_logger
from celery.worker.dead_letter import MALFORMED, UNREGISTERED, dead_letter_message
from celery.worker.message_errors import (
    INVALID_TASK_ERROR,
    MESSAGE_DECODE_ERROR,
    UNKNOWN_FORMAT,
    UNKNOWN_TASK_ERROR,
    dump_body,
)

if TYPE_CHECKING:
    from collections.abc import Mapping

    from kombu.message import Message

    from celery.app.base import Celery
    from celery.events.dispatcher import EventDispatcher

__all__ = ('MESSAGE_REPORT', 'BadMessageHandlers')

logger = get_logger('celery.worker.consumer.consumer')

#: The message details logged with an unknown or invalid message.
MESSAGE_REPORT = """\
body: {0}
{{content_type:{1} content_encoding:{2}
  delivery_info:{3} headers={4}}}
"""


class BadMessageHandlers:
    """Consumer methods that log, reject and report a message no task can take."""

    hostname: str
    app: Celery
    event_dispatcher: EventDispatcher | None
    connection_errors: tuple[type[BaseException], ...]
    channel_errors: tuple[type[BaseException], ...]

    def _message_report(self, body: object, message: Message) -> str:
        return MESSAGE_REPORT.format(dump_body(message, body), message.content_type,
                                     message.content_encoding, message.delivery_info,
                                     message.headers)

    def _reject_bad(self, message: Message, reason: str = MALFORMED,
                    detail: BaseException | None = None) -> None:
        # Copied first, rejected after: a crash between the two duplicates, never loses.
        dead_letter_message(self.app, message, reason, self.hostname,
                            repr(detail) if detail else '')
        message.reject_log_error(logger, self.connection_errors + self.channel_errors)

    def on_unknown_message(self, body: object, message: Message) -> None:
        """Not a task message at all: log, reject, ``task_rejected``."""
        logger.warning(UNKNOWN_FORMAT, self._message_report(body, message))
        self._reject_bad(message)
        signals.task_rejected.send(sender=self, message=message, exc=None)

    def on_unknown_task(self, body: Mapping[str, Any] | None, message: Message,
                        exc: BaseException) -> None:
        """A task name that is not registered: log, reject, mark FAILURE."""
        headers = message.headers or {}
        if body is not None:
            id_, name = body.get('id'), body.get('task')
            root_id = None
        else:
            id_, name, root_id = headers.get('id'), headers.get('task'), headers.get('root_id')
        logger.error(UNKNOWN_TASK_ERROR, name, id_, dump_body(message, body), headers,
                     message.delivery_info)
        self._reject_bad(message, UNREGISTERED, exc)
        if id_:
            properties = message.properties or {}
            request = Context(id=id_, task=name, name=name, chord=None, root_id=root_id,
                            group=None, group_index=None, parent_id=None, errbacks=None,
                            ignore_result=False, correlation_id=properties.get('correlation_id'),
                            reply_to=properties.get('reply_to'), delivery_info=None,
                            args=None, kwargs=None, hostname=self.hostname, retries=0,
                            stamped_headers=None, stamps=None)
            try:
                self.app.backend.mark_as_failure(id_, NotRegistered(name), request=request)
            except Exception as store_exc:  # noqa: BLE001 - reporting must not crash
                logger.error('Cannot store failure of unknown task %r: %r', id_, store_exc)
        if self.event_dispatcher:
            self.event_dispatcher.send('task-failed', uuid=id_,
                                       exception=f'NotRegistered({name!r})')
        signals.task_unknown.send(sender=self, message=message, exc=exc, name=name, id=id_)

    def on_invalid_task(self, body: object, message: Message, exc: BaseException) -> None:
        """A malformed task message: log why, reject, ``task_rejected``."""
        headers = message.headers if isinstance(message.headers, dict) else {}
        source = body if isinstance(body, dict) else headers
        logger.error(INVALID_TASK_ERROR, source.get('id'), source.get('task'), exc,
                     dump_body(message, body), headers, message.delivery_info,
                     exc_info=not isinstance(exc, (InvalidTaskError, KeyError)))
        self._reject_bad(message, MALFORMED, exc)
        signals.task_rejected.send(sender=self, message=message, exc=exc)

    def on_decode_error(self, message: Message, exc: BaseException) -> None:
        """An undecodable or disallowed body: log why, reject, ``task_rejected``."""
        headers = message.headers if isinstance(message.headers, dict) else {}
        logger.error(MESSAGE_DECODE_ERROR, headers.get('id'), headers.get('task'), exc,
                     message.content_type, message.content_encoding, headers,
                     message.delivery_info)
        self._reject_bad(message, MALFORMED, exc)
        signals.task_rejected.send(sender=self, message=message, exc=exc)
