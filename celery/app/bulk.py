"""Publishing many task messages at once.

* :func:`pipelined`: ``with pipelined(producer): ...`` writes the producer's
  publishes to the broker in batches (kombu's ``Producer.batch()``).
* :class:`BulkSender`: what a group uses to send its members.  The first
  member of each kind goes the whole way (``Signature.apply_async``) while a
  :class:`_Recorder` keeps the message it published; the members after it
  that differ only in id, position and arguments reuse that message's
  routing, options, headers and properties, and only the fields that differ
  are set again.  The messages are the ones publishing each member on its
  own gives (``t/integration/messages/test_bulk_messages.py`` compares them
  on both brokers); anything the template cannot vouch for (another task,
  other options, a countdown, task routes, publish signals with receivers,
  sent events, a task or app that sends its own way) goes the whole way.
"""
from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext
from typing import Any

from kombu import Producer

from celery import signals
from celery._canvas.signature import Signature
from celery.app.base import Celery
from celery.app.publish import publish, undeclared
from celery.app.task import Task
from celery.transport.publish_direct import TemplatePublish, template_publisher

__all__ = ('pipelined', 'BATCH_SIZE', 'BulkSender')

#: Messages kept before a batch is written out on its own.
BATCH_SIZE = 1000

#: Options whose message fields depend on the time of sending (eta, expiry):
#: a member with one is sent on its own, as it would be.
_TIMED = frozenset({'countdown', 'eta', 'expires'})

#: Options that differ from member to member without changing the message's
#: shape: the id and the position in the group.
_PER_MEMBER = frozenset({'task_id', 'group_index', 'producer'})

#: The headers set per member (the id, the root when it is the task itself,
#: the position, the argument reprs); the rest are the template's.
_OPEN_HEADERS = ('id', 'root_id', 'group_index', 'argsrepr', 'kwargsrepr')


def pipelined(producer: Any, max_size: int = BATCH_SIZE) -> AbstractContextManager[Any]:
    """Context in which ``producer``'s publishes are written to the broker in batches.

    The messages are the same as when published one by one; they reach the
    broker at the latest when the context exits (an error inside it drops
    those not written yet).  A transport or producer that cannot batch
    publishes each message at once.
    """
    if not isinstance(producer, Producer) or not producer.supports_batch_publish:
        return nullcontext(producer)
    return producer.batch(max_size)


class _Recorder:
    """Stands in for a producer while one message is sent, keeping what it published."""

    def __init__(self, producer: Producer) -> None:
        self.producer = producer
        self.published: tuple[Any, dict[str, Any]] | None = None

    def __getattr__(self, name: str) -> Any:
        # Everything but publish() is the real producer's (channel, connection, ...).
        return getattr(self.producer, name)

    def publish(self, body: Any, retry: bool = False, **publish_args: Any) -> object:
        """Publish through the real producer, keeping the body and arguments."""
        self.published = (body, dict(publish_args))
        return publish(self.producer, body, retry, publish_args)


class _Template:
    """The message a member was published as, with what the next members change."""

    __slots__ = ('key', 'body', 'publish_args', 'headers', 'root_is_id',
                 'reprs', 'retry', 'declared', 'ignore_result', 'task', 'fast')

    def __init__(self, task: Task, key: dict[str, Any], task_id: str,
                 published: tuple[Any, dict[str, Any]], retry: bool,
                 producer: Producer) -> None:
        body, publish_args = published
        headers = publish_args['headers']
        self.task = task
        self.key = key
        self.body = body
        self.publish_args = publish_args
        self.headers = dict(headers)
        # root_id is the task's own id unless a root (or a parent task) was given.
        self.root_is_id = headers.get('root_id') == task_id
        self.reprs = 'argsrepr' not in key and 'kwargsrepr' not in key
        self.retry = retry
        # The queues the first message declared: declared again only when the
        # connection did not keep the declaration (as send_task_message does).
        self.declared = None if 'declare' in key else publish_args.get('declare')
        self.ignore_result = headers.get('ignore_result')
        #: Publishes a member with the encoding done once (an open batch on
        #: an owned AMQP channel), else None.
        self.fast: TemplatePublish | None = None
        if set(_OPEN_HEADERS) <= headers.keys():
            # (Used only for members with nothing left to declare.)
            self.fast = template_publisher(producer, body, dict(publish_args, declare=None),
                                           _OPEN_HEADERS, ('correlation_id',))


class BulkSender:
    """Sends signatures through one producer, reusing the message of the one before."""

    def __init__(self, app: Celery, producer: Producer) -> None:
        self.app = app
        self.producer = producer
        self.template: _Template | None = None
        conf = app.conf
        self.enabled = (type(app).send_task is Celery.send_task
                        and not app.amqp.routes
                        and not conf.task_send_sent_event
                        and not signals.before_task_publish.receivers
                        and not signals.after_task_publish.receivers
                        # (protocol 1 keeps its fields in the body, not in headers)
                        and app.amqp.create_task_message == app.amqp.as_task_v2)

    def send(self, sig: Signature[Any], kwargs: Any = None, **options: Any) -> None:
        """``sig.apply_async(kwargs=kwargs, producer=..., **options)``, the same message."""
        options['producer'] = self.producer
        task = self._plain_task(sig) if self.enabled else None
        if task is None:
            sig.apply_async(kwargs=kwargs, **options)
            return
        args, kwargs, merged = sig._merge(None, kwargs, {
            k: v for k, v in options.items() if v is not None})
        key = {k: v for k, v in merged.items() if k not in _PER_MEMBER}
        template = self.template
        if template is not None and template.task is task and template.key == key:
            self._send_like(template, args, kwargs, merged)
            return
        self.template = None
        if not _TIMED.isdisjoint(key):
            sig.apply_async(kwargs=kwargs, **options)
            return
        recorder = _Recorder(self.producer)
        # The whole way, recording the message: the template for the next ones.
        task.apply_async(args, kwargs, **dict(merged, producer=recorder))
        if recorder.published is not None and 'task_id' in merged:
            retry = merged.get('retry')
            if retry is None:
                retry = self.app.conf.task_publish_retry
            self.template = _Template(task, key, merged['task_id'], recorder.published,
                                      bool(retry), self.producer)

    def _plain_task(self, sig: Signature[Any]) -> Task | None:
        """The task of ``sig`` when it is sent the plain way, else None."""
        if type(sig) is not Signature or sig.subtask_type:
            return None
        try:
            task = sig.type
        except KeyError:
            return None
        cls = type(task)
        if cls.apply_async is not Task.apply_async or cls.shadow_name is not Task.shadow_name:
            return None
        return task

    def _send_like(self, template: _Template, args: Any, kwargs: Any,
                   options: dict[str, Any]) -> None:
        """Publish the template's message with this member's id, position and arguments."""
        task = template.task
        check_arguments = task.__header__ if task.typing else None
        if check_arguments is not None:   # as Task.apply_async checks them
            check_arguments(*(args or ()), **(kwargs or {}))
        args, kwargs = args or (), kwargs or {}   # as the message builder does
        task_id = options['task_id']
        headers = template.headers
        root_id = task_id if template.root_is_id else headers.get('root_id')
        if template.reprs:
            argsrepr, kwargsrepr = self.app.amqp._reprs(args, kwargs, None, None)
        else:
            argsrepr, kwargsrepr = headers.get('argsrepr'), headers.get('kwargsrepr')
        body = template.body
        body = (args, kwargs, body[2]) if isinstance(body, tuple) else body
        producer = self.producer
        if not template.ignore_result:
            self.app.backend.on_task_call(producer, task_id)
        declare = None
        if template.declared:
            declare = [queue for queue in template.declared
                       if undeclared(producer, queue)] or None
        values = (task_id, root_id, options.get('group_index'), argsrepr, kwargsrepr)
        if declare is None and template.fast is not None \
                and template.fast(values, (task_id,), body):
            return
        headers = dict(headers)
        headers.update(zip(_OPEN_HEADERS, values, strict=True))
        publish_args = dict(template.publish_args)
        publish_args['headers'] = headers
        publish_args['correlation_id'] = task_id
        publish_args['declare'] = declare
        publish(producer, body, template.retry, publish_args)
