"""The app the worker behaviour tests start with ``celery -A workerapp worker``.

Everything unique to a test comes from the environment: the default queue
(``WORKER_TEST_QUEUE``), a Redis key prefix for results
(``WORKER_TEST_PREFIX``), a directory where tasks and signal handlers leave
traces (``WORKER_TEST_DIR``) and extra settings as JSON (``WORKER_TEST_CONF``).
"""
from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path
from typing import Any

from celery import Celery, signals
from celery.exceptions import Ignore, Reject, SoftTimeLimitExceeded
from t.servers import REDIS_BACKEND_URL

RESULT_BACKEND = REDIS_BACKEND_URL
TRACE_DIR = Path(os.environ.get('WORKER_TEST_DIR', '.'))

app = Celery('workerapp')
app.conf.update(
    task_default_queue=os.environ.get('WORKER_TEST_QUEUE', 'celery'),
    result_backend=RESULT_BACKEND,
    result_backend_transport_options={'global_keyprefix': os.environ.get('WORKER_TEST_PREFIX', '')},
    broker_connection_retry_on_startup=True,
    worker_lost_wait=2.0,
)
app.conf.update(json.loads(os.environ.get('WORKER_TEST_CONF', '{}')))


def record(kind: str, **fields: Any) -> None:
    """Append one JSON line to ``events.jsonl`` (parent and children share the file)."""
    line = json.dumps({'kind': kind, 'pid': os.getpid(), **fields}, default=repr) + '\n'
    # One O_APPEND write per line: lines from several processes never interleave.
    fd = os.open(TRACE_DIR / 'events.jsonl', os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line.encode())
    finally:
        os.close(fd)


def once(marker: str) -> bool:
    """True the first time ``marker`` is seen (a file survives child deaths)."""
    path = TRACE_DIR / f'{marker}.once'
    try:
        path.touch(exist_ok=False)
    except FileExistsError:
        return False
    return True


@app.task
def add(x: int, y: int) -> int:
    """Return ``x + y``."""
    return x + y


@app.task
def pid() -> int:
    """Return the pid of the child that ran it."""
    return os.getpid()


@app.task
def sleep_then(seconds: float, value: Any = None) -> Any:
    """Sleep, then return ``value``."""
    time.sleep(seconds)
    return value


@app.task
def stamp(marker: str) -> float:
    """Record when it ran; return that time."""
    now = time.time()
    record('stamp', marker=marker, at=now)
    return now


@app.task(bind=True)
def catch_soft_limit(self: Any, seconds: float) -> str:
    """Sleep past the soft time limit and report that it was raised."""
    try:
        time.sleep(seconds)
    except SoftTimeLimitExceeded:
        return 'soft limit caught'
    return 'no limit'


@app.task(acks_late=True, reject_on_worker_lost=True)
def die_once_requeued(marker: str) -> str:
    """SIGKILL the child the first time; redelivered, it succeeds."""
    if once(marker):
        os.kill(os.getpid(), signal.SIGKILL)
    return 'survived'


@app.task
def die_once(marker: str) -> str:
    """SIGKILL the child (early ack: the task is lost and marked failed)."""
    if once(marker):
        os.kill(os.getpid(), signal.SIGKILL)
    return 'survived'


@app.task(default_retry_delay=0, max_retries=2)
def die_until(marker: str, deaths: int) -> int:
    """SIGKILL the child on the first ``deaths`` attempts; return the attempt number."""
    attempt = len(list(TRACE_DIR.glob(f'{marker}.attempt*')))
    (TRACE_DIR / f'{marker}.attempt{attempt}').touch()
    if attempt < deaths:
        os.kill(os.getpid(), signal.SIGKILL)
    return attempt


@app.task(acks_late=True)
def slow_late(seconds: float, marker: str) -> str:
    """An acks_late task that records its start and end."""
    record('start', marker=marker)
    time.sleep(seconds)
    record('end', marker=marker)
    return marker


@app.task(autoretry_for=(KeyError,), retry_backoff=0.1, retry_backoff_max=1,
          retry_jitter=False, max_retries=3, bind=True)
def flaky(self: Any, fail_times: int) -> int:
    """Fail with KeyError ``fail_times`` times, then return the retry count."""
    if self.request.retries < fail_times:
        raise KeyError(self.request.retries)
    return self.request.retries


@app.task(bind=True, max_retries=1, default_retry_delay=0)
def retry_forever(self: Any) -> None:
    """Always retry: ends in MaxRetriesExceededError."""
    raise self.retry(countdown=0)


@app.task
def boom(message: str = 'boom') -> None:
    """Raise ValueError."""
    raise ValueError(message)


@app.task
def on_error(request: Any, exc: Any, traceback: Any) -> None:
    """An errback (new-style signature ``(request, exc, traceback)``)."""
    record('errback', task_id=request.id, exc=repr(exc))


@app.task
def rejects(requeue: bool = False) -> None:
    """Raise Reject."""
    raise Reject('no thanks', requeue=requeue)


@app.task
def ignores() -> None:
    """Raise Ignore."""
    raise Ignore()


@app.task(bind=True)
def tracked(self: Any, seconds: float, **kwargs: Any) -> dict:
    """Sleep (so STARTED can be observed) and return the request's info."""
    time.sleep(seconds)
    return {'hostname': self.request.hostname, 'retries': self.request.retries}


@app.task(rate_limit='4/s')
def limited(marker: str) -> float:
    """Rate-limited to 4 a second."""
    now = time.time()
    record('limited', marker=marker, at=now)
    return now


@app.task
def hog(megabytes: int) -> int:
    """Keep ``megabytes`` alive in the child (grows its RSS) and return the pid."""
    _HOARD.append(bytearray(megabytes * 1024 * 1024))
    return os.getpid()


_HOARD: list[bytearray] = []


class Handlers(app.Task):
    """A task class recording every handler call."""

    def before_start(self, task_id: str, args: Any, kwargs: Any) -> None:
        record('before_start', task_id=task_id, args=args, kwargs=kwargs)

    def on_success(self, retval: Any, task_id: str, args: Any, kwargs: Any) -> None:
        record('on_success', task_id=task_id, retval=retval, args=args)

    def on_failure(self, exc: Any, task_id: str, args: Any, kwargs: Any, einfo: Any) -> None:
        record('on_failure', task_id=task_id, exc=repr(exc), einfo=bool(einfo))

    def on_retry(self, exc: Any, task_id: str, args: Any, kwargs: Any, einfo: Any) -> None:
        record('on_retry', task_id=task_id, exc=repr(exc))

    def after_return(self, status: str, retval: Any, task_id: str, args: Any, kwargs: Any,
                     einfo: Any) -> None:
        record('after_return', task_id=task_id, status=status)


@app.task(base=Handlers, bind=True, max_retries=1, default_retry_delay=0)
def handled(self: Any, mode: str) -> str:
    """Succeed, fail or retry once depending on ``mode``."""
    if mode == 'fail':
        raise ValueError('handled failure')
    if mode == 'retry' and not self.request.retries:
        raise self.retry(exc=KeyError('again'), countdown=0)
    return mode


def _task_id(task_id: Any = None, request: Any = None, sender: Any = None, **kw: Any) -> Any:
    if task_id:
        return task_id
    if request is not None:
        return getattr(request, 'id', None)
    return getattr(getattr(sender, 'request', None), 'id', None)


@signals.task_prerun.connect
def _on_prerun(sender: Any = None, task_id: str = '', task: Any = None, args: Any = None,
               kwargs: Any = None, **kw: Any) -> None:
    record('task_prerun', task_id=task_id, task=task.name, args=args)


@signals.task_postrun.connect
def _on_postrun(sender: Any = None, task_id: str = '', task: Any = None, retval: Any = None,
                state: str = '', **kw: Any) -> None:
    record('task_postrun', task_id=task_id, task=task.name, retval=retval, state=state)


@signals.task_success.connect
def _on_success(sender: Any = None, result: Any = None, **kw: Any) -> None:
    record('task_success', task_id=sender.request.id, task=sender.name, result=result)


@signals.task_failure.connect
def _on_failure(sender: Any = None, task_id: str = '', exception: Any = None, args: Any = None,
                einfo: Any = None, **kw: Any) -> None:
    record('task_failure', task_id=task_id, task=sender.name, exception=repr(exception),
           einfo=einfo is not None)


@signals.task_retry.connect
def _on_retry(sender: Any = None, request: Any = None, reason: Any = None, einfo: Any = None,
              **kw: Any) -> None:
    record('task_retry', task_id=request.id, task=sender.name, reason=repr(reason))


@signals.task_revoked.connect
def _on_revoked(sender: Any = None, request: Any = None, terminated: bool = False,
                signum: Any = None, expired: bool = False, **kw: Any) -> None:
    record('task_revoked', task_id=request.id, terminated=terminated, expired=expired)


@signals.task_received.connect
def _on_received(sender: Any = None, request: Any = None, **kw: Any) -> None:
    record('task_received', task_id=request.id, task=request.name)


@signals.task_unknown.connect
def _on_unknown(sender: Any = None, name: str = '', id: str = '', message: Any = None,
                exc: Any = None, **kw: Any) -> None:
    record('task_unknown', name=name, task_id=id, exc=repr(exc))


@signals.task_rejected.connect
def _on_rejected(sender: Any = None, message: Any = None, exc: Any = None, **kw: Any) -> None:
    record('task_rejected', exc=repr(exc), headers=getattr(message, 'headers', None))


@signals.task_internal_error.connect
def _on_internal_error(sender: Any = None, task_id: str = '', exception: Any = None,
                       **kw: Any) -> None:
    record('task_internal_error', task_id=task_id, exception=repr(exception))


@signals.worker_process_init.connect
def _stall_first_child(**kw: Any) -> None:
    """With ``WORKER_TEST_STALL_INIT`` set, the first pool child never comes up."""
    if os.environ.get('WORKER_TEST_STALL_INIT') and once('stall-init'):
        record('stalled', pid=os.getpid())
        time.sleep(60)
