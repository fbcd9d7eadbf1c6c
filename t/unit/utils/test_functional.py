"""Functional helpers, and head_from_fun argument checking."""
from __future__ import annotations

import pickle

import pytest

from celery.utils.functional import (
    chunks,
    dictfilter,
    first,
    firstmethod,
    fun_accepts_kwargs,
    fun_takes_argument,
    head_from_fun,
    is_list,
    lazy,
    mattrgetter,
    maybe_evaluate,
    maybe_list,
    memoize,
    mlazy,
    padlist,
    regen,
    seq_concat_item,
    seq_concat_seq,
    uniq,
)


def call_error(fun, *args, **kwargs) -> str:
    with pytest.raises(TypeError) as excinfo:
        fun(*args, **kwargs)
    return str(excinfo.value)


class TestHeadFromFun:

    def test_accepts_what_the_function_accepts(self):
        def add(x, y, z=3, *, w=None):
            return x + y

        head = head_from_fun(add)
        head(1, 2)
        head(1, 2, 3, w=4)
        head(x=1, y=2)

    def test_same_messages_as_python(self):
        def add(x, y):
            return x + y

        head = head_from_fun(add)
        for args, kwargs in [((1,), {}), ((1, 2, 3), {}), ((1, 2), {'q': 1}), ((), {})]:
            assert call_error(head, *args, **kwargs) == call_error(add, *args, **kwargs)

    def test_never_runs_the_function(self):
        def explode(x):
            raise AssertionError('should not run')

        head_from_fun(explode)(1)

    def test_varargs_and_kwargs(self):
        def fun(a, *args, b, c=1, **kwargs):
            pass

        head = head_from_fun(fun)
        head(1, 2, 3, b=1, anything=2)
        assert 'b' in call_error(head, 1)

    def test_keyword_only_without_varargs(self):
        def fun(a, *, b):
            pass

        head = head_from_fun(fun)
        head(1, b=2)
        assert call_error(head, 1, 2) == call_error(fun, 1, 2)

    def test_positional_only(self):
        def fun(a, b, /, c):
            pass

        head = head_from_fun(fun)
        head(1, 2, 3)
        assert call_error(head, a=1, b=2, c=3) == call_error(fun, a=1, b=2, c=3)

    def test_defaults_are_any_objects(self):
        marker = object()

        def fun(a=marker, b=[1], c=lambda: 1):  # noqa: B006
            pass

        head_from_fun(fun)()

    def test_bound_skips_self(self):
        def task(self, x):
            pass

        head = head_from_fun(task, bound=True)
        head(1)
        with pytest.raises(TypeError):
            head()

    def test_bound_method(self):
        class Thing:
            def run(self, x, y=1):
                pass

        head = head_from_fun(Thing().run)
        head(1)
        with pytest.raises(TypeError):
            head(1, 2, 3)

    def test_callable_instance_and_lambda(self):
        class Callable:
            def __call__(self, x):
                pass

        head_from_fun(Callable())(1)
        head = head_from_fun(lambda x: x)
        head(1)
        with pytest.raises(TypeError):
            head()


def test_fun_takes_argument():
    def fun(a, b, c=1):
        pass

    assert fun_takes_argument('c', fun)
    assert not fun_takes_argument('d', fun)
    assert fun_takes_argument('d', lambda **kw: 1)
    assert fun_takes_argument('x', fun, position=3)
    assert not fun_takes_argument('x', fun, position=4)


def test_fun_accepts_kwargs():
    assert fun_accepts_kwargs(lambda **kw: 1)
    assert not fun_accepts_kwargs(lambda a, b=1: 1)


def test_lazy_evaluates_every_time_and_mlazy_once():
    counter = []

    def bump():
        counter.append(1)
        return len(counter)

    value = lazy(bump)
    assert value() == 1 and value() == 2
    once = mlazy(bump)
    assert once() == 3 and once() == 3
    assert maybe_evaluate(lazy(lambda: 'v')) == 'v'
    assert maybe_evaluate(5) == 5


def test_lazy_pickles():
    value = pickle.loads(pickle.dumps(lazy(sum, [1, 2])))
    assert value() == 3


def test_memoize_caches_and_counts():
    calls = []

    @memoize(maxsize=2)
    def square(x):
        calls.append(x)
        return x * x

    assert square(2) == 4 and square(2) == 4
    assert calls == [2]
    assert (square.hits, square.misses) == (1, 1)
    square(3), square(4), square(2)
    assert calls == [2, 3, 4, 2]
    square.clear()
    assert square.hits == 0


def test_first_and_firstmethod():
    assert first(lambda x: x > 1, [1, 2, 3]) == 2
    assert first(None, [None, 0, 1]) == 0
    assert first(lambda x: False, [1]) is None

    class A:
        def route(self, x):
            return None

    class B:
        def route(self, x):
            return x * 2

    assert firstmethod('route')([object(), A(), B()], 4) == 8


def test_iteration_helpers():
    assert list(chunks(iter(range(7)), 3)) == [[0, 1, 2], [3, 4, 5], [6]]
    assert padlist(['a'], 3) == ['a', None, None]
    assert padlist([1, 2, 3, 4], 2) == [1, 2]
    assert list(uniq([1, 2, 1, 3, 2])) == [1, 2, 3]
    assert mattrgetter('real', 'missing')(3) == {'real': 3, 'missing': None}


def test_dictfilter_and_lists():
    assert dictfilter({'a': 1, 'b': None}, c=None, e=2) == {'a': 1, 'e': 2}
    assert is_list([1]) and not is_list('abc') and not is_list({'a': 1})
    assert maybe_list('a') == ['a']
    assert maybe_list(['a']) == ['a']
    assert maybe_list(None) is None


def test_seq_concat():
    assert seq_concat_item((1,), 2) == (1, 2)
    assert seq_concat_item([1], 2) == [1, 2]
    assert seq_concat_seq((1,), [2, 3]) == [1, 2, 3]


class TestRegen:

    def test_can_iterate_a_generator_twice(self):
        items = regen(x for x in range(3))
        assert list(items) == [0, 1, 2]
        assert list(items) == [0, 1, 2]

    def test_consumes_lazily(self):
        consumed = []

        def gen():
            for i in range(10):
                consumed.append(i)
                yield i

        items = regen(gen())
        assert items[1] == 1
        assert consumed == [0, 1]
        assert bool(items)
        assert len(items) == 10

    def test_lists_pass_through(self):
        value = [1, 2]
        assert regen(value) is value

    def test_pickles_as_list(self):
        assert pickle.loads(pickle.dumps(regen(iter([1, 2])))) == [1, 2]

    def test_negative_index_and_slice(self):
        items = regen(iter(range(5)))
        assert items[-1] == 4
        assert regen(iter(range(5)))[1:3] == [1, 2]

    def test_empty_is_falsy(self):
        assert not regen(iter([]))
        assert regen(iter([])).data == []
