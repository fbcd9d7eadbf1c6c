"""Layered and attribute-access mappings: the building blocks of ``app.conf``."""
from __future__ import annotations

from collections import OrderedDict as _OrderedDict
from collections.abc import Callable, Iterator, Mapping, MutableMapping
from typing import Any

from celery.utils.collections.django_lazy import unwrap_lazy

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


def force_mapping(m: Any) -> Mapping:
    """Wrap an object that is not a mapping so its attributes read like keys.

    A lazy Django settings object is evaluated first, so its real settings
    module is what gets wrapped.
    """
    m = unwrap_lazy(m)
    return m if isinstance(m, Mapping) else DictAttribute(m)


class _IterMethods:
    """Python 2's ``iterkeys``/``itervalues``/``iteritems``, kept for callers that use them."""

    def iterkeys(self) -> Iterator[Any]:
        """Iterate over the keys."""
        return iter(self.keys())  # type: ignore[attr-defined]

    def itervalues(self) -> Iterator[Any]:
        """Iterate over the values."""
        return iter(self.values())  # type: ignore[attr-defined]

    def iteritems(self) -> Iterator[tuple[Any, Any]]:
        """Iterate over the ``(key, value)`` pairs."""
        return iter(self.items())  # type: ignore[attr-defined]


def lpmerge(L: MutableMapping, R: Mapping) -> MutableMapping:
    """Merge ``R`` into ``L``, skipping the keys whose value in ``R`` is None."""
    setitem = L.__setitem__
    for key, value in R.items():
        if value is not None:
            setitem(key, value)
    return L


class OrderedDict(_OrderedDict):
    """Ordered dict that can name its least recently used key."""

    def _LRUkey(self) -> Any:
        return next(iter(self))


class AttributeDictMixin:
    """Give a mapping attribute access: ``d.key`` is ``d['key']``."""

    def __getattr__(self, key: str) -> Any:
        try:
            return self[key]
        except KeyError:
            raise AttributeError(
                f'{type(self).__name__!r} object has no attribute {key!r}') from None

    def __setattr__(self, key: str, value: Any) -> None:
        self[key] = value


class AttributeDict(dict, AttributeDictMixin):
    """Dict subclass with attribute access."""


class DictAttribute(_IterMethods):
    """Read an object's attributes through the mapping interface."""

    obj = None

    def __init__(self, obj: Any) -> None:
        object.__setattr__(self, 'obj', obj)

    def __getattr__(self, key: str) -> Any:
        return getattr(self.obj, key)

    def __setattr__(self, key: str, value: Any) -> None:
        setattr(self.obj, key, value)

    def get(self, key: str, default: Any = None) -> Any:
        """Return the attribute ``key``, or ``default`` when missing."""
        try:
            return self[key]
        except KeyError:
            return default

    def setdefault(self, key: str, default: Any = None) -> Any:
        """Set ``key`` to ``default`` unless present; return its value."""
        if key not in self:
            self[key] = default
        return self[key]

    def __getitem__(self, key: str) -> Any:
        try:
            return getattr(self.obj, key)
        except AttributeError:
            raise KeyError(key) from None

    def __setitem__(self, key: str, value: Any) -> None:
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

    def items(self) -> Iterator[tuple[str, Any]]:
        """Pairs of (attribute name, value)."""
        obj = self.obj
        return ((key, getattr(obj, key)) for key in self.keys())

    def values(self) -> Iterator[Any]:
        """Attribute values."""
        return (value for _, value in self.items())


MutableMapping.register(DictAttribute)


class ChainMap(_IterMethods, MutableMapping):
    """Layered mapping: reads search ``maps`` in order, writes go to the first."""

    #: The first layer, where writes go (set per instance).
    changes: Any = None
    #: The layers after :attr:`changes` (set per instance).
    defaults: Any = None
    #: Every layer, searched in order (set per instance).
    maps: Any = None
    #: Function applied to keys before lookup, or None.
    key_t: Any = None

    def __init__(self, *maps: Mapping, **kwargs: Any) -> None:
        maps = list(maps or [{}])
        self.__dict__.update(
            key_t=kwargs.get('key_t'), maps=maps, changes=maps[0],
            defaults=maps[1:], _observers=[])

    def add_defaults(self, d: Any) -> None:
        """Add a defaults layer that wins over the existing default layers."""
        d = force_mapping(d)
        self.defaults.insert(0, d)
        self.maps.insert(1, d)

    def pop(self, key: Any, *default: Any) -> Any:
        """Remove ``key`` from the changes layer."""
        try:
            return self.changes.pop(key, *default)
        except KeyError:
            raise KeyError(f'Key not found in the first mapping: {key!r}') from None

    def __missing__(self, key: Any) -> Any:
        raise KeyError(key)

    def _key(self, key: Any) -> Any:
        return self.key_t(key) if self.key_t is not None else key

    def __getitem__(self, key: Any) -> Any:
        _key = self._key(key)
        for mapping in self.maps:
            try:
                return mapping[_key]
            except KeyError:
                pass
        return self.__missing__(key)

    def __setitem__(self, key: Any, value: Any) -> None:
        self.changes[self._key(key)] = value

    def __delitem__(self, key: Any) -> None:
        try:
            del self.changes[self._key(key)]
        except KeyError:
            raise KeyError(f'Key not found in first mapping: {key!r}') from None

    def clear(self) -> None:
        """Empty the changes layer."""
        self.changes.clear()

    def get(self, key: Any, default: Any = None) -> Any:
        """Return the value for ``key``, or ``default``."""
        try:
            return self[key]
        except KeyError:
            return default

    def __len__(self) -> int:
        return len(set().union(*self.maps))

    def __iter__(self) -> Iterator:
        return self._iterate_keys()

    def __contains__(self, key: Any) -> bool:
        key = self._key(key)
        return any(key in m for m in self.maps)

    def __bool__(self) -> bool:
        return any(self.maps)

    def setdefault(self, key: Any, default: Any = None) -> Any:
        """Set ``key`` to ``default`` in the changes layer unless present anywhere."""
        key = self._key(key)
        if key not in self:
            self[key] = default
        return self[key]

    def update(self, *args: Any, **kwargs: Any) -> None:
        """Update the changes layer, then notify observers."""
        result = self.changes.update(*args, **kwargs)
        for callback in self._observers:
            callback(*args, **kwargs)
        return result

    def bind_to(self, callback: Callable[..., Any]) -> None:
        """Call ``callback`` with the arguments of every :meth:`update`."""
        self._observers.append(callback)

    def first(self, *keys: Any) -> Any:
        """Return the first of ``keys`` with a true value, else None."""
        return next(filter(None, (self.get(key) for key in keys)), None)

    def swap_with(self, other: ChainMap) -> None:
        """Take over ``other``'s layers, keeping this object's identity."""
        changes = other.__dict__['changes']
        defaults = other.__dict__['defaults']
        self.__dict__.update(
            changes=changes, defaults=defaults, key_t=other.__dict__.get('key_t'),
            maps=[changes, *defaults])

    @classmethod
    def fromkeys(cls, iterable: Any, *args: Any) -> ChainMap:
        """Create a chain map of one layer with the keys of ``iterable`` (values: ``args[0]`` or None)."""
        return cls(dict.fromkeys(iterable, *args))

    def copy(self) -> ChainMap:
        """A new view with a copy of the changes layer."""
        return type(self)(self.changes.copy(), *self.defaults)

    def _iterate_keys(self) -> Iterator:
        seen: set = set()
        for mapping in self.maps:
            for key in mapping:
                if key not in seen:
                    seen.add(key)
                    yield key

    def keys(self) -> list:  # type: ignore[override]
        """Every key in any layer, once."""
        return list(self._iterate_keys())

    def items(self) -> list[tuple[Any, Any]]:  # type: ignore[override]
        """(key, effective value) for every key."""
        return [(key, self[key]) for key in self._iterate_keys()]

    def values(self) -> list:  # type: ignore[override]
        """Effective values for every key."""
        return [self[key] for key in self._iterate_keys()]

    def __repr__(self) -> str:
        return f'{type(self).__name__}({", ".join(map(repr, self.maps))})'


class ConfigurationView(ChainMap, AttributeDictMixin):
    """Configuration layers (changes, then defaults) with key aliases.

    A key is looked up under each of its aliases: the prefixed name (when a
    ``prefix`` namespace such as ``CELERY`` is used), the name itself, and the
    names returned by the ``keys`` converters (old <-> new setting names).
    Layers are searched in order, so a change made under any alias wins over
    every default.
    """

    def __init__(self, changes: MutableMapping, defaults: list[Mapping] | None = None,
                 keys: tuple[Callable[[str], str], ...] | None = None,
                 prefix: str | None = None) -> None:
        defaults = [] if defaults is None else list(defaults)
        super().__init__(changes, *defaults)
        self.__dict__.update(
            prefix=prefix.rstrip('_') + '_' if prefix else prefix,
            _keys=tuple(keys or ()), _alias_cache={})

    def __getattr__(self, key: str) -> Any:
        # Private names are never settings; also keeps copy/pickle from
        # recursing before __dict__ is filled.
        if key[:1] == '_' or 'maps' not in self.__dict__:
            raise AttributeError(key)
        try:
            return self[key]
        except KeyError:
            raise AttributeError(
                f'{type(self).__name__!r} object has no attribute {key!r}') from None

    def _aliases(self, key: str) -> tuple:
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

    def _lookup(self, key: Any) -> Any:
        aliases = self._aliases(key)
        # Membership tests, not try/except: most reads fall through to the
        # defaults layer, and raising KeyError per miss costs more.
        for mapping in self.maps:
            for alias in aliases:
                if alias in mapping:
                    return mapping[alias]
        raise KeyError(key)

    def __getitem__(self, key: Any) -> Any:
        try:
            return self._lookup(key)
        except KeyError:
            return self.__missing__(key)

    def __setitem__(self, key: Any, value: Any) -> None:
        changes = self.changes
        for alias in self._aliases(key):
            if alias != key:
                changes.pop(alias, None)
        changes[key] = value

    def __delitem__(self, key: Any) -> None:
        removed = [self.changes.pop(alias, _MISSING) for alias in self._aliases(key)]
        if all(value is _MISSING for value in removed):
            raise KeyError(f'Key not found in first mapping: {key!r}')

    def update(self, *args: Any, **kwargs: Any) -> None:
        """Set several keys (each replacing its aliases), then notify observers."""
        for key, value in dict(*args, **kwargs).items():
            self[key] = value
        for callback in self._observers:
            callback(*args, **kwargs)

    def get(self, key: Any, default: Any = None) -> Any:
        """Return the value for ``key`` under any alias, or ``default``."""
        try:
            return self[key]
        except KeyError:
            return default

    def __contains__(self, key: Any) -> bool:
        aliases = self._aliases(key)
        return any(alias in m for m in self.maps for alias in aliases)

    def first(self, *keys: Any) -> Any:
        """Return the first of ``keys`` with a true value, else None."""
        for key in keys:
            value = self.get(key)
            if value:
                return value
        return None

    def swap_with(self, other: ChainMap) -> None:
        """Take over ``other``'s layers, aliases and prefix."""
        super().swap_with(other)
        self.__dict__.update(
            prefix=other.__dict__.get('prefix'), _keys=other.__dict__.get('_keys', ()),
            _alias_cache={})

    def copy(self) -> ConfigurationView:
        """A new view with a copy of the changes layer."""
        return type(self)(self.changes.copy(), list(self.defaults),
                          keys=self._keys, prefix=self.prefix)
