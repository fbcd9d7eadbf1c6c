"""Proxy forwards to its factory's object on every use; PromiseProxy evaluates once."""
from __future__ import annotations

import pickle

import pytest

from celery.local import PromiseProxy, Proxy, maybe_evaluate, try_import


class Target:
    """Plain object to stand behind proxies."""

    greeting = 'hello'

    def __init__(self, value: int = 1) -> None:
        self.value = value


def test_proxy_calls_the_factory_with_its_arguments_each_time():
    calls = []

    def factory(*args, **kwargs):
        calls.append((args, kwargs))
        return Target(args[0])

    proxy = Proxy(factory, args=(5,), kwargs={'k': 1})
    assert proxy.value == 5
    assert proxy.value == 5
    assert calls == [((5,), {'k': 1})] * 2


def test_proxy_forwards_attributes_operators_and_class():
    target = Target()
    proxy = Proxy(lambda: target)
    proxy.value = 7
    assert target.value == 7
    del proxy.value
    assert not hasattr(target, 'value')
    assert isinstance(proxy, Target) and proxy.__class__ is Target
    numbers = Proxy(lambda: [1, 2])
    assert len(numbers) == 2 and 2 in numbers and list(numbers) == [1, 2]
    assert numbers + [3] == [1, 2, 3] and numbers == [1, 2]


def test_proxy_name_and_doc_can_be_given():
    proxy = Proxy(lambda: Target(), name='custom', __doc__='Documented.')
    assert proxy.__name__ == 'custom'
    assert proxy.__doc__ == 'Documented.'
    plain = Proxy(lambda: Target)
    assert plain.__name__ == 'Target' and plain.__doc__ == Target.__doc__


def test_proxy_class_attributes_are_strings():
    assert Proxy.__name__ == 'Proxy'
    assert Proxy.__module__ == 'celery.local'
    assert isinstance(Proxy.__doc__, str)


def test_promise_proxy_evaluates_once_and_drops_the_factory():
    calls = []

    def factory():
        calls.append(1)
        return Target(3)

    promise = PromiseProxy(factory)
    assert not promise.__evaluated__()
    assert promise.value == 3 and promise.value == 3
    assert calls == [1]
    assert promise.__evaluated__()
    with pytest.raises(AttributeError):
        object.__getattribute__(promise, '_Proxy__local')


def test_promise_proxy_runs_pending_callbacks_in_order_on_evaluation():
    seen = []
    promise = PromiseProxy(lambda: Target())
    promise.__then__(seen.append, 'first')
    promise.__then__(lambda *a, **kw: seen.append((a, kw)), 1, key=2)
    assert seen == []
    assert maybe_evaluate(promise).value == 1
    assert seen == ['first', ((1,), {'key': 2})]
    with pytest.raises(AttributeError):
        object.__getattribute__(promise, '__pending__')


def test_promise_proxy_then_after_evaluation_calls_at_once():
    seen = []
    promise = PromiseProxy(lambda: Target())
    promise.__evaluate__()
    promise.__then__(seen.append, 'now')
    assert seen == ['now']


def test_promise_proxy_failing_callback_discards_the_rest():
    seen = []
    promise = PromiseProxy(lambda: Target())

    def boom():
        raise KeyError('boom')

    promise.__then__(boom)
    promise.__then__(seen.append, 'later')
    with pytest.raises(KeyError):
        promise.__evaluate__()
    assert seen == []
    assert promise.__evaluated__()
    with pytest.raises(AttributeError):
        object.__getattribute__(promise, '__pending__')


def test_maybe_evaluate_and_try_import():
    assert maybe_evaluate(5) == 5
    assert try_import('pickle') is pickle
    assert try_import('no_such_module_here', default='d') == 'd'
