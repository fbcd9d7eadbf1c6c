"""Integration-test helpers: wait for conditions, join results, query workers."""
from __future__ import annotations

import sys
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from functools import partial
from itertools import count
from typing import TYPE_CHECKING, Any, TextIO, TypeVar

from kombu.exceptions import ContentDisallowed
from kombu.utils.functional import retry_over_time

from celery import exceptions, states
from celery.result import AsyncResult, GroupResult, ResultSet
from celery.utils.text import truncate
from celery.utils.time import humanize_seconds as _humanize_seconds

if TYPE_CHECKING:
    from celery.app.base import Celery
    from celery.app.control import Inspect

#: What the function a helper waits on returns.
T = TypeVar('T')

__all__ = ('Manager', 'ManagerMixin', 'Sentinel')

E_STILL_WAITING = 'Still waiting for {0}.  Trying again {when}: {exc!r}'

humanize_seconds = partial(_humanize_seconds, microseconds=True)

#: States in which a worker holds a task it received (``inspect query_task``).
RECEIVED_STATES = ('reserved', 'active', 'ready')
#: States in which a worker started executing a task.
ACCEPTED_STATES = ('active', 'ready')


class Sentinel(Exception):
    """A condition polled by :meth:`ManagerMixin.wait_for` is not true yet."""


class ManagerMixin:
    """Helpers for tests that drive real workers (mixed into a class with ``app``)."""

    app: Celery

    def _init_manager(self, block_timeout: float = 30 * 60.0, no_join: bool = False,
                      stdout: TextIO | None = None, stderr: TextIO | None = None) -> None:
        self.stdout = sys.stdout if stdout is None else stdout
        self.stderr = sys.stderr if stderr is None else stderr
        self.connerrors = self.app.connection().recoverable_connection_errors
        self.block_timeout = block_timeout
        self.no_join = no_join

    def remark(self, s: str, sep: str = '-') -> None:
        """Print a progress note to ``stdout``."""
        print(f'{sep}{s}', file=self.stdout)

    def warn(self, s: str) -> None:
        """Print a warning to ``stderr``."""
        print(s, file=self.stderr)

    def missing_results(self, r: Iterable[AsyncResult | GroupResult]) -> list[str]:
        """Ids of the results in ``r`` that have not arrived yet."""
        return [res.id for res in r if res.id is not None and not res.ready()]

    def wait_for(self, fun: Callable[..., T], catch: tuple[type[BaseException], ...],
                 desc: str = 'thing', args: tuple[Any, ...] = (),
                 kwargs: dict[str, Any] | None = None, errback: Callable[..., Any] | None = None,
                 max_retries: int | None = 10, interval_start: float = 0.1,
                 interval_step: float = 0.5, interval_max: float = 5.0,
                 emit_warning: bool = False, **options: Any) -> T:
        """Call ``fun`` until it stops raising one of ``catch``; return its value."""
        def on_error(exc: BaseException, intervals: Iterator[float], retries: int) -> float:
            interval = next(intervals)
            if emit_warning:
                self.warn(E_STILL_WAITING.format(
                    desc, when=humanize_seconds(interval, 'in', ' '), exc=exc))
            if errback:
                errback(exc, interval, retries)
            return interval

        value: T = self.retry_over_time(
            fun, catch, args=args, kwargs=kwargs or {}, errback=on_error,
            max_retries=max_retries, interval_start=interval_start,
            interval_step=interval_step, interval_max=interval_max, **options)
        return value

    def ensure_not_for_a_while(self, fun: Callable[..., Any],
                               catch: tuple[type[BaseException], ...], desc: str = 'thing',
                               max_retries: int = 20, interval_start: float = 0.1,
                               interval_step: float = 0.02, interval_max: float = 1.0,
                               emit_warning: bool = False, **options: Any) -> None:
        """Assert that ``fun`` keeps raising one of ``catch`` for a while."""
        try:
            self.wait_for(fun, catch, desc=desc, max_retries=max_retries,
                          interval_start=interval_start, interval_step=interval_step,
                          interval_max=interval_max, emit_warning=emit_warning, **options)
        except catch:
            return
        raise AssertionError(f'Should not have happened: {desc}')

    # Celery's signature: the function is the first of ``args``; its result is returned.
    def retry_over_time(self, *args: Any, **kwargs: Any) -> Any:
        """:func:`kombu.utils.functional.retry_over_time`."""
        return retry_over_time(*args, **kwargs)

    def join(self, r: AsyncResult | ResultSet, propagate: bool = False, max_retries: int = 10,
             **kwargs: Any) -> list[Any] | None:
        """Wait for result (or result set) ``r``, remarking on what is still missing."""
        if self.no_join:
            return None
        results: ResultSet = r if isinstance(r, ResultSet) else self.app.ResultSet([r])
        received: list[str | None] = []

        def on_result(task_id: str | None, value: object) -> None:
            received.append(task_id)

        for _ in range(max_retries) if max_retries else count(0):
            received[:] = []
            try:
                values: list[Any] | None = results.get(callback=on_result,
                                                       propagate=propagate, **kwargs)
                return values
            except (TimeoutError, exceptions.TimeoutError) as exc:
                waiting_for = self.missing_results(results.results or ())
                self.remark('Still waiting for {}/{}: [{}]: {!r}'.format(
                    len(results) - len(received), len(results),
                    truncate(', '.join(waiting_for)), exc), '!')
            except self.connerrors as exc:
                self.remark(f'join: connection lost: {exc!r}', '!')
        raise AssertionError('Test failed: Missing task results')

    def inspect(self, timeout: float = 3.0) -> Inspect:
        """An ``app.control.inspect`` instance with ``timeout``."""
        inspect: Inspect = self.app.control.inspect(timeout=timeout)
        return inspect

    def query_tasks(self, ids: Iterable[str], timeout: float = 0.5) -> Iterator[tuple[str, Any]]:
        """``(hostname, {task_id: (state, info)})`` for every worker that replied."""
        tasks = self.inspect(timeout).query_task(*ids) or {}
        yield from tasks.items()

    def query_task_states(self, ids: Iterable[str], timeout: float = 0.5) -> dict[str, set[str]]:
        """Task ids grouped by the state workers report (reserved, active, ready)."""
        found: defaultdict[str, set[str]] = defaultdict(set)
        for _hostname, reply in self.query_tasks(ids, timeout=timeout):
            for task_id, (state, _info) in reply.items():
                found[state].add(task_id)
        return found

    def assert_accepted(self, ids: Iterable[str], interval: float = 0.5,
                        desc: str = 'waiting for tasks to be accepted', **policy: Any) -> bool:
        """Wait until a worker started executing every task in ``ids``."""
        return self.assert_task_worker_state(self.is_accepted, ids, interval=interval,
                                             desc=desc, **policy)

    def assert_received(self, ids: Iterable[str], interval: float = 0.5,
                        desc: str = 'waiting for tasks to be received', **policy: Any) -> bool:
        """Wait until a worker received every task in ``ids``."""
        return self.assert_task_worker_state(self.is_received, ids, interval=interval,
                                             desc=desc, **policy)

    def assert_result_tasks_in_progress_or_completed(
            self, async_results: list[AsyncResult], interval: float = 0.5,
            desc: str = 'waiting for tasks to be started or completed', **policy: Any) -> bool:
        """Wait until every result's state is STARTED or SUCCESS."""
        return self.assert_task_state_from_result(
            self.is_result_task_in_progress, async_results, interval=interval, desc=desc,
            **policy)

    def assert_task_state_from_result(self, fun: Callable[..., T],
                                      results: Iterable[AsyncResult],
                                      interval: float = 0.5, **policy: Any) -> T:
        """Wait until ``fun(results)`` is true (polling the result backend)."""
        return self.wait_for(partial(self.true_or_raise, fun, results, timeout=interval),
                             (Sentinel,), **policy)

    @staticmethod
    def is_result_task_in_progress(results: Iterable[AsyncResult], **kwargs: Any) -> bool:
        """Whether every result is STARTED or SUCCESS."""
        return all(result.state in (states.STARTED, states.SUCCESS) for result in results)

    def assert_task_worker_state(self, fun: Callable[..., T], ids: Iterable[str],
                                 interval: float = 0.5, **policy: Any) -> T:
        """Wait until ``fun(ids)`` is true (asking the workers)."""
        return self.wait_for(partial(self.true_or_raise, fun, ids, timeout=interval),
                             (Sentinel,), **policy)

    def is_received(self, ids: Iterable[str], **kwargs: Any) -> bool:
        """Whether workers report every task in ``ids`` as received."""
        return self._ids_match_states(RECEIVED_STATES, ids, **kwargs)

    def is_accepted(self, ids: Iterable[str], **kwargs: Any) -> bool:
        """Whether workers report every task in ``ids`` as started."""
        return self._ids_match_states(ACCEPTED_STATES, ids, **kwargs)

    def _ids_match_states(self, expected: tuple[str, ...], ids: Iterable[str],
                          timeout: float = 0.5) -> bool:
        ids = list(ids)
        found = self.query_task_states(ids, timeout=timeout)
        seen = set().union(*(found[state] for state in expected))
        return all(task_id in seen for task_id in ids)

    def true_or_raise(self, fun: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Return ``fun(*args, **kwargs)``, raising :exc:`Sentinel` when falsy."""
        res = fun(*args, **kwargs)
        if not res:
            raise Sentinel()
        return res

    def wait_until_idle(self, timeout: float = 30.0) -> None:
        """Purge the app's queues, then wait until no worker runs a task.

        Purging drops every message waiting in the queues this app consumes
        from: give the test app queues of its own.
        """
        control = self.app.control
        with self.app.connection() as connection:
            while control.purge(connection=connection):
                pass
            inspect = control.inspect(connection=connection)
            self.wait_for(partial(self.true_or_raise, self._no_active_tasks, inspect),
                          (Sentinel,), desc='workers to be idle',
                          max_retries=None, timeout=timeout)

    @staticmethod
    def _no_active_tasks(inspect: Any) -> bool:
        try:
            replies = inspect.active() or {}
        except ContentDisallowed:
            return True
        return not any(replies.values())


class Manager(ManagerMixin):
    """Test helpers bound to ``app``."""

    def __init__(self, app: Celery, **kwargs: Any) -> None:
        self.app = app
        self._init_manager(**kwargs)
