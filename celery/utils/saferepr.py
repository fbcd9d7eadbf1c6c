"""Length- and depth-bounded ``repr`` that never raises and survives recursion.

Used for ``argsrepr``/``kwargsrepr`` of every published task and for results
in log messages, so the common case (a few small built-in values) takes a
fast path through the builtin :func:`repr`.
"""
from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any, NamedTuple

__all__ = ('reprstream', 'saferepr')

#: Marker appended where output was cut.
ELLIPSIS = '...'

#: Types whose builtin ``repr`` is used as is (short and never raising).
safe_t = (int, float, bool, type(None), complex, Decimal)
#: Text types: their repr is cut inside the quotes.
chars_t = (bytes, str)
#: Set types: an empty one has no braces of its own (``set()``).
set_t = (frozenset, set)
_FAST_ITEMS = frozenset({int, float, bool, type(None), str})

#: Values made of at most this many simple items use the builtin ``repr``.
_FAST_MAX_ITEMS = 64
_FAST_MAX_STR = 256


class _literal(NamedTuple):
    """A token of a container's repr: opens (+1) or closes (-1) it, or separates (0)."""

    text: str
    direction: int
    #: What closes the container this token opens.
    closer: str = ''


LIT_DICT_START = _literal('{', 1, '}')
LIT_DICT_KVSEP = _literal(': ', 0)
LIT_DICT_END = _literal('}', -1)
LIT_LIST_START = _literal('[', 1, ']')
LIT_LIST_SEP = _literal(', ', 0)
LIT_LIST_END = _literal(']', -1)
LIT_SET_START = _literal('{', 1, '}')
LIT_SET_END = _literal('}', -1)
LIT_TUPLE_START = _literal('(', 1, ')')
LIT_TUPLE_END = _literal(')', -1)
#: The end of a one-item tuple.
LIT_TUPLE_END_SV = _literal(',)', -1)


class _Quoted(str):
    """The repr of a str/bytes: when cut, the closing quote is kept."""


Token = str | _literal


def _fast_size(obj: Any, depth: int, budget: int) -> int:
    """Count the simple items in ``obj``; -1 if it needs the careful path."""
    kind = type(obj)
    if kind is str:
        return 1 if len(obj) <= _FAST_MAX_STR else -1
    if kind in _FAST_ITEMS:
        return 1
    if depth < 0 or not (kind is tuple or kind is list or kind is dict) or len(obj) > budget:
        return -1
    size = 1
    if kind is dict:
        for key, value in obj.items():
            if type(key) not in _FAST_ITEMS:
                return -1
            item_size = _fast_size(value, depth - 1, budget - size)
            if item_size < 0:
                return -1
            size += item_size + 1
    else:
        for item in obj:
            item_size = _fast_size(item, depth - 1, budget - size)
            if item_size < 0:
                return -1
            size += item_size
    return size if size <= budget else -1


def saferepr(o: object, maxlen: int | None = None, maxlevels: int = 3,
             seen: set[int] | None = None) -> str:
    """Return a ``repr`` of ``o`` at most about ``maxlen`` characters long.

    Containers nested deeper than ``maxlevels`` show as ``[...]``; objects
    whose ``__repr__`` raises show as ``<Unrepresentable ...>``; recursive
    structures show ``<Recursion on ...>``.  Cut output ends with ``...`` and
    keeps brackets balanced.
    """
    if _fast_size(o, maxlevels, _FAST_MAX_ITEMS) > 0:
        text = repr(o)
        if not maxlen or len(text) <= maxlen:
            return text
    return ''.join(_bounded(reprstream(o, maxlevels=maxlevels, seen=seen, maxlen=maxlen), maxlen))


def _bounded(tokens: Iterator[Token], maxlen: int | None) -> Iterator[str]:
    closers: list[str] = []
    size = 0
    for token in tokens:
        text, direction, closer = (token, 0, '') if isinstance(token, str) else token
        if maxlen and size + len(text) > maxlen:
            room = max(maxlen - size, 0)
            if isinstance(token, _Quoted):
                yield f'{text[:max(room, 2)]}{ELLIPSIS}{text[-1]}'
            else:
                if direction == 0:
                    yield text[:room]
                yield ELLIPSIS
            yield ''.join(reversed(closers))
            return
        if direction > 0:
            closers.append(closer)
        elif direction < 0:
            closers.pop()
        size += len(text)
        yield text


def _object_repr(obj: Any) -> str:
    try:
        return repr(obj)
    except Exception as exc:  # noqa: BLE001 - any __repr__ may fail
        return f'<Unrepresentable {type(obj).__name__} object at {id(obj):#x}: {exc!r}>'


def _text_repr(obj: str | bytes, maxlen: int | None) -> _Quoted:
    if maxlen and len(obj) > maxlen:
        text = repr(obj[:maxlen])
        return _Quoted(f'{text[:-1]}{ELLIPSIS}{text[-1]}')
    return _Quoted(repr(obj))


_FROZENSET_START = _literal('frozenset({', 1, '})')
_FROZENSET_END = _literal('})', -1)


def _container_delimiters(obj: Any) -> tuple[_literal, _literal] | None:
    """Return (start, end) for containers whose repr we can build, else None."""
    kind = type(obj)
    # Subclasses that keep the builtin repr are shown as the builtin (the ignores:
    # mypy sees the class attribute as a bound method, so it thinks they never match).
    if kind is dict or (isinstance(obj, dict)
                        and kind.__repr__ is dict.__repr__):  # type: ignore[comparison-overlap]
        return LIT_DICT_START, LIT_DICT_END
    if kind is list or (isinstance(obj, list)
                        and kind.__repr__ is list.__repr__):  # type: ignore[comparison-overlap]
        return LIT_LIST_START, LIT_LIST_END
    if kind is tuple:
        return LIT_TUPLE_START, (LIT_TUPLE_END_SV if len(obj) == 1 else LIT_TUPLE_END)
    if kind in set_t and not obj:
        return None  # set() and frozenset() have no braces
    if kind is set:
        return LIT_SET_START, LIT_SET_END
    if kind is frozenset:
        return _FROZENSET_START, _FROZENSET_END
    return None


def reprstream(o: object, maxlevels: int = 3, seen: set[int] | None = None,
               level: int = 0, maxlen: int | None = None) -> Iterator[Token]:
    """Yield the tokens of ``o``'s repr: strings, and open/close container markers."""
    kind = type(o)
    if kind in safe_t:
        yield repr(o)
        return
    if kind in chars_t and isinstance(o, (str, bytes)):  # exactly str or bytes
        yield _text_repr(o, maxlen)
        return
    delimiters = _container_delimiters(o)
    if delimiters is None:
        yield _object_repr(o) if not maxlen else _text_cut(_object_repr(o), maxlen)
        return
    start, end = delimiters
    if seen is None:
        seen = set()
    if id(o) in seen:
        yield f'<Recursion on {kind.__name__} with id={id(o)}>'
        return
    yield start
    if level > maxlevels:
        yield ELLIPSIS
        # A cut one-item tuple shows as ``(...)``.
        end = LIT_TUPLE_END if end is LIT_TUPLE_END_SV else end
    else:
        seen.add(id(o))
        yield from _items(o, maxlevels, seen, level + 1, maxlen)
        seen.discard(id(o))
    yield end


def _text_cut(text: str, maxlen: int) -> str:
    return text if len(text) <= maxlen else text[:maxlen] + ELLIPSIS


def _items(o: Any, maxlevels: int, seen: set[int], level: int,
           maxlen: int | None) -> Iterator[Token]:
    if isinstance(o, dict):
        for index, (key, value) in enumerate(o.items()):
            if index:
                yield LIT_LIST_SEP
            yield from reprstream(key, maxlevels, seen, level, maxlen)
            yield LIT_DICT_KVSEP
            yield from reprstream(value, maxlevels, seen, level, maxlen)
        return
    for index, item in enumerate(o):
        if index:
            yield LIT_LIST_SEP
        yield from reprstream(item, maxlevels, seen, level, maxlen)
