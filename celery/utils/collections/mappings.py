"""Layered and attribute-access mappings: the building blocks of ``app.conf``."""
from __future__ import annotations

import copy
from collections import OrderedDict as _OrderedDict
from collections.abc import Callable, Iterable, Iterator, Mapping, MutableMapping
from typing import TYPE_CHECKING, Any, Generic, overload

from celery.utils.collections.django_lazy import unwrap_lazy

if TYPE_CHECKING:
    # PEP 696 defaults: a bare ``ChainMap`` is a ``ChainMap[Any, Any]``;
    # typing_extensions is not a run-time dependency.
    from typing_extensions import Self, TypeVar

    K = TypeVar('K', default=Any)
    V = TypeVar('V', default=Any)
else:
    from typing import TypeVar

    K = TypeVar('K')
    V = TypeVar('V')
T = TypeVar('T')

__all__ = (
    'AttributeDict',
    'AttributeDictMixin',
    'ChainMap',
    'ConfigurationView',
    'DictAttribute',
    'OrderedDict',
    'force_mapping',
    'lpmerge',
)


_MISSING = object()


def force_mapping(m: object) -> Mapping[Any, Any]:
    """Wrap an object that is not a mapping so its attributes read like keys.

    A lazy Django settings object is evaluated first, so its real settings
    module is what gets wrapped.
    """
    m = unwrap_lazy(m)
    if isinstance(m, Mapping):
        return m
    return DictAttribute(m)  # type: ignore[return-value]  # virtual MutableMapping: see below


class _IterMethods(Generic[K, V]):
    """Python 2's ``iterkeys``/``itervalues``/``iteritems``, kept for callers that use them."""

    if TYPE_CHECKING:
        # Provided by the classes this is mixed into.
        def keys(self) -> Iterable[K]: ...
        def values(self) -> Iterable[V]: ...
        def items(self) -> Iterable[tuple[K, V]]: ...

    def iterkeys(self) -> Iterator[K]:
        """Iterate over the keys."""
        return iter(self.keys())

    def itervalues(self) -> Iterator[V]:
        """Iterate over the values."""
        return iter(self.values())

    def iteritems(self) -> Iterator[tuple[K, V]]:
        """Iterate over the ``(key, value)`` pairs."""
        return iter(self.items())


M = TypeVar('M', bound=MutableMapping[Any, Any])


def lpmerge(L: M, R: Mapping[Any, object]) -> M:
    """Merge ``R`` into ``L``, skipping the keys whose value in ``R`` is None."""
    setitem = L.__setitem__
    for key, value in R.items():
        if value is not None:
            setitem(key, value)
    return L


class OrderedDict(_OrderedDict[K, V]):
    """Ordered dict that can name its least recently used key."""

    def _LRUkey(self) -> K:
        return next(iter(self))


class AttributeDictMixin(Generic[V]):
    """Give a mapping attribute access: ``d.key`` is ``d['key']``."""

    if TYPE_CHECKING:
        # Provided by the mapping this is mixed into.
        def __getitem__(self, key: str) -> V: ...
        def __setitem__(self, key: str, value: V) -> None: ...

    def __getattr__(self, key: str) -> V:
        try:
            return self[key]
        except KeyError:
            raise AttributeError(
                f'{type(self).__name__!r} object has no attribute {key!r}') from None

    def __setattr__(self, key: str, value: V) -> None:
        self[key] = value


class AttributeDict(dict[str, V], AttributeDictMixin[V]):
    """Dict subclass with attribute access."""


class DictAttribute(_IterMethods[str, object]):
    """Read an object's attributes through the mapping interface.

    Registered as a :class:`~collections.abc.MutableMapping` (a virtual
    subclass, which type checkers do not see).
    """

    obj: object = None

    def __init__(self, obj: object) -> None:
        object.__setattr__(self, 'obj', obj)

    def __getattr__(self, key: str) -> object:
        return getattr(self.obj, key)

    def __setattr__(self, key: str, value: object) -> None:
        setattr(self.obj, key, value)

    def get(self, key: str, default: object = None) -> object:
        """Return the attribute ``key``, or ``default`` when missing."""
        try:
            return self[key]
        except KeyError:
            return default

    def setdefault(self, key: str, default: object = None) -> object:
        """Set ``key`` to ``default`` unless present; return its value."""
        if key not in self:
            self[key] = default
        return self[key]

    def __getitem__(self, key: str) -> object:
        try:
            return getattr(self.obj, key)
        except AttributeError:
            raise KeyError(key) from None

    def __setitem__(self, key: str, value: object) -> None:
        setattr(self.obj, key, value)

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and hasattr(self.obj, key)

    def __iter__(self) -> Iterator[str]:
        return iter(self.keys())

    def __len__(self) -> int:
        return len(self.keys())

    def keys(self) -> list[str]:
        """Public attribute names of the wrapped object."""
        return [key for key in dir(self.obj) if not key.startswith('_')]

    def items(self) -> Iterator[tuple[str, object]]:
        """Pairs of (attribute name, value)."""
        obj = self.obj
        return ((key, getattr(obj, key)) for key in self.keys())

    def values(self) -> Iterator[object]:
        """Attribute values."""
        return (value for _, value in self.items())


MutableMapping.register(DictAttribute)


class ChainMap(_IterMethods[K, V], MutableMapping[K, V]):
    """Layered mapping: reads search ``maps`` in order, writes go to the first."""

    # Set per instance (through __dict__: ConfigurationView's attribute access).
    #: The first layer, where writes go.
    changes: MutableMapping[K, V]
    #: The layers after :attr:`changes`.
    defaults: list[Mapping[K, V]]
    #: Every layer, searched in order.
    maps: list[Mapping[K, V]]
    #: Function applied to keys before lookup, or None.
    key_t: Callable[[K], K] | None
    _observers: list[Callable[..., object]]
    if not TYPE_CHECKING:
        # Read on the class itself they are None; instances always have their own.
        changes = defaults = maps = key_t = None

    def __init__(self, *maps: Mapping[K, V], **kwargs: Any) -> None:
        layers: list[Mapping[K, V]] = list(maps or [{}])
        key_t: Callable[[K], K] | None = kwargs.get('key_t')
        self.__dict__.update(
            key_t=key_t, maps=layers, changes=layers[0],
            defaults=layers[1:], _observers=[])

    def add_defaults(self, d: Mapping[K, V] | object) -> None:
        """Add a defaults layer that wins over the existing default layers."""
        layer = force_mapping(d)
        self.defaults.insert(0, layer)
        self.maps.insert(1, layer)

    @overload
    def pop(self, key: K, /) -> V: ...
    @overload
    def pop(self, key: K, default: V, /) -> V: ...
    @overload
    def pop(self, key: K, default: T, /) -> V | T: ...

    def pop(self, key: K, *default: object) -> object:
        """Remove ``key`` from the changes layer."""
        try:
            return self.changes.pop(key, *default)
        except KeyError:
            raise KeyError(f'Key not found in the first mapping: {key!r}') from None

    def __missing__(self, key: K) -> V:
        raise KeyError(key)

    def _key(self, key: K) -> K:
        return self.key_t(key) if self.key_t is not None else key

    def __getitem__(self, key: K) -> V:
        _key = self._key(key)
        for mapping in self.maps:
            try:
                return mapping[_key]
            except KeyError:
                pass
        return self.__missing__(key)

    def __setitem__(self, key: K, value: V) -> None:
        self.changes[self._key(key)] = value

    def __delitem__(self, key: K) -> None:
        try:
            del self.changes[self._key(key)]
        except KeyError:
            raise KeyError(f'Key not found in first mapping: {key!r}') from None

    def clear(self) -> None:
        """Empty the changes layer."""
        self.changes.clear()

    @overload
    def get(self, key: K, /) -> V | None: ...
    @overload
    def get(self, key: K, default: V | T, /) -> V | T: ...

    def get(self, key: K, default: object = None) -> object:
        """Return the value for ``key``, or ``default``."""
        try:
            return self[key]
        except KeyError:
            return default

    def __len__(self) -> int:
        return len(set().union(*self.maps))

    def __iter__(self) -> Iterator[K]:
        return self._iterate_keys()

    def __contains__(self, key: object) -> bool:
        # Any object may be tested (Container's contract); key_t sees it as it comes.
        key = self._key(key)  # type: ignore[arg-type]
        return any(key in m for m in self.maps)

    def __bool__(self) -> bool:
        return any(self.maps)

    @overload
    def setdefault(self: ChainMap[K, T | None], key: K, default: None = None, /) -> T | None: ...
    @overload
    def setdefault(self, key: K, default: V, /) -> V: ...

    def setdefault(self, key: K, default: V | None = None) -> object:
        """Set ``key`` to ``default`` in the changes layer unless present anywhere."""
        key = self._key(key)
        if key not in self:
            # The overloads let ``default`` be None only when V includes None.
            self[key] = default  # type: ignore[assignment]
        return self[key]

    def update(self, *args: Any, **kwargs: Any) -> None:
        """Update the changes layer, then notify observers."""
        self.changes.update(*args, **kwargs)
        for callback in self._observers:
            callback(*args, **kwargs)

    def bind_to(self, callback: Callable[..., object]) -> None:
        """Call ``callback`` with the arguments of every :meth:`update`."""
        self._observers.append(callback)

    def first(self, *keys: K) -> V | None:
        """Return the first of ``keys`` with a true value, else None."""
        return next(filter(None, (self.get(key) for key in keys)), None)

    def swap_with(self, other: ChainMap[K, V]) -> None:
        """Take over ``other``'s layers, keeping this object's identity."""
        changes = other.__dict__['changes']
        defaults = other.__dict__['defaults']
        self.__dict__.update(
            changes=changes, defaults=defaults, key_t=other.__dict__.get('key_t'),
            maps=[changes, *defaults])

    @classmethod
    def fromkeys(cls, iterable: Iterable[K], *args: V) -> Self:
        """Create a chain map of one layer with the keys of ``iterable`` (values: ``args[0]`` or None)."""
        return cls(dict.fromkeys(iterable, *args))

    def copy(self) -> Self:
        """A new view with a copy of the changes layer."""
        return type(self)(copy.copy(self.changes), *self.defaults)

    def _iterate_keys(self) -> Iterator[K]:
        seen: set[K] = set()
        for mapping in self.maps:
            for key in mapping:
                if key not in seen:
                    seen.add(key)
                    yield key

    def keys(self) -> list[K]:  # type: ignore[override]
        """Every key in any layer, once."""
        return list(self._iterate_keys())

    def items(self) -> list[tuple[K, V]]:  # type: ignore[override]
        """(key, effective value) for every key."""
        return [(key, self[key]) for key in self._iterate_keys()]

    def values(self) -> list[V]:  # type: ignore[override]
        """Effective values for every key."""
        return [self[key] for key in self._iterate_keys()]

    def __repr__(self) -> str:
        return f'{type(self).__name__}({", ".join(map(repr, self.maps))})'


class ConfigurationView(ChainMap[str, V], AttributeDictMixin[V]):
    """Configuration layers (changes, then defaults) with key aliases.

    A key is looked up under each of its aliases: the prefixed name (when a
    ``prefix`` namespace such as ``CELERY`` is used), the name itself, and the
    names returned by the ``keys`` converters (old <-> new setting names).
    Layers are searched in order, so a change made under any alias wins over
    every default.
    """

    prefix: str | None
    _keys: tuple[Callable[[str], str], ...]
    _alias_cache: dict[str, tuple[str, ...]]

    def __init__(self, changes: MutableMapping[str, V],
                 defaults: Iterable[Mapping[str, V]] | None = None,
                 keys: tuple[Callable[[str], str], ...] | None = None,
                 prefix: str | None = None) -> None:
        layers = [] if defaults is None else list(defaults)
        super().__init__(changes, *layers)
        self.__dict__.update(
            prefix=prefix.rstrip('_') + '_' if prefix else prefix,
            _keys=tuple(keys or ()), _alias_cache={})

    def __getattr__(self, key: str) -> V:
        # Private names are never settings; also keeps copy/pickle from
        # recursing before __dict__ is filled.
        if key[:1] == '_' or 'maps' not in self.__dict__:
            raise AttributeError(key)
        try:
            return self[key]
        except KeyError:
            raise AttributeError(
                f'{type(self).__name__!r} object has no attribute {key!r}') from None

    def _aliases(self, key: str) -> tuple[str, ...]:
        try:
            return self._alias_cache[key]
        except (KeyError, TypeError):
            pass
        names = [key]
        prefix = self.prefix
        if prefix and isinstance(key, str) and not key.startswith(prefix):
            prefixed = prefix + key
            names.insert(0, prefixed.upper() if prefix.isupper() else prefixed.lower())
        for convert in self._keys:
            alias = convert(key)
            if alias not in names:
                names.append(alias)
        aliases = tuple(names)
        if isinstance(key, str):
            self._alias_cache[key] = aliases
        return aliases

    def _lookup(self, key: str) -> V:
        aliases = self._aliases(key)
        # Membership tests, not try/except: most reads fall through to the
        # defaults layer, and raising KeyError per miss costs more.
        for mapping in self.maps:
            for alias in aliases:
                if alias in mapping:
                    return mapping[alias]
        raise KeyError(key)

    def __getitem__(self, key: str) -> V:
        try:
            return self._lookup(key)
        except KeyError:
            return self.__missing__(key)

    def __setitem__(self, key: str, value: V) -> None:
        changes = self.changes
        for alias in self._aliases(key):
            if alias != key:
                changes.pop(alias, None)
        changes[key] = value

    def __delitem__(self, key: str) -> None:
        removed = [self.changes.pop(alias, _MISSING) for alias in self._aliases(key)]
        if all(value is _MISSING for value in removed):
            raise KeyError(f'Key not found in first mapping: {key!r}')

    def update(self, *args: Any, **kwargs: Any) -> None:
        """Set several keys (each replacing its aliases), then notify observers."""
        for key, value in dict(*args, **kwargs).items():
            self[key] = value
        for callback in self._observers:
            callback(*args, **kwargs)

    @overload
    def get(self, key: str, /) -> V | None: ...
    @overload
    def get(self, key: str, default: V | T, /) -> V | T: ...

    def get(self, key: str, default: object = None) -> object:
        """Return the value for ``key`` under any alias, or ``default``."""
        try:
            return self[key]
        except KeyError:
            return default

    def __contains__(self, key: object) -> bool:
        # Any object may be tested (Container's contract); _aliases copes with non-str.
        aliases = self._aliases(key)  # type: ignore[arg-type]
        return any(alias in m for m in self.maps for alias in aliases)

    def first(self, *keys: str) -> V | None:
        """Return the first of ``keys`` with a true value, else None."""
        for key in keys:
            value = self.get(key)
            if value:
                return value
        return None

    def swap_with(self, other: ChainMap[str, V]) -> None:
        """Take over ``other``'s layers, aliases and prefix."""
        super().swap_with(other)
        self.__dict__.update(
            prefix=other.__dict__.get('prefix'), _keys=other.__dict__.get('_keys', ()),
            _alias_cache={})

    def copy(self) -> Self:
        """A new view with a copy of the changes layer."""
        return type(self)(copy.copy(self.changes), list(self.defaults),
                          keys=self._keys, prefix=self.prefix)
