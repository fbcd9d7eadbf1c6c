"""Prometheus metrics of one worker, fed in its main process.

Only imported when :setting:`worker_metrics_port` is set: ``prometheus_client``
is an optional dependency (``celery[metrics]``).  Outcomes are counted from
:data:`~celery.worker.request_events.request_event`, which the main process
sends for every pool callback, so the counts are right with prefork too.
"""
from __future__ import annotations

from time import monotonic, time
from typing import Any, Callable

from celery import signals
from celery.worker import state
from celery.worker.request_events import request_event

try:
    import prometheus_client
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError(
        'worker_metrics_port needs prometheus_client: pip install "celery[metrics]"') from exc

__all__ = ('WorkerMetrics', 'OUTCOME_BY_EVENT', 'state_gauges')

#: Task event type -> the ``celery_tasks_<outcome>_total`` counter it bumps.
OUTCOME_BY_EVENT: dict[str, str] = {
    'task-started': 'started',
    'task-succeeded': 'succeeded',
    'task-failed': 'failed',
    'task-retried': 'retried',
    'task-revoked': 'revoked',
    'task-rejected': 'rejected',
}
OUTCOMES = ('received', *OUTCOME_BY_EVENT.values())
# Seconds: from a few ms (no-op tasks) to hours (batch jobs).
DURATION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
                    10.0, 30.0, 60.0, 300.0, 900.0, 3600.0, float('inf'))


class WorkerMetrics:
    """The worker's metrics in their own registry, and the receivers that feed them."""

    def __init__(self, gauges: Callable[[], dict[str, float]]) -> None:
        """``gauges`` returns the worker-wide values (read at scrape time)."""
        self.registry = prometheus_client.CollectorRegistry(auto_describe=True)
        self._received_at: dict[str, float] = {}
        # (outcome, task name) -> counter child: labels() takes a lock per call.
        self._children: dict[tuple[str, str], Any] = {}
        self._tasks = {
            outcome: prometheus_client.Counter(
                f'celery_tasks_{outcome}', f'Tasks {outcome}, by task name.',
                ['task'], registry=self.registry)
            for outcome in OUTCOMES
        }
        self.runtime = prometheus_client.Histogram(
            'celery_task_runtime_seconds', 'Task execution time, by task name.',
            ['task'], buckets=DURATION_BUCKETS, registry=self.registry)
        self.queue_wait = prometheus_client.Histogram(
            'celery_task_queue_wait_seconds',
            'From publish (or receipt if the message has no timestamp) to start.',
            ['task'], buckets=DURATION_BUCKETS, registry=self.registry)
        self.registry.register(_GaugeCollector(gauges))

    # -- receivers ----------------------------------------------------------------

    def connect(self) -> None:
        """Start counting (receivers are connected only when metrics are enabled)."""
        signals.task_received.connect(self.on_task_received, weak=False)
        request_event.connect(self.on_request_event, weak=False)

    def disconnect(self) -> None:
        """Stop counting."""
        signals.task_received.disconnect(self.on_task_received)
        request_event.disconnect(self.on_request_event)

    def on_task_received(self, request: Any = None, **kwargs: Any) -> None:
        """A task message arrived: count it and remember when (for the queue wait)."""
        self._count('received', request.name)
        self._received_at[request.id] = _published_at(request.message) or time()

    def on_request_event(self, sender: Any = None, type: str = '',
                         fields: dict | None = None, **kwargs: Any) -> None:
        """A request reported a task event in the main process."""
        outcome = OUTCOME_BY_EVENT.get(type)
        if outcome is None:
            return
        name = sender.name
        self._count(outcome, name)
        if outcome == 'started':
            self._observe_wait(sender.id, name)
            return
        # A finished task no longer needs its receipt time.
        self._received_at.pop(sender.id, None)
        if outcome in ('succeeded', 'failed'):
            runtime = (fields or {}).get('runtime')
            if runtime is None and sender.time_start is not None:
                runtime = monotonic() - sender.time_start
            if runtime is not None:
                self.runtime.labels(name).observe(max(float(runtime), 0.0))

    def _count(self, outcome: str, name: str) -> None:
        key = (outcome, name)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = self._tasks[outcome].labels(name)
        child.inc()

    def _observe_wait(self, task_id: str, name: str) -> None:
        since = self._received_at.pop(task_id, None)
        if since is not None:
            self.queue_wait.labels(name).observe(max(time() - since, 0.0))

    # -- exposition ---------------------------------------------------------------

    def exposition(self) -> tuple[bytes, str]:
        """The text exposition of every metric, and its content type."""
        return prometheus_client.generate_latest(self.registry), prometheus_client.CONTENT_TYPE_LATEST


def _published_at(message: Any) -> float | None:
    """The AMQP ``timestamp`` property (epoch seconds) when the publisher set one."""
    properties = getattr(message, 'properties', None) or {}
    stamp = properties.get('timestamp')
    if isinstance(stamp, (int, float)) and stamp > 0:
        return float(stamp)
    to_epoch = getattr(stamp, 'timestamp', None)  # py-amqp may give a datetime
    return float(to_epoch()) if callable(to_epoch) else None


class _GaugeCollector:
    """Worker-wide values read when scraped: nothing to update per task."""

    #: name -> (kind, help); counters get Prometheus' ``_total`` suffix.
    FAMILIES = {
        'celery_worker_prefetch_count': ('gauge', 'The broker prefetch window (QoS).'),
        'celery_worker_reserved_tasks': ('gauge', 'Tasks received and not yet finished.'),
        'celery_worker_active_tasks': ('gauge', 'Tasks executing now.'),
        'celery_worker_scheduled_tasks': ('gauge', 'Tasks waiting for their ETA.'),
        'celery_worker_pool_processes': ('gauge', 'Live pool processes (or threads).'),
        'celery_worker_event_loop_lag_seconds': (
            'gauge', 'How late the last periodic event-loop tick ran.'),
        'celery_worker_pool_process_restarts': ('counter', 'Pool processes replaced.'),
        'celery_worker_broker_reconnects': (
            'counter', 'Connections to the broker after the first.'),
    }

    def __init__(self, values: Callable[[], dict[str, float]]) -> None:
        self._values = values

    def describe(self) -> list[Any]:
        return []

    def collect(self) -> list[Any]:
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
        values = self._values()
        return [(CounterMetricFamily if kind == 'counter' else GaugeMetricFamily)(
                    name, doc, value=values.get(name, 0.0))
                for name, (kind, doc) in self.FAMILIES.items()]


def state_gauges(consumer: Any, health: Any) -> dict[str, float]:
    """Current values from the worker state, the consumer's QoS and the loop's snapshot."""
    qos = getattr(consumer, 'qos', None) if consumer is not None else None
    return {
        'celery_worker_prefetch_count': float(getattr(qos, 'value', 0) or 0),
        'celery_worker_reserved_tasks': float(len(state.reserved_requests)),
        'celery_worker_active_tasks': float(len(state.active_requests)),
        'celery_worker_scheduled_tasks': float(len(state.scheduled_requests)),
        'celery_worker_pool_processes': float(health.pool_processes),
        'celery_worker_event_loop_lag_seconds': float(health.loop_lag),
        'celery_worker_pool_process_restarts': float(health.pool_restarts),
        'celery_worker_broker_reconnects': float(health.broker_reconnects),
    }
