"""With no ops setting, a worker looks as Celery 5.7's on the wire and on the host.

No port, probe thread or metrics receiver; task queues declared without
arguments; revokes not written anywhere; a redelivered message handled as
it is.  (Task message headers are pinned by t/integration/messages.)
"""
from __future__ import annotations

import threading
from typing import Any

import pytest
import redis

from celery.worker.revoke_store import REVOKES_KEY
from t.integration.worker.conftest import REDIS_BACKEND, wait_for
from t.integration.worker.test_dead_letter_exchange import declares_without_arguments

pytestmark = pytest.mark.timeout(120)


def test_default_worker_adds_nothing(make_app: Any, run_worker: Any, unique: str) -> None:
    app = make_app()
    conf = app.conf
    assert (conf.worker_metrics_port, conf.worker_health_port, conf.worker_revokes_backend,
            conf.task_dead_letter_queue, conf.task_dead_letter_exchange,
            conf.task_max_redeliveries) == (None, None, None, None, False, None)

    @app.task(name=f'plain.{unique}', shared=False)
    def plain() -> str:
        return 'ok'

    running = run_worker(app)
    assert plain.delay().get(timeout=20) == 'ok'
    assert not [t.name for t in threading.enumerate() if t.name.startswith('celery-probe')]
    assert getattr(running.worker, 'health', None) is None
    queue = app.conf.task_default_queue
    assert app.amqp.queues[queue].queue_arguments is None
    if app.conf.broker_url.startswith('amqp'):
        assert declares_without_arguments(app, queue)

    revoked = f'revoked-{unique}'
    app.control.revoke(revoked)
    assert wait_for(lambda: revoked in _live_revokes(app, running), timeout=10)
    assert redis.Redis.from_url(REDIS_BACKEND).zscore(REVOKES_KEY, revoked) is None


def _live_revokes(app: Any, running: Any) -> list[str]:
    replies = app.control.inspect(destination=[running.worker.hostname], timeout=2).revoked()
    return next(iter((replies or {}).values()), [])
