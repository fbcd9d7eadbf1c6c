"""An embedded worker for tests: runs a real worker in a thread of this process."""
from __future__ import annotations

import logging
import logging.handlers
import os
import pickle
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import TYPE_CHECKING, Any

from celery import _state
from celery.contrib.testing import tasks as _ping_task  # noqa: F401 - registers celery.ping
from celery.exceptions import (
    ImproperlyConfigured,
    OperationalError,
    TimeoutError,
    WorkerShutdown,
)
from celery.result import allow_join_result
from celery.signals import worker_process_init
from celery.utils.dispatch import Signal
from celery.utils.log import get_logger
from celery.utils.nodenames import anon_nodename, gethostname
from celery.worker.consumer.consumer import Consumer
from celery.worker.worker import WorkController

if TYPE_CHECKING:
    from billiard.queues import Queue

    from celery.app.base import Celery

__all__ = (
    'WORKER_LOGLEVEL',
    'TestConsumer',
    'TestWorkController',
    'setup_app_for_worker',
    'start_worker',
    'test_worker_started',
    'test_worker_starting',
    'test_worker_stopped',
)

logger = get_logger(__name__)

#: Log level of embedded workers (env ``WORKER_LOGLEVEL``).
WORKER_LOGLEVEL = os.environ.get('WORKER_LOGLEVEL', 'error')
#: Seconds to wait for an embedded worker to start consuming.
STARTUP_TIMEOUT = float(os.environ.get('WORKER_STARTUP_TIMEOUT', '30'))
#: Seconds the in-memory transport sleeps between empty polls in tests.
MEMORY_POLLING_INTERVAL = 0.01
#: Seconds between two looks for the ping's answer in the result backend.
PING_POLL_INTERVAL = 0.02

test_worker_starting = Signal(name='test_worker_starting', providing_args={})
test_worker_started = Signal(name='test_worker_started', providing_args={'worker', 'consumer'})
test_worker_stopped = Signal(name='test_worker_stopped', providing_args={'worker'})

E_PREFORK_MEMORY_BACKEND = (
    'The prefork pool runs tasks in child processes, which cannot store results '
    'in the in-process {backend!r} result backend of this process. Use a shared '
    "result backend (e.g. 'redis://') or the 'solo' or 'threads' pool."
)
E_PING_TIMEOUT = (
    'The embedded worker {hostname} did not answer the celery.ping task within '
    '{timeout}s. Check that it consumes from queue {queue!r} of broker {broker} '
    'and stores results in the backend this process reads ({backend}).'
)
E_NOT_STARTED = (
    'The embedded worker {hostname} did not start consuming within {timeout}s '
    '(broker {broker}); see the logged errors for the cause.'
)
E_DIED = (
    'The embedded worker {hostname} stopped before it started consuming '
    '(broker {broker}); see the logged errors for the cause.'
)
E_APP_NOT_IMPORTABLE = (
    'The worker process must import the app {app!r} by name, but no loaded module '
    "holds it: define it at module level, or pass app_path='module:attribute'."
)
E_PROCESS_START = (
    'The worker process {hostname} could not start (exit code {code}); its log '
    '{logfile} says:\n{log}'
)
E_PROCESS_DIED = (
    'The worker process {hostname} exited before it answered a ping; its log '
    '{logfile} says:\n{log}'
)
E_PROCESS_PING = (
    'The worker process {hostname} did not answer a ping within {timeout}s (broker '
    '{broker}, control exchange {exchange!r}); its log {logfile} says:\n{log}'
)
E_SHUTDOWN_TIMEOUT = (
    'Worker thread failed to exit within the allocated timeout ({timeout}s). '
    'Consider raising `shutdown_timeout` if your tasks take longer to execute.'
)


class _ChildLogQueueHandler(logging.handlers.QueueHandler):
    """Sends the log records of a pool child to the parent through a queue."""

    def prepare(self, record: logging.LogRecord) -> logging.LogRecord:
        """Return the record with its message, traceback and extras made picklable."""
        return _picklable(record)


def _picklable(record: logging.LogRecord) -> logging.LogRecord:
    # Tracebacks and arbitrary ``extra`` values don't pickle: send text.
    record.msg = record.getMessage()
    record.args = None
    if record.exc_info:
        record.exc_text = logging.Formatter().formatException(record.exc_info)
        record.exc_info = None
    for key, value in list(record.__dict__.items()):
        try:
            pickle.dumps(value)
        except Exception:  # noqa: BLE001 - any pickling failure means "use repr"
            record.__dict__[key] = repr(value)
    return record


class _ChildLogForwarder:
    """Replays log records of prefork children in this process (so caplog sees them).

    One queue and listener serve every embedded prefork worker of the process:
    a child may be forked by any of them, and all records end up in the same
    logging tree anyway.
    """

    _instance: _ChildLogForwarder | None = None
    _lock = threading.Lock()

    def __init__(self) -> None:
        from billiard import Queue
        self.queue = Queue()
        self.parent_pid = os.getpid()
        worker_process_init.connect(self.on_child_init, weak=False)
        threading.Thread(target=self.listen, name='celery-test-child-logs',
                         daemon=True).start()

    @classmethod
    def install(cls) -> _ChildLogForwarder:
        """Start the process-wide forwarder (once)."""
        with cls._lock:
            if cls._instance is None:
                cls._instance = cls()
            return cls._instance

    def on_child_init(self, **kwargs: Any) -> None:
        """In a pool child: replace the inherited handlers with the queue."""
        if os.getpid() == self.parent_pid:
            return
        logging.getLogger().handlers = [_ChildLogQueueHandler(self.queue)]

    def listen(self) -> None:
        """Hand every record a child sent to the matching logger of this process."""
        while True:
            try:
                record = self.queue.get()
            except (EOFError, OSError):
                return
            logging.getLogger(record.name).handle(record)


#: The consumer class of ``worker_consumer``'s default, replaced by :class:`TestConsumer`.
DEFAULT_CONSUMER = 'celery.worker.consumer:Consumer'


class _LazyStrategies(dict):
    """Task strategies that also cover tasks defined after the worker started."""

    def __init__(self, consumer: Consumer) -> None:
        super().__init__()
        self.consumer = consumer

    def __missing__(self, name: str) -> Any:
        from celery.app.trace import build_tracer
        consumer = self.consumer
        task = consumer.app.tasks[name]  # KeyError: really unknown
        task.__trace__ = build_tracer(name, task, consumer.app.loader, consumer.hostname,
                                      app=consumer.app)
        strategy = self[name] = task.start_strategy(consumer.app, consumer)
        return strategy


class TestConsumer(Consumer):
    """A consumer that handles tasks defined inside a test, after it started."""

    __test__ = False  # not a pytest test class, despite the name

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.strategies = _LazyStrategies(self)


class TestWorkController(WorkController):
    """A worker that tells when it is consuming, for running inside tests."""

    __test__ = False  # not a pytest test class, despite the name

    #: Handler pool children log through: it sends records to :attr:`logger_queue`.
    QueueHandler = _ChildLogQueueHandler
    #: Queue carrying the log records of prefork children to this process
    #: (set when the worker uses the prefork pool).
    logger_queue: Queue | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._on_started = threading.Event()
        super().__init__(*args, **kwargs)
        if self.pool_cls.__module__.endswith('.prefork'):
            self.logger_queue = _ChildLogForwarder.install().queue

    def setup_defaults(self, consumer_cls: str | type[Consumer] | None = None,
                       **kwargs: Any) -> None:
        """Use :class:`TestConsumer` unless a consumer class was chosen."""
        super().setup_defaults(consumer_cls=consumer_cls, **kwargs)
        if consumer_cls is None and self.consumer_cls == DEFAULT_CONSUMER:
            self.consumer_cls = TestConsumer

    def on_consumer_ready(self, consumer: Consumer) -> None:
        """Send :data:`test_worker_started` and wake up :meth:`ensure_started`."""
        test_worker_started.send(sender=self.app, worker=self, consumer=consumer)
        self._on_started.set()

    def ensure_started(self, timeout: float | None = None) -> bool:
        """Block until the worker consumes (or ``timeout`` passed); return whether it does."""
        return self._on_started.wait(timeout)

    def request_stop(self) -> None:
        """Ask the worker, from any thread, for a warm shutdown in its own thread."""
        consumer = self.consumer
        if consumer is not None:
            consumer.call_soon(_raise_shutdown)


def _raise_shutdown() -> None:
    raise WorkerShutdown(0)


def setup_app_for_worker(app: Celery, loglevel: int | str, logfile: str | None) -> None:
    """Finalize ``app``, make it the default and current app, set up its logging."""
    app.finalize()
    app.set_current()
    app.set_default()
    app.log.setup(loglevel=loglevel, logfile=logfile)
    _poll_memory_transport_often(app)


def _poll_memory_transport_often(app: Celery) -> None:
    # The in-memory transport sleeps a whole second between empty polls by
    # default, which would add up to a second to every task of a test.
    if app.connection_for_read().transport_cls != 'memory':
        return
    options = dict(app.conf.broker_transport_options or {})
    options.setdefault('polling_interval', MEMORY_POLLING_INTERVAL)
    app.conf.broker_transport_options = options


def _check_broker(app: Celery) -> None:
    with app.connection_for_write(os.environ.get('TEST_BROKER')) as conn:
        try:
            conn.ensure_connection(max_retries=3, interval_start=0.2, interval_step=0.5)
        except conn.connection_errors + (OperationalError,) as exc:
            raise OperationalError(
                f'Cannot start the embedded worker: broker {conn.as_uri()} is not '
                f'reachable ({exc!r}). Start the broker or fix broker_url.') from exc


def _check_pool_can_store_results(app: Celery, pool: Any) -> None:
    backend = app.conf.result_backend or ''
    if str(pool) == 'prefork' and str(backend).startswith(('cache+memory', 'memory')):
        raise ImproperlyConfigured(E_PREFORK_MEMORY_BACKEND.format(backend=backend))


def _wait_until_consuming(worker: TestWorkController, thread: threading.Thread,
                          timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not worker.ensure_started(0.05):
        if not thread.is_alive() or time.monotonic() > deadline:
            broker = worker.app.connection_for_write().as_uri()
            if not thread.is_alive():
                raise OperationalError(E_DIED.format(hostname=worker.hostname, broker=broker))
            worker.request_stop()
            raise TimeoutError(E_NOT_STARTED.format(
                hostname=worker.hostname, timeout=timeout, broker=broker))
    logger.debug('Embedded worker %s is consuming', worker.hostname)


@contextmanager
def _start_worker_thread(app: Celery, concurrency: int = 1, pool: str = 'solo',
                         loglevel: int | str = WORKER_LOGLEVEL, logfile: str | None = None,
                         WorkController: type[TestWorkController] = TestWorkController,
                         perform_ping_check: bool = True, shutdown_timeout: float = 10.0,
                         **kwargs: Any) -> Iterator[TestWorkController]:
    """Run a worker for ``app`` in a daemon thread while the block runs."""
    setup_app_for_worker(app, loglevel, logfile)
    if perform_ping_check:
        if 'celery.ping' not in app.tasks:
            raise ImproperlyConfigured(
                "The ping check needs the 'celery.ping' task: import "
                'celery.contrib.testing.tasks before the app is finalized, '
                'or pass perform_ping_check=False.')
        _check_pool_can_store_results(app, pool)
    _check_broker(app)
    worker = WorkController(
        app=app, concurrency=concurrency, hostname=kwargs.pop('hostname', anon_nodename()),
        pool=pool, loglevel=loglevel, logfile=logfile, ready_callback=None,
        without_heartbeat=kwargs.pop('without_heartbeat', True),
        without_mingle=True, without_gossip=True, **kwargs)
    thread = threading.Thread(target=worker.start, name=f'celery-test-worker:{worker.hostname}',
                              daemon=True)
    thread.start()
    _wait_until_consuming(worker, thread, STARTUP_TIMEOUT)
    _state._set_task_join_will_block(False)
    try:
        yield worker
    finally:
        worker.request_stop()
        thread.join(shutdown_timeout)
        if thread.is_alive():
            raise RuntimeError(E_SHUTDOWN_TIMEOUT.format(timeout=shutdown_timeout))


def _ping(app: Celery, worker: TestWorkController, timeout: float) -> None:
    consumed = list(app.amqp.queues.consume_from)
    queue = app.conf.task_default_queue
    if consumed and queue not in consumed:
        queue = consumed[0]
    with allow_join_result():
        result = app.tasks['celery.ping'].apply_async(queue=queue)
        try:
            answer = result.get(timeout=timeout, interval=PING_POLL_INTERVAL)
        except TimeoutError:
            raise TimeoutError(E_PING_TIMEOUT.format(
                hostname=worker.hostname, timeout=timeout, queue=queue,
                broker=app.connection_for_write().as_uri(),
                backend=app.backend.as_uri())) from None
        with suppress(NotImplementedError):
            result.forget()
    if answer != 'pong':
        raise AssertionError(f'celery.ping answered {answer!r} instead of \'pong\'')


@contextmanager
def start_worker(app: Celery, concurrency: int = 1, pool: str = 'solo',
                 loglevel: int | str = WORKER_LOGLEVEL, logfile: str | None = None,
                 perform_ping_check: bool = True, ping_task_timeout: float = 10.0,
                 shutdown_timeout: float = 10.0, **kwargs: Any) -> Iterator[TestWorkController]:
    """Run a worker for ``app`` in a thread while the block runs; yield it once consuming.

    Mingle, gossip and the worker heartbeat are off; with ``perform_ping_check``
    the worker must answer the ``celery.ping`` task before the block starts.
    """
    test_worker_starting.send(sender=app)
    worker = None
    try:
        with _start_worker_thread(app, concurrency=concurrency, pool=pool, loglevel=loglevel,
                                  logfile=logfile, perform_ping_check=perform_ping_check,
                                  shutdown_timeout=shutdown_timeout, **kwargs) as worker:
            if perform_ping_check:
                _ping(app, worker, ping_task_timeout)
            yield worker
    finally:
        test_worker_stopped.send(sender=app, worker=worker)


def _importable_name(app: Celery) -> str:
    """``module:attribute`` under which a worker process can import ``app``."""
    candidates = [sys.modules.get(app.main)] if app.main else []
    candidates += [module for name, module in list(sys.modules.items()) if name != '__main__']
    for module in candidates:
        for attribute, value in list(getattr(module, '__dict__', {}).items()):
            if value is app:
                return f'{module.__name__}:{attribute}'
    raise ImproperlyConfigured(E_APP_NOT_IMPORTABLE.format(app=app))


def _worker_process_env() -> dict[str, str]:
    # The detached worker runs from '/', so it needs this process's import path.
    path = [entry or os.getcwd() for entry in sys.path]
    return dict(os.environ, PYTHONPATH=os.pathsep.join(path))


def _read_log(logfile: str, max_chars: int = 4000) -> str:
    try:
        with open(logfile, errors='replace') as fh:
            return fh.read()[-max_chars:] or '(empty)'
    except FileNotFoundError:
        return "(no log was written: the command's own error output is above)"
    except OSError as exc:
        return f'(unreadable: {exc})'


def _wait_until_process_answers(app: Celery, node: Any, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    seen_pid = None
    while time.monotonic() < deadline:
        replies = app.control.ping(destination=[node.name], timeout=0.5, limit=1) or []
        if any(node.name in reply for reply in replies):
            logger.debug('Worker process %s answers pings', node.name)
            return
        seen_pid = seen_pid or node.pid
        if seen_pid and not node.alive():
            raise OperationalError(E_PROCESS_DIED.format(
                hostname=node.name, logfile=node.logfile, log=_read_log(node.logfile)))
    raise TimeoutError(E_PROCESS_PING.format(
        hostname=node.name, timeout=timeout, broker=app.connection_for_write().as_uri(),
        exchange=app.conf.control_exchange, logfile=node.logfile, log=_read_log(node.logfile)))


def _worker_options(app_path: str, workdir: str, pool: str, concurrency: int,
                    loglevel: Any, logfile: str | None, extra: dict[str, Any]) -> dict[str, Any]:
    options: dict[str, Any] = {
        '-A': app_path, '--pidfile': os.path.join(workdir, '%n.pid'),
        '--logfile': logfile or os.path.join(workdir, '%n.log'),
        '--pool': pool, '--concurrency': str(concurrency), '--loglevel': str(loglevel),
        '--without-mingle': '', '--without-gossip': '',
    }
    for key, value in extra.items():
        if value is not False and value is not None:
            options[f'--{key.replace("_", "-")}'] = '' if value is True else str(value)
    return options


@contextmanager
def _start_worker_process(app: Celery, concurrency: int = 1, pool: str = 'solo',
                          loglevel: int | str = WORKER_LOGLEVEL, logfile: str | None = None,
                          hostname: str | None = None, app_path: str | None = None,
                          startup_timeout: float = STARTUP_TIMEOUT,
                          shutdown_timeout: float = 10.0, **kwargs: Any) -> Iterator[Any]:
    """Run ``celery worker`` for ``app`` in its own process while the block runs.

    The worker is started detached through :class:`celery.apps.multi.Cluster`
    (like ``celery multi start``), must answer a remote-control ping before
    the block starts, and gets a warm shutdown (then SIGKILL after
    ``shutdown_timeout``) when it ends.  Yields the :class:`~celery.apps.multi.Node`.
    Extra keyword arguments become worker options (``queues='a,b'`` is ``--queues=a,b``).
    """
    from celery.apps.multi import Cluster, Node
    app.set_current()
    app_path = app_path or _importable_name(app)
    hostname = hostname or f'testworker-{uuid.uuid4().hex[:8]}@{gethostname()}'
    with tempfile.TemporaryDirectory(prefix='celery-test-worker-') as workdir:
        options = _worker_options(app_path, workdir, pool, concurrency, loglevel, logfile,
                                  kwargs)
        node = Node(hostname, options=options)
        cluster = Cluster([node], env=_worker_process_env())
        [code] = cluster.start()
        if code:
            raise OperationalError(E_PROCESS_START.format(
                hostname=hostname, code=code, logfile=node.logfile,
                log=_read_log(node.logfile)))
        try:
            _wait_until_process_answers(app, node, startup_timeout)
            yield node
        finally:
            if not cluster.shutdown(timeout=shutdown_timeout, interval=0.1):
                logger.warning('Worker process %s ignored the warm shutdown for %ss: killed',
                               hostname, shutdown_timeout)
                cluster.kill()
