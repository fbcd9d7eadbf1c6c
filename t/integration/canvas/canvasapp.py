"""Tasks used by the canvas integration tests (worker and client build the same app)."""
from __future__ import annotations

import os
import time
from typing import Any

from celery import Celery
from celery.canvas import group, signature


class ExpectedError(Exception):
    """Raised on purpose by ``fail``."""


def make_app(broker: str, backend: str, queue: str, chord_expires: float | None = None) -> Celery:
    """An app whose every task (built-ins included) goes to ``queue``."""
    app = Celery(f'canvas-{queue}', broker=broker, backend=backend, set_as_current=False)
    # None keeps the default (result_expires).
    app.conf.result_chord_expires = chord_expires
    app.conf.update(task_default_queue=queue, result_chord_retry_interval=0.1,
                    worker_prefetch_multiplier=16, broker_connection_retry_on_startup=True,
                    task_allow_error_cb_on_chord_header=False,
                    # A header task's lost process is reported quickly.
                    worker_lost_wait=1.0)

    @app.task(name='canvas.add')
    def add(x: int, y: int) -> int:
        return x + y

    @app.task(name='canvas.mul')
    def mul(x: int, y: int) -> int:
        return x * y

    @app.task(name='canvas.xsum')
    def xsum(numbers: Any) -> int:
        return sum(sum(n) if isinstance(n, list) else n for n in numbers)

    @app.task(name='canvas.identity')
    def identity(x: Any) -> Any:
        return x

    @app.task(name='canvas.noop')
    def noop(*args: Any, **kwargs: Any) -> None:
        return None

    @app.task(name='canvas.fail')
    def fail(*args: Any) -> None:
        raise ExpectedError(f'failed on purpose with {args!r}')

    @app.task(name='canvas.sleep')
    def sleep(seconds: float) -> float:
        time.sleep(seconds)
        return seconds

    @app.task(name='canvas.die')
    def die() -> None:
        # The pool process vanishes mid-task: the worker reports it lost.
        os._exit(1)

    @app.task(name='canvas.record_errback')
    def record_errback(task_id: str = '', key: str = '') -> None:
        # Old-style errback: gets the failed task's id (none when immutable).
        app.backend.client.rpush(key, task_id)

    @app.task(name='canvas.record_errback_request')
    def record_errback_request(request: Any, exc: BaseException, traceback: Any,
                               key: str = '') -> None:
        # New-style errback: runs in the worker with the request and exception.
        app.backend.client.rpush(key, f'{request.id}|{type(exc).__name__}|{exc}')

    @app.task(name='canvas.record')
    def record(value: Any, key: str) -> Any:
        app.backend.client.rpush(key, repr(value))
        return value

    @app.task(name='canvas.ids', bind=True)
    def ids(self: Any, *args: Any, i: int = 0) -> dict[str, Any]:
        # Where the task sat in its workflow, as the worker saw it.
        return {'i': i, 'id': self.request.id, 'parent_id': self.request.parent_id,
                'root_id': self.request.root_id, 'group_id': self.request.group}

    @app.task(name='canvas.replace_with', bind=True)
    def replace_with(self: Any, sig: Any) -> Any:
        return self.replace(signature(sig, app=app))

    @app.task(name='canvas.add_to_chord', bind=True)
    def add_to_chord(self: Any, value: int) -> int:
        self.add_to_chord(add.si(value, 100))
        return value

    @app.task(name='canvas.tsum_group_results')
    def tsum(numbers: Any) -> int:
        return sum(numbers)

    @app.task(name='canvas.fan_out')
    def fan_out(n: int) -> Any:
        # A task returning nothing useful but starting a group (result graph).
        return group(add.s(i, i) for i in range(n)).delay().id

    return app


_chord_expires = os.environ.get('CANVAS_CHORD_EXPIRES')
app = make_app(os.environ.get('CANVAS_BROKER', 'memory://'),
               os.environ.get('CANVAS_BACKEND', 'cache+memory://'),
               os.environ.get('CANVAS_QUEUE', 'canvas'),
               chord_expires=float(_chord_expires) if _chord_expires else None)
