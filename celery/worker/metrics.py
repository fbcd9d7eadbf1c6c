"""Prometheus metrics of one worker, fed in its main process.

Only imported when :setting:`worker_metrics_port` is set: ``prometheus_client``
is an optional dependency (``celery[metrics]``).  Outcomes are counted from
:data:`~celery.worker.request_events.request_event`, which the main process
sends for every pool callback, so the counts are right with prefork too.
"""
from __future__ import annotations

from bisect import bisect_left
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


class _Histogram:
    """Bucket counts and sum of one series (plain numbers: updated by the loop only)."""

    __slots__ = ('counts', 'total')

    def __init__(self) -> None:
        self.counts = [0] * len(DURATION_BUCKETS)
        self.total = 0.0

    def observe(self, value: float) -> None:
        self.counts[bisect_left(DURATION_BUCKETS, value)] += 1
        self.total += value

    def samples(self) -> tuple[list[tuple[str, float]], float]:
        """Cumulative ``(le, count)`` buckets and the sum, as the exposition wants them."""
        counts, total = list(self.counts), self.total  # one consistent copy
        buckets, running = [], 0
        for bound, count in zip(DURATION_BUCKETS, counts, strict=True):
            running += count
            buckets.append((_le(bound), float(running)))
        return buckets, total


def _le(bound: float) -> str:
    return '+Inf' if bound == float('inf') else repr(bound)


class WorkerMetrics:
    """The worker's metrics in their own registry, and the receivers that feed them.

    Per task the receivers only bump plain numbers in dicts (the event loop is
    their one writer); prometheus_client objects are built when scraped.
    Its metric classes take a lock and a label lookup per update, which cost
    several percent of a fast worker's throughput.
    """

    def __init__(self, gauges: Callable[[], dict[str, float]]) -> None:
        """``gauges`` returns the worker-wide values (read at scrape time)."""
        self.registry = prometheus_client.CollectorRegistry(auto_describe=True)
        self._received_at: dict[str, float] = {}
        #: outcome -> {task name: count}
        self.counts: dict[str, dict[str, int]] = {outcome: {} for outcome in OUTCOMES}
        self.runtime: dict[str, _Histogram] = {}
        self.queue_wait: dict[str, _Histogram] = {}
        self.registry.register(_TaskCollector(self))
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
        received = self.counts['received']
        name = request.name
        received[name] = received.get(name, 0) + 1
        self._received_at[request.id] = _published_at(request.message) or time()

    def on_request_event(self, sender: Any = None, type: str = '',
                         fields: dict | None = None, **kwargs: Any) -> None:
        """A request reported a task event in the main process."""
        outcome = OUTCOME_BY_EVENT.get(type)
        if outcome is None:
            return
        name = sender.name
        counts = self.counts[outcome]
        counts[name] = counts.get(name, 0) + 1
        if outcome == 'started':
            since = self._received_at.pop(sender.id, None)
            if since is not None:
                _series(self.queue_wait, name).observe(max(time() - since, 0.0))
            return
        # A finished task no longer needs its receipt time.
        self._received_at.pop(sender.id, None)
        if outcome in ('succeeded', 'failed'):
            runtime = (fields or {}).get('runtime')
            if runtime is None and sender.time_start is not None:
                runtime = monotonic() - sender.time_start
            if runtime is not None:
                _series(self.runtime, name).observe(max(float(runtime), 0.0))

    # -- exposition ---------------------------------------------------------------

    def exposition(self) -> tuple[bytes, str]:
        """The text exposition of every metric, and its content type."""
        return prometheus_client.generate_latest(self.registry), prometheus_client.CONTENT_TYPE_LATEST


def _series(histograms: dict[str, _Histogram], name: str) -> _Histogram:
    series = histograms.get(name)
    if series is None:
        series = histograms[name] = _Histogram()
    return series


class _TaskCollector:
    """Per-task counters and histograms, from the tallies, when scraped."""

    HISTOGRAMS = {
        'runtime': ('celery_task_runtime_seconds', 'Task execution time, by task name.'),
        'queue_wait': ('celery_task_queue_wait_seconds',
                       'From publish (or receipt if the message has no timestamp) to start.'),
    }

    def __init__(self, metrics: WorkerMetrics) -> None:
        self._metrics = metrics

    def describe(self) -> list[Any]:
        return []

    def collect(self) -> list[Any]:
        from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily
        families: list[Any] = []
        for outcome, by_task in self._metrics.counts.items():
            counter = CounterMetricFamily(f'celery_tasks_{outcome}',
                                          f'Tasks {outcome}, by task name.', labels=['task'])
            for name, value in list(by_task.items()):
                counter.add_metric([name], float(value))
            families.append(counter)
        for attr, (metric, doc) in self.HISTOGRAMS.items():
            family = HistogramMetricFamily(metric, doc, labels=['task'])
            for name, series in list(getattr(self._metrics, attr).items()):
                buckets, total = series.samples()
                family.add_metric([name], buckets, total)
            families.append(family)
        return families


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
