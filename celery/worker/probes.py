"""Bootsteps serving the worker's metrics and health probes over HTTP.

Included only when :setting:`worker_metrics_port` or :setting:`worker_health_port`
is set (or ``--metrics-port``/``--health-port``): by default the worker has no
extra thread, port or signal receiver.
"""
from __future__ import annotations

from typing import Any

from celery import bootsteps
from celery.worker.health import TICK_INTERVAL, WorkerHealth
from celery.worker.http_probe import PLAIN, ProbeServer, Response, Route

__all__ = ('Probes', 'ConsumerProbe')


class Probes(bootsteps.StartStopStep):
    """Worker step: binds the probe ports at apply time, serves them while running."""

    label = 'Probes'
    conditional = True
    requires = ('celery.worker.components:Pool',)

    def __init__(self, w: Any, metrics_port: int | None = None,
                 health_port: int | None = None, **kwargs: Any) -> None:
        conf = w.app.conf
        self.metrics_port = _port(metrics_port, conf.worker_metrics_port)
        self.health_port = _port(health_port, conf.worker_health_port)
        self.address = conf.worker_metrics_address or '127.0.0.1'
        self.servers: list[ProbeServer] = []
        self.metrics: Any = None
        if self.include_if(w):
            # The consumer step reports connections and runs the loop's tick.
            w.app.steps['consumer'].add(ConsumerProbe)

    def include_if(self, w: Any) -> bool:
        return self.metrics_port is not None or self.health_port is not None

    def create(self, w: Any) -> Any:
        w.health = WorkerHealth()
        routes_by_port: dict[int, tuple[str, dict[str, Route]]] = {}
        if self.health_port is not None:
            routes_by_port[self.health_port] = ('worker_health_port',
                                                _health_routes(w.health, w))
        if self.metrics_port is not None:
            from celery.worker.metrics import WorkerMetrics, state_gauges
            self.metrics = WorkerMetrics(lambda: state_gauges(w.consumer, w.health))
            setting, routes = routes_by_port.get(self.metrics_port, ('worker_metrics_port', {}))
            routes['/metrics'] = _metrics_route(self.metrics)
            routes_by_port[self.metrics_port] = (setting, routes)
        try:
            for port, (setting, routes) in routes_by_port.items():
                self.servers.append(ProbeServer(self.address, port, routes, setting=setting))
        except Exception:
            self._close_servers()
            raise
        return self

    def start(self, w: Any) -> None:
        if self.metrics is not None:
            self.metrics.connect()
        for server in self.servers:
            server.start()

    def stop(self, w: Any) -> None:
        if self.metrics is not None:
            self.metrics.disconnect()
        self._close_servers()

    def _close_servers(self) -> None:
        for server in self.servers:
            server.stop()
        self.servers = []

    def info(self, obj: Any) -> dict[str, Any]:
        return {'probes': {'ports': [server.port for server in self.servers]}}


class ConsumerProbe(bootsteps.StartStopStep):
    """Consumer step: readiness follows the connection; the loop ticks the health state."""

    label = 'ConsumerProbe'
    conditional = True
    requires = ('celery.worker.consumer.tasks:Tasks',)

    def __init__(self, c: Any, **kwargs: Any) -> None:
        self._tref: Any = None

    def include_if(self, c: Any) -> bool:
        return getattr(c.controller, 'health', None) is not None

    def start(self, c: Any) -> None:
        health = c.controller.health
        health.on_consuming()
        tick = _ticker(health, c.controller)
        tick()
        # The consumer clears its timer on each reconnect: schedule again per start.
        self._tref = c.timer.call_repeatedly(TICK_INTERVAL, tick)

    def stop(self, c: Any) -> None:
        health = getattr(c.controller, 'health', None)
        if health is not None:
            health.on_connection_lost()
        if self._tref is not None:
            self._tref.cancel()
            self._tref = None

    def shutdown(self, c: Any) -> None:
        self.stop(c)


def _ticker(health: WorkerHealth, worker: Any) -> Any:
    def tick() -> None:
        health.tick(worker.pool)
    return tick


def _port(option: int | None, setting: int | None) -> int | None:
    value = option if option is not None else setting
    return int(value) if value is not None else None


def _health_routes(health: WorkerHealth, worker: Any) -> dict[str, Route]:
    return {'/healthz': lambda: _probe_response(health.liveness()),
            '/readyz': lambda: _probe_response(_readiness(health, worker))}


def _readiness(health: WorkerHealth, worker: Any) -> tuple[bool, str]:
    """Connected and consuming, and at least one queue left to consume from.

    ``cancel_consumer`` of every queue leaves the worker connected but idle:
    not ready.  Read from the probe thread: one attribute walk, no lock.
    """
    ready, detail = health.readiness()
    if not ready:
        return ready, detail
    task_consumer = getattr(getattr(worker, 'consumer', None), 'task_consumer', None)
    if task_consumer is not None and not task_consumer.queues:
        return False, 'not consuming any queue'
    return True, detail


def _probe_response(result: tuple[bool, str]) -> Response:
    ok, detail = result
    return (200 if ok else 503), f'{detail}\n'.encode(), PLAIN


def _metrics_route(metrics: Any) -> Route:
    def serve() -> Response:
        body, content_type = metrics.exposition()
        return 200, body, content_type
    return serve
