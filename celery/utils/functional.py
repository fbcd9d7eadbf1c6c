"""Functional-style helpers: lazy values, memoization, iteration utilities."""
from __future__ import annotations

import operator
import sys
import threading
from collections.abc import (
    Callable,
    Hashable,
    Iterable,
    Iterator,
    Mapping,
    MutableMapping,
    Sequence,
)
from functools import partial, wraps
from itertools import islice, tee, zip_longest
from keyword import iskeyword
from typing import TYPE_CHECKING, Any, Generic, SupportsIndex, TypeVar, overload

from celery.utils.lazy_names import lazy_module_getattr

if TYPE_CHECKING:
    from inspect import Parameter, Signature

    from typing_extensions import Self

    from celery.local import SupportsMaybeEvaluate

__all__ = (  # noqa: F822 - LRUCache comes from the module __getattr__
    'LRUCache',
    'chunks',
    'dictfilter',
    'evaluate_promises',
    'first',
    'firstmethod',
    'fun_accepts_kwargs',
    'fun_takes_argument',
    'head_from_fun',
    'is_iterable',
    'is_list',
    'is_numeric_value',
    'lazy',
    'lookahead',
    'mattrgetter',
    'maybe',
    'maybe_evaluate',
    'maybe_list',
    'memoize',
    'mlazy',
    'noop',
    'padlist',
    'pass1',
    'regen',
    'seq_concat_item',
    'seq_concat_seq',
    'uniq',
)

T = TypeVar('T')
S = TypeVar('S')

KEYWORD_MARK = object()


#: Source of the argument-checking function :func:`head_from_fun` builds.
FUNHEAD_TEMPLATE = """
def {fun_name}({fun_args}):
    return {fun_value}
"""


class DummyContext:
    """A context manager that does nothing (where a lock or a context is optional)."""

    def __enter__(self) -> DummyContext:
        return self

    def __exit__(self, *exc_info: object) -> None:
        pass


def arity_greater(fun: Callable[..., object], n: int) -> bool:
    """Whether ``fun`` takes more than ``n`` positional arguments (or any number of them)."""
    from inspect import Parameter, signature
    params = signature(fun).parameters.values()
    if any(p.kind is Parameter.VAR_POSITIONAL for p in params):
        return True
    positional = (Parameter.POSITIONAL_ONLY, Parameter.POSITIONAL_OR_KEYWORD)
    return sum(p.kind in positional for p in params) > n


def noop(*args: Any, **kwargs: Any) -> None:
    """Do nothing, whatever the arguments."""


def pass1(arg: T, *args: Any, **kwargs: Any) -> T:
    """Return the first positional argument."""
    return arg


class lazy(Generic[T]):
    """A deferred call: ``fun(*args, **kwargs)`` runs each time it is evaluated."""

    def __init__(self, fun: Callable[..., T], *args: Any, **kwargs: Any) -> None:
        self._fun = fun
        self._args = args
        self._kwargs = kwargs

    def __call__(self) -> T:
        return self.evaluate()

    def evaluate(self) -> T:
        """Call the function and return its value."""
        return self._fun(*self._args, **self._kwargs)

    def __maybe_evaluate__(self) -> T:
        return self()

    def __str__(self) -> str:
        return str(self())

    def __repr__(self) -> str:
        return repr(self())

    def __eq__(self, other: object) -> bool:
        return self() == other

    def __ne__(self, other: object) -> bool:
        return self() != other

    __hash__ = None  # type: ignore[assignment]

    def __deepcopy__(self, memo: dict[int, object]) -> Self:
        memo[id(self)] = self
        return self

    def __reduce__(self) -> tuple[Callable[..., lazy[T]], tuple[object, ...]]:
        return (_rebuild_lazy, (type(self), self._fun, self._args, self._kwargs))


def _rebuild_lazy(cls: type[lazy[T]], fun: Callable[..., T],
                  args: tuple[object, ...], kwargs: dict[str, object]) -> lazy[T]:
    return cls(fun, *args, **kwargs)


class mlazy(lazy[T]):
    """A :class:`lazy` that calls its function only once and remembers the value."""

    evaluated = False
    _value: T  # set by the first evaluate()

    def evaluate(self) -> T:
        """Return the value, computing it on first use."""
        if not self.evaluated:
            self._value = super().evaluate()
            self.evaluated = True
        return self._value


@overload
def maybe_evaluate(value: SupportsMaybeEvaluate[T]) -> T: ...
@overload
def maybe_evaluate(value: T) -> T: ...


def maybe_evaluate(value: object) -> object:
    """Evaluate ``value`` if it is a lazy object, else return it unchanged."""
    evaluate = getattr(value, '__maybe_evaluate__', None)
    if evaluate is None:
        return value
    return evaluate()


def is_list(obj: object, scalars: tuple[type, ...] = (Mapping, str),
            iters: tuple[type, ...] = (Iterable,)) -> bool:
    """Return True if ``obj`` is iterable but not one of the ``scalars`` types."""
    return isinstance(obj, iters) and not isinstance(obj, scalars or ())


@overload
def maybe_list(obj: None, scalars: tuple[type, ...] = ...) -> None: ...
@overload
def maybe_list(obj: Sequence[T], scalars: tuple[type, ...] = ...) -> Sequence[T]: ...
@overload
def maybe_list(obj: T, scalars: tuple[type, ...] = ...) -> Sequence[T]: ...


def maybe_list(obj: object, scalars: tuple[type, ...] = (Mapping, str)) -> object:
    """Wrap a scalar in a list; lists and None pass through."""
    return obj if obj is None or is_list(obj, scalars) else [obj]


def is_iterable(obj: object) -> bool:
    """Return True if ``iter(obj)`` works."""
    try:
        iter(obj)  # type: ignore[call-overload]
    except TypeError:
        return False
    return True


def is_numeric_value(value: object) -> bool:
    """Return True for ints and floats (but not bools)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def maybe(typ: Callable[[S], T], val: S | None) -> T | None:
    """Return ``typ(val)`` unless ``val`` is None."""
    return typ(val) if val is not None else None


def dictfilter(d: Mapping[str, T] | None = None, **kw: T) -> dict[str, T]:
    """Return a copy of ``d`` (merged with ``kw``) without the None values."""
    items = kw if d is None else ({**d, **kw} if kw else d)
    return {key: value for key, value in items.items() if value is not None}


# ``LRUCache`` is defined in celery.utils.collections; re-exported lazily.
__getattr__ = lazy_module_getattr(__name__, {'LRUCache': 'celery.utils.collections'}, globals())


def memoize(maxsize: int | None = None,
            keyfun: Callable[[tuple[object, ...], dict[str, object]], Hashable] | None = None,
            Cache: Callable[..., MutableMapping[Hashable, Any]] | None = None,
            ) -> Callable[[Callable[..., T]], Callable[..., T]]:
    """Decorator caching a function's results per arguments (at most ``maxsize``).

    ``Cache`` defaults to :class:`celery.utils.collections.LRUCache`.
    """
    cache_type = Cache
    if cache_type is None:
        from celery.utils.collections import LRUCache
        cache_type = LRUCache

    def decorator(fun: Callable[..., T]) -> Callable[..., T]:
        mutex = threading.Lock()
        cache = cache_type(limit=maxsize)

        @wraps(fun)
        def memoized(*args: Any, **kwargs: Any) -> T:
            if keyfun:
                key = keyfun(args, kwargs)
            else:
                key = args + (KEYWORD_MARK,) + tuple(sorted(kwargs.items())) if kwargs else args
            value: T
            try:
                with mutex:
                    value = cache[key]
            except KeyError:
                value = fun(*args, **kwargs)
                memoized.misses += 1  # type: ignore[attr-defined]
                with mutex:
                    cache[key] = value
            else:
                memoized.hits += 1  # type: ignore[attr-defined]
            return value

        def clear() -> None:
            cache.clear()
            memoized.hits = memoized.misses = 0  # type: ignore[attr-defined]

        memoized.hits = memoized.misses = 0  # type: ignore[attr-defined]
        memoized.clear = clear  # type: ignore[attr-defined]
        memoized.original_func = fun  # type: ignore[attr-defined]
        return memoized
    return decorator


def evaluate_promises(it: Iterable[object]) -> Iterator[object]:
    """Yield the items of ``it``, calling any vine promise to get its value."""
    vine_promises = sys.modules.get('vine.promises')
    if vine_promises is None:
        # No promise can exist before vine is imported.
        yield from it
        return
    promise = vine_promises.promise
    for value in it:
        yield value() if isinstance(value, promise) else value


def first(predicate: Callable[[object], object] | None, it: Iterable[object]) -> object:
    """Return the first item of ``it`` matching ``predicate`` (default: not None)."""
    if predicate is None:
        return next((v for v in evaluate_promises(it) if v is not None), None)
    return next((v for v in evaluate_promises(it) if predicate(v)), None)


def firstmethod(method: str,
                on_call: Callable[..., object] | None = None) -> Callable[..., Any]:
    """Return a function calling ``method`` on each object until one returns non-None."""
    def first_reply(it: Iterable[object], *args: Any, **kwargs: Any) -> object:
        for obj in it:
            try:
                meth = getattr(maybe_evaluate(obj), method)
            except AttributeError:
                continue
            reply = on_call(meth, *args, **kwargs) if on_call else meth(*args, **kwargs)
            if reply is not None:
                return reply
        return None
    return first_reply


def chunks(it: Iterable[T], n: int) -> Iterator[list[T]]:
    """Split ``it`` into lists of ``n`` items (the last may be shorter)."""
    it = iter(it)
    for item in it:
        yield [item, *islice(it, n - 1)]


def padlist(container: Iterable[T], size: int, default: S | None = None) -> list[T | S | None]:
    """Return ``container`` as a list cut or padded with ``default`` to ``size``."""
    items = list(container)[:size]
    return items + [default] * (size - len(items))


def mattrgetter(*attrs: str) -> Callable[[object], dict[str, Any]]:
    """Return a function mapping an object to ``{attr: value}`` (None when missing)."""
    return lambda obj: {attr: getattr(obj, attr, None) for attr in attrs}


def uniq(it: Iterable[T]) -> Iterator[T]:
    """Yield the items of ``it`` in order, skipping duplicates."""
    seen: set[T] = set()
    for item in it:
        if item not in seen:
            seen.add(item)
            yield item


def lookahead(it: Iterable[T]) -> Iterator[tuple[T, T | None]]:
    """Yield ``(item, next_item)`` pairs; the last pair has None as next item."""
    a, b = tee(it)
    return zip_longest(a, islice(b, 1, None))


def seq_concat_item(seq: list[T] | tuple[T, ...], item: T) -> list[T] | tuple[T, ...]:
    """Return ``seq`` plus ``item``, keeping the sequence type."""
    return (*seq, item) if isinstance(seq, tuple) else [*seq, item]


def seq_concat_seq(a: list[T] | tuple[T, ...],
                   b: list[T] | tuple[T, ...]) -> list[T] | tuple[T, ...]:
    """Concatenate two sequences; the result has the type of the longer one (``a`` if even)."""
    return (*a, *b) if isinstance(max([a, b], key=len), tuple) else [*a, *b]


class _regen(list[T]):
    """A list filled lazily from an iterator, so a generator can be iterated many times.

    Serializers that read list storage directly (``json``) only see the items
    consumed so far: use :attr:`data` to get everything.
    """

    def __init__(self, it: Iterable[T]) -> None:
        super().__init__()
        self.__it: Iterator[T] | None = iter(it)
        self.__lock = threading.Lock()

    def __reduce__(self) -> tuple[type[list[T]], tuple[list[T]]]:
        return list, (self.data,)

    def _next(self) -> bool:
        """Pull one more item from the iterator; False when exhausted."""
        with self.__lock:
            if self.__it is None:
                return False
            try:
                list.append(self, next(self.__it))
            except StopIteration:
                self.__it = None
                return False
            return True

    def _fill(self) -> None:
        while self._next():
            pass

    @property
    def data(self) -> list[T]:
        """Every item, consuming the iterator."""
        self._fill()
        return list(self)

    def __iter__(self) -> Iterator[T]:
        index = 0
        while True:
            if index < list.__len__(self):
                yield list.__getitem__(self, index)
                index += 1
            elif not self._next():
                return

    @overload
    def __getitem__(self, index: SupportsIndex) -> T: ...
    @overload
    def __getitem__(self, index: slice) -> list[T]: ...

    def __getitem__(self, index: SupportsIndex | slice) -> T | list[T]:
        if isinstance(index, slice) or operator.index(index) < 0:
            self._fill()
        else:
            while list.__len__(self) <= operator.index(index) and self._next():
                pass
        return list.__getitem__(self, index)

    def __len__(self) -> int:
        self._fill()
        return list.__len__(self)

    def __bool__(self) -> bool:
        return list.__len__(self) > 0 or self._next()

    def __eq__(self, other: object) -> bool:
        self._fill()
        return list.__eq__(self, other)

    __hash__ = None

    def __contains__(self, item: object) -> bool:
        return any(value == item for value in self)

    def __repr__(self) -> str:
        consumed = list.__repr__(self)
        suffix = '' if self.__it is None else ', ...'
        return f'<{type(self).__name__}: [{consumed[1:-1]}{suffix}]>'


def regen(it: Iterable[T]) -> list[T]:
    """Wrap a one-shot iterator so that it can be iterated more than once.

    Lists and tuples are returned unchanged.
    """
    if isinstance(it, (list, tuple)):
        return it  # type: ignore[return-value]
    return _regen(it)


def _signature_of(fun: Callable[..., object]) -> Signature:
    from inspect import signature
    # Match what the task is actually called with: don't look through
    # ``functools.wraps`` decorators, whose wrapper may take other arguments.
    return signature(fun, follow_wrapped=False)


def _parameter_source(param: Parameter, defaults: dict[str, object]) -> str:
    from inspect import Parameter
    if param.kind is Parameter.VAR_POSITIONAL:
        return f'*{param.name}'
    if param.kind is Parameter.VAR_KEYWORD:
        return f'**{param.name}'
    if param.default is Parameter.empty:
        return param.name
    default_name = f'default_{len(defaults)}'
    defaults[default_name] = param.default
    return f'{param.name}={default_name}'


def _signature_source(sig: Signature, defaults: dict[str, object]) -> str:
    from inspect import Parameter
    params = list(sig.parameters.values())
    has_varargs = any(p.kind is Parameter.VAR_POSITIONAL for p in params)
    parts: list[str] = []
    for index, param in enumerate(params):
        if param.kind is Parameter.KEYWORD_ONLY and not has_varargs and '*' not in parts:
            parts.append('*')
        parts.append(_parameter_source(param, defaults))
        is_last_positional_only = param.kind is Parameter.POSITIONAL_ONLY and (
            index + 1 == len(params) or params[index + 1].kind is not Parameter.POSITIONAL_ONLY)
        if is_last_positional_only:
            parts.append('/')
    return ', '.join(parts)


def head_from_fun(fun: Callable[..., object], bound: bool = False,
                  debug: bool = False) -> Callable[..., int]:
    """Build a no-op function with the same signature as ``fun``.

    Calling it checks arguments the way calling ``fun`` would, raising
    :exc:`TypeError` with Python's own message, without running ``fun``.
    With ``bound=True`` the first parameter (``self``) is filled in.
    """
    name = getattr(fun, '__name__', None) or type(fun).__name__
    safe_name = name if name.isidentifier() and not iskeyword(name) else 'fun'
    defaults: dict[str, object] = {}
    source = FUNHEAD_TEMPLATE.format(
        fun_name=safe_name, fun_args=_signature_source(_signature_of(fun), defaults),
        fun_value=1)
    if debug:
        print(source, file=sys.stderr)
    namespace: dict[str, Any] = dict(defaults, __name__=getattr(fun, '__module__', None))
    exec(source, namespace)  # noqa: S102 - source is built from parameter names only
    head = namespace[safe_name]
    head.__qualname__ = getattr(fun, '__qualname__', name)
    head._source = source
    checker: Callable[..., int] = partial(head, object()) if bound else head
    return checker


def fun_takes_argument(name: str, fun: Callable[..., object], position: int | None = None) -> bool:
    """Return True if ``fun`` accepts an argument ``name`` (or at ``position``)."""
    from inspect import Parameter
    params = _signature_of(fun).parameters.values()
    if any(p.kind in (Parameter.VAR_POSITIONAL, Parameter.VAR_KEYWORD) for p in params):
        return True
    positional = [p for p in params
                  if p.kind in (Parameter.POSITIONAL_ONLY, Parameter.POSITIONAL_OR_KEYWORD)]
    if position:
        return len(positional) >= position
    return any(p.name == name and p.kind is not Parameter.POSITIONAL_ONLY for p in params)


def fun_accepts_kwargs(fun: Callable[..., object]) -> bool:
    """Return True if ``fun`` takes arbitrary keyword arguments (``**kwargs``)."""
    from inspect import Parameter
    return any(p.kind is Parameter.VAR_KEYWORD
               for p in _signature_of(fun).parameters.values())
