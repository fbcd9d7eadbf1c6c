"""What the worker logs about a message it cannot run, and a short dump of its body."""
from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kombu.message import Message

__all__ = (
    'INVALID_TASK_ERROR',
    'MESSAGE_DECODE_ERROR',
    'UNKNOWN_FORMAT',
    'UNKNOWN_TASK_ERROR',
    'dump_body',
)

UNKNOWN_FORMAT = """\
Received and rejected a message of unknown format (not a Celery task message).
The message has been rejected without requeue.  Please ensure only task
messages are sent to the worker's queues.
%s
"""
UNKNOWN_TASK_ERROR = """\
Received unregistered task of type %r, id %r.
The message has been rejected without requeue and the task marked as failed.
Did you remember to import the module containing this task?
Or maybe you're using relative imports?
The full contents of the message body was: %s
Headers: %s  Delivery info: %s
"""
INVALID_TASK_ERROR = """\
Received invalid task message (id %r, task %r): %s
The message has been rejected without requeue.  Please ensure the message is a
valid Celery task message (protocol 1 or 2).
The full contents of the message body was: %s
Headers: %s  Delivery info: %s
"""
MESSAGE_DECODE_ERROR = """\
Cannot decode task message (id %r, task %r): %s
content_type: %r content_encoding: %r
The message has been rejected without requeue.  Check the producer's serializer
and the worker's accept_content setting.
Headers: %s  Delivery info: %s
"""


def dump_body(m: Message, body: object) -> str:
    """A short printable form of message ``m``'s body for error reports."""
    text = repr(m.body if body is None else body)
    # The size is the raw body's: a decoded body (a tuple, a dict) has no size in bytes.
    return text if len(text) <= 1024 else text[:1024] + f'... ({len(m.body)}b)'
