"""saferepr: bounded, recursion-safe, never raising."""
from __future__ import annotations

from decimal import Decimal

import pytest

from celery.utils.saferepr import saferepr


@pytest.mark.parametrize('value', [
    (2, 2), {'x': 1, 'y': 'two'}, [1.5, None, True], 'text', 42, (1,), (),
    {'nested': [1, {'deep': (2, 3)}]}, {1, 2}, frozenset({3}), set(), b'bytes',
    Decimal('1.5'), [(), [], {}],
])
def test_small_values_match_repr(value):
    assert saferepr(value) == repr(value)


def test_long_list_is_cut_with_balanced_brackets():
    text = saferepr(list(range(1000)), maxlen=50)
    assert len(text) <= 50 + len('...]')
    assert text.startswith('[0, 1, 2') and text.endswith('...]')


def test_long_string_keeps_quotes():
    text = saferepr('x' * 1000, maxlen=20)
    assert text.startswith("'xxx") and text.endswith("...'")
    assert len(text) < 30


def test_nested_cut_closes_every_container():
    text = saferepr({'k': ['v' * 100, 2]}, maxlen=20)
    assert text.endswith("...']}")


def test_depth_is_limited():
    assert saferepr([[[[[[1]]]]]], maxlevels=3) == '[[[[[...]]]]]'


def test_recursive_structures():
    value = [1]
    value.append(value)
    text = saferepr(value)
    assert text.startswith('[1, <Recursion on list with id=')
    data = {}
    data['self'] = data
    assert 'Recursion on dict' in saferepr(data)


def test_broken_repr_does_not_raise():
    class Broken:
        def __repr__(self):
            raise RuntimeError('nope')

    text = saferepr({'obj': Broken()})
    assert 'Unrepresentable Broken' in text and 'nope' in text


def test_custom_object_repr_is_used_and_cut():
    class Big:
        def __repr__(self):
            return 'B' * 500

    assert saferepr([Big()]) == '[' + 'B' * 500 + ']'
    assert len(saferepr(Big(), maxlen=10)) <= 13


def test_shared_non_recursive_objects_are_not_flagged():
    shared = [1]
    assert saferepr([shared, shared]) == '[[1], [1]]'


def test_reprstream_tokens_are_the_lit_constants():
    from celery.utils import saferepr as sr
    tokens = list(sr.reprstream({'a': [1, (2,)], 'b': {3}}))
    assert tokens == [sr.LIT_DICT_START, "'a'", sr.LIT_DICT_KVSEP, sr.LIT_LIST_START, '1',
                      sr.LIT_LIST_SEP, sr.LIT_TUPLE_START, '2', sr.LIT_TUPLE_END_SV,
                      sr.LIT_LIST_END, sr.LIT_LIST_SEP, "'b'", sr.LIT_DICT_KVSEP,
                      sr.LIT_SET_START, '3', sr.LIT_SET_END, sr.LIT_DICT_END]
    assert ''.join(token if isinstance(token, str) else token.text for token in tokens) == \
        repr({'a': [1, (2,)], 'b': {3}})
    assert [sr.LIT_TUPLE_START.direction, sr.LIT_LIST_SEP.direction,
            sr.LIT_TUPLE_END.direction] == [1, 0, -1]


def test_type_groups():
    from decimal import Decimal

    from celery.utils import saferepr as sr
    assert sr.chars_t == (bytes, str) and sr.set_t == (frozenset, set)
    assert {int, float, bool, type(None), complex, Decimal} <= set(sr.safe_t)
    assert [sr.saferepr(value) for value in (set(), frozenset(), frozenset({1}))] == [
        'set()', 'frozenset()', 'frozenset({1})']


def test_cut_on_a_closing_token_keeps_brackets_balanced():
    from celery.utils.saferepr import saferepr
    text = saferepr([[object()] * 0, ('x' * 300,)], maxlen=20)
    assert text.count('[') == text.count(']') and text.count('(') == text.count(')')
    assert saferepr((('a' * 10,),) * 2, maxlen=16, maxlevels=0).count('(') == \
        saferepr((('a' * 10,),) * 2, maxlen=16, maxlevels=0).count(')')
