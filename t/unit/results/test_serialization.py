"""Exception (de)serialization across the wire and the serialization helpers."""
from __future__ import annotations

import pickle
from datetime import datetime, timezone

import pytest

from celery.backends import exceptions as codec
from celery.exceptions import SecurityError
from celery.utils.serialization import (UnpickleableExceptionWrapper, ensure_serializable,
                                        get_pickleable_exception, get_pickled_exception,
                                        jsonify, strtobool)


class Unpickleable(Exception):
    def __init__(self, value: object) -> None:
        super().__init__(value)
        self.lock = __import__('threading').Lock()


class CustomError(Exception):
    pass


def test_known_exception_round_trips_as_original_type() -> None:
    data = codec.exception_to_dict(KeyError('k'), repr)
    assert data == {'exc_type': 'KeyError', 'exc_message': ('k',), 'exc_module': 'builtins'}
    exc = codec.exception_from_dict(data)
    assert type(exc) is KeyError and exc.args == ('k',)


def test_nested_class_is_found_by_qualname() -> None:
    class Outer:
        class Inner(Exception):
            pass
    import sys
    sys.modules[__name__].Outer = Outer
    data = codec.exception_to_dict(Outer.Inner('x'), repr)
    assert data['exc_type'].endswith('Outer.Inner')
    data['exc_type'] = 'Outer.Inner'
    assert type(codec.exception_from_dict(data)) is Outer.Inner


def test_unknown_exception_is_synthesized_with_same_name() -> None:
    exc = codec.exception_from_dict(
        {'exc_type': 'NoSuchError', 'exc_message': ['a', 1], 'exc_module': 'not.imported'})
    assert type(exc).__name__ == 'NoSuchError'
    assert type(exc).__module__ == 'celery.exceptions'
    assert isinstance(exc, Exception) and exc.args == ('a', 1)


@pytest.mark.parametrize('exc_type,exc_module', [('system', 'os'), ('dumps', 'pickle'),
                                                 ('str', 'builtins')])
def test_non_exception_types_are_refused(exc_type: str, exc_module: str) -> None:
    with pytest.raises(SecurityError):
        codec.exception_from_dict(
            {'exc_type': exc_type, 'exc_message': ['echo hi'], 'exc_module': exc_module})


def test_missing_exc_type_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match='exception type'):
        codec.exception_from_dict({'exc_message': 'x'})


def test_json_never_unpickles() -> None:
    assert codec.exception_to_python(
        {'exc_type': 'ValueError', 'exc_message': ['x'], 'exc_module': 'builtins'},
        'json').args == ('x',)
    assert codec.exception_to_python(None, 'json') is None


def test_unserializable_args_become_reprs() -> None:
    import json
    obj = object()
    data = codec.prepare_exception(ValueError(obj, 1), 'json', json.dumps)
    assert data['exc_message'] == (repr(obj), 1)


def test_pickle_keeps_exception_objects() -> None:
    exc = CustomError('x')
    assert codec.prepare_exception(exc, 'pickle', repr) is exc
    wrapped = codec.prepare_exception(Unpickleable('v'), 'pickle', repr)
    assert isinstance(wrapped, UnpickleableExceptionWrapper)
    restored = codec.exception_to_python(pickle.loads(pickle.dumps(wrapped)), 'pickle')
    assert type(restored).__name__ == 'Unpickleable' and restored.args == ('v',)


def test_pickleable_helpers() -> None:
    exc = ValueError(1)
    assert get_pickleable_exception(exc) is exc
    assert get_pickled_exception(exc) is exc


@pytest.mark.parametrize('text,value', [('yes', True), ('0', False), ('OFF', False),
                                        ('True', True), (True, True)])
def test_strtobool(text: object, value: bool) -> None:
    assert strtobool(text) is value


def test_strtobool_rejects_garbage() -> None:
    with pytest.raises(TypeError):
        strtobool('maybe')


def test_jsonify() -> None:
    when = datetime(2020, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    assert jsonify({'a': (1, when), 'b': {1, 2} and [1]}) == {
        'a': [1, '2020-01-02T03:04:05Z'], 'b': [1]}
    with pytest.raises(ValueError):
        jsonify(object())
    assert jsonify(object(), unknown_type_filter=lambda o: 'x') == 'x'


def test_ensure_serializable() -> None:
    import json
    assert ensure_serializable([1, {1, 2}], json.dumps) == (1, repr({1, 2}))
