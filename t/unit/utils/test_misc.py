"""Timer thread, threads, objects, sysinfo, debug, deprecation, ABCs, annotations."""
from __future__ import annotations

import threading
import time
import warnings
from typing import Optional

import pytest

from celery.exceptions import CDeprecationWarning, CPendingDeprecationWarning
from celery.utils import abstract, deprecated
from celery.utils.annotations import (
    annotation_is_class,
    annotation_issubclass,
    get_optional_arg,
    is_none_type,
)
from celery.utils.debug import humanbytes, mem_rss, memdump, sample_mem
from celery.utils.objects import Bunch, FallbackContext, getitem_property, mro_lookup
from celery.utils.quorum_queues import detect_quorum_queues
from celery.utils.sysinfo import df, load_average
from celery.utils.threads import (
    LocalManager,
    LocalStack,
    bgThread,
    default_socket_timeout,
)
from celery.utils.timer2 import Timer


def wait_for(predicate, timeout=5.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError('timed out')
        time.sleep(0.005)


@pytest.fixture
def timer():
    timer = Timer(max_interval=30)
    yield timer
    timer.stop()


class TestTimer:

    def test_call_after_runs_soon_even_with_long_max_interval(self, timer):
        done = threading.Event()
        timer.call_after(30, lambda: None)
        started = time.monotonic()
        timer.call_after(0.05, done.set)
        assert done.wait(5)
        assert time.monotonic() - started < 2

    def test_call_at_and_enter_after(self, timer):
        results = []
        timer.call_at(time.monotonic() + 0.01, results.append, ('at',))
        timer.enter_after(0.02, timer.schedule.Entry(results.append, ('entry',)))
        wait_for(lambda: len(results) == 2)
        assert results == ['at', 'entry']

    def test_call_repeatedly_and_cancel(self, timer):
        ticks = []
        entry = timer.call_repeatedly(0.01, ticks.append, (1,))
        wait_for(lambda: len(ticks) >= 3)
        timer.cancel(entry)
        count = len(ticks)
        time.sleep(0.05)
        assert len(ticks) <= count + 1

    def test_clear_empty_queue(self, timer):
        timer.call_after(10, lambda: None)
        timer.call_after(5, lambda: None)
        assert len(timer.queue) == 2 and not timer.empty()
        timer.clear()
        assert timer.empty()

    def test_errors_go_to_on_error(self):
        errors = []
        timer = Timer(on_error=errors.append)
        try:
            timer.call_after(0, lambda: 1 / 0)
            wait_for(lambda: errors)
        finally:
            timer.stop()
        assert isinstance(errors[0], ZeroDivisionError)

    def test_stop_before_start(self):
        Timer().stop()


def test_bgthread_runs_body_until_stopped():
    calls = []

    class Worker(bgThread):
        def body(self):
            calls.append(1)
            time.sleep(0.001)

    thread = Worker()
    thread.start()
    wait_for(lambda: calls)
    thread.stop()
    assert not thread.is_alive()
    assert thread.daemon and thread.name == 'Worker'


def test_local_stack_is_per_thread():
    stack = LocalStack()
    stack.push('main')
    seen = []
    thread = threading.Thread(target=lambda: seen.append(stack.top))
    thread.start()
    thread.join(5)
    assert seen == [None]
    assert stack.top == 'main' and len(stack) == 1
    assert stack.pop() == 'main'
    assert stack.pop() is None and stack.top is None


def test_local_manager_cleanup():
    stack = LocalStack()
    stack.push(1)
    LocalManager([stack]).cleanup()
    assert stack.top is None


def test_default_socket_timeout():
    import socket
    before = socket.getdefaulttimeout()
    with default_socket_timeout(3.0):
        assert socket.getdefaulttimeout() == 3.0
    assert socket.getdefaulttimeout() == before


def test_objects():
    assert Bunch(a=1, b=2).b == 2

    class Base:
        def meth(self):
            pass

    class Child(Base):
        pass

    assert mro_lookup(Child, 'meth') is Base
    assert mro_lookup(Child, 'missing') is None
    assert mro_lookup(Child, 'meth', stop={Base}) is None

    class Message(dict):
        meta = getitem_property('headers.meta')

    message = Message(headers={'meta': 1})
    assert message.meta == 1
    message.meta = 2
    assert message['headers']['meta'] == 2


def test_fallback_context():
    from contextlib import contextmanager
    entered = []

    @contextmanager
    def fallback(value):
        entered.append(value)
        yield value

    with FallbackContext('given', fallback, 'fb') as value:
        assert value == 'given'
    with FallbackContext(None, fallback, 'fb') as value:
        assert value == 'fb'
    assert entered == ['fb']


def test_sysinfo():
    assert len(load_average()) == 3
    usage = df('/')
    assert 0 <= usage.capacity <= 100 and usage.available > 0


def test_debug(capsys):
    assert humanbytes(1024) == '1KB'
    assert humanbytes(1536 * 1024) == '1.5MB'
    assert humanbytes(10) == '10b'
    assert mem_rss().endswith('B')
    sample_mem()
    memdump()
    assert 'rss (end)' in capsys.readouterr().out


def test_deprecation_helpers():
    with pytest.warns(CDeprecationWarning):
        deprecated.warn('thing', removal='6.0')
    with pytest.warns(CPendingDeprecationWarning):
        deprecated.warn('thing', deprecation='5.0', removal='6.0')

    @deprecated.Callable(removal='6.0', alternative='use new()')
    def old():
        return 1

    with pytest.warns(CDeprecationWarning, match='use new'):
        assert old() == 1

    class Thing:
        @deprecated.Property(removal='6.0')
        def value(self):
            return 2

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        assert Thing().value == 2
    assert caught


def test_abstract_classes_check_duck_typing():
    class TaskLike:
        def delay(self): ...
        def apply_async(self): ...
        def apply(self): ...
        def __call__(self): ...

    assert issubclass(TaskLike, abstract.CallableTask)
    assert not issubclass(TaskLike, abstract.CallableSignature)
    assert not issubclass(object, abstract.CallableTask)


def test_annotations():
    assert is_none_type(type(None)) and not is_none_type(int)
    assert get_optional_arg(Optional[int]) is int  # noqa: UP045 - the typing form too
    assert get_optional_arg(int | None) is int
    assert get_optional_arg(int) is None
    assert get_optional_arg(int | str | None) is None
    assert annotation_is_class(int) and not annotation_is_class(list[int])
    assert annotation_issubclass(bool, int) and not annotation_issubclass(list[int], list)


def test_detect_quorum_queues():
    class Queue:
        def __init__(self, arguments):
            self.queue_arguments = arguments

    class App:
        class amqp:
            queues = {'classic': Queue(None), 'q': Queue({'x-queue-type': 'quorum'})}  # noqa: RUF012

    assert detect_quorum_queues(App, 'amqp') == (True, 'q')
    assert detect_quorum_queues(App, 'redis') == (False, '')
