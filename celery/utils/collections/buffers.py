"""Bounded containers: ``LRUCache``, ``Messagebuffer`` and ``BufferMap``."""
from __future__ import annotations

import collections
import threading
from collections import OrderedDict as _OrderedDict
from collections import deque
from collections.abc import Iterable, Iterator, MutableMapping
from typing import TYPE_CHECKING, Any, Generic, overload

from celery.utils.collections.mappings import OrderedDict

if TYPE_CHECKING:
    # PEP 696 defaults: a bare ``LRUCache`` is an ``LRUCache[Any, Any]``;
    # typing_extensions is not a run-time dependency.
    from typing_extensions import TypeVar

    K = TypeVar('K', default=Any)
    V = TypeVar('V', default=Any)
    T = TypeVar('T', default=Any)
else:
    from typing import TypeVar

    K = TypeVar('K')
    V = TypeVar('V')
    T = TypeVar('T')
D = TypeVar('D')

__all__ = ('BufferMap', 'Evictable', 'LRUCache', 'Messagebuffer')


class LRUCache(MutableMapping[K, V]):
    """Thread-safe dict that drops its least recently used key past ``limit``."""

    def __init__(self, limit: int | None = None) -> None:
        self.limit = limit
        self.mutex = threading.RLock()
        self.data: _OrderedDict[K, V] = _OrderedDict()

    def __getitem__(self, key: K) -> V:
        with self.mutex:
            value = self.data[key]
            self.data.move_to_end(key)
            return value

    def update(self, *args: Any, **kwargs: Any) -> None:
        """Add items, then trim to ``limit``."""
        with self.mutex:
            data, limit = self.data, self.limit
            data.update(*args, **kwargs)
            if limit and len(data) > limit:
                for _ in range(len(data) - limit):
                    data.popitem(last=False)

    def popitem(self, last: bool = True) -> tuple[K, V]:
        """Remove and return the newest (``last``) or oldest item."""
        with self.mutex:
            return self.data.popitem(last)

    def __setitem__(self, key: K, value: V) -> None:
        with self.mutex:
            data = self.data
            if self.limit and len(data) >= self.limit and key not in data:
                data.popitem(last=False)
            data[key] = value
            data.move_to_end(key)

    def __delitem__(self, key: K) -> None:
        with self.mutex:
            del self.data[key]

    def __iter__(self) -> Iterator[K]:
        return iter(list(self.data))

    def __len__(self) -> int:
        return len(self.data)

    def __contains__(self, key: object) -> bool:
        return key in self.data

    def keys(self) -> list[K]:  # type: ignore[override]
        """Keys, oldest first."""
        with self.mutex:
            return list(self.data)

    def values(self) -> list[V]:  # type: ignore[override]
        """Values, oldest first."""
        with self.mutex:
            return list(self.data.values())

    def items(self) -> list[tuple[K, V]]:  # type: ignore[override]
        """Items, oldest first."""
        with self.mutex:
            return list(self.data.items())

    def incr(self: LRUCache[K, str], key: K, delta: int = 1) -> int:
        """Add ``delta`` to the integer stored (as text) under ``key``."""
        with self.mutex:
            newval = int(self.data.pop(key)) + delta
            self[key] = str(newval)
            return newval

    def __getstate__(self) -> dict[str, object]:
        state = dict(self.__dict__)
        state.pop('mutex')
        return state

    def __setstate__(self, state: dict[str, object]) -> None:
        self.__dict__ = state
        self.mutex = threading.RLock()


class Evictable(Generic[T]):
    """Mixin for containers that evict their oldest items past ``maxsize``."""

    Empty: type[LookupError] = IndexError

    if TYPE_CHECKING:
        # Provided by the container.
        @property
        def _evictcount(self) -> int: ...
        def _pop_to_evict(self) -> T: ...

    def evict(self) -> None:
        """Drop the oldest items until no more than ``maxsize`` remain (at most 100 per call)."""
        self._evict()

    def _evict(self, limit: int = 100) -> None:
        for _ in self._evict_range(limit):
            pass

    def _evict_range(self, limit: int = 100) -> Iterator[T]:
        evicted = 0
        while evicted < limit and self._evictcount:
            try:
                yield self._pop_to_evict()
            except self.Empty:
                break
            evicted += 1


class Messagebuffer(Evictable[T]):
    """Bounded FIFO buffer: the oldest items go when ``maxsize`` is passed."""

    Empty = IndexError

    def __init__(self, maxsize: int | None, iterable: Iterable[T] | None = None,
                 deque: type[collections.deque[T]] = deque) -> None:
        self.maxsize = maxsize
        self.data: collections.deque[T] = deque(iterable or [])

    def put(self, item: T) -> None:
        """Append ``item``, evicting the oldest when full."""
        self.data.append(item)
        self._evict()

    def extend(self, it: Iterable[T]) -> None:
        """Append every item of ``it``, then evict down to ``maxsize``."""
        self.data.extend(it)
        self._evict(limit=len(self.data))

    @overload
    def take(self) -> T: ...
    @overload
    def take(self, default: D, /) -> T | D: ...

    def take(self, *default: object) -> object:
        """Remove and return the oldest item (``default`` or ``Empty`` when empty)."""
        try:
            return self.data.popleft()
        except self.Empty:
            if default:
                return default[0]
            raise

    def _pop_to_evict(self) -> T:
        return self.take()

    @property
    def _evictcount(self) -> int:
        return max(len(self) - self.maxsize, 0) if self.maxsize else 0

    def __repr__(self) -> str:
        return f'<{type(self).__name__}: {len(self)}/{self.maxsize}>'

    def __iter__(self) -> Iterator[T]:
        while True:
            try:
                yield self.data.popleft()
            except IndexError:
                return

    def __len__(self) -> int:
        return len(self.data)

    def __contains__(self, item: object) -> bool:
        return item in self.data

    def __reversed__(self) -> Iterator[T]:
        newest_first: Iterator[T] = reversed(self.data)
        return newest_first

    def __getitem__(self, index: int) -> T:
        return self.data[index]


class BufferMap(OrderedDict[K, Messagebuffer[T]], Evictable[T]):
    """Map of keys to bounded buffers, with a bound on the total item count."""

    Buffer = Messagebuffer
    Empty = KeyError
    maxsize: int | None = None
    total = 0
    bufmaxsize: int | None = None

    def __init__(self, maxsize: int | None,
                 iterable: Iterable[tuple[K, Messagebuffer[T]]] | None = None,
                 bufmaxsize: int = 1000) -> None:
        super().__init__()
        self.maxsize = maxsize
        self.bufmaxsize = bufmaxsize
        self.total = 0
        if iterable:
            self.update(iterable)

    def put(self, key: K, item: T) -> None:
        """Append ``item`` to the buffer of ``key``."""
        buf = self._get_or_create_buffer(key)
        before = len(buf)
        buf.put(item)
        self.total += len(buf) - before
        self.move_to_end(key)
        if self.maxsize:
            self._evict()

    def extend(self, key: K, it: Iterable[T]) -> None:
        """Append every item of ``it`` to the buffer of ``key``."""
        buf = self._get_or_create_buffer(key)
        before = len(buf)
        buf.extend(it)
        self.total += len(buf) - before
        self.move_to_end(key)
        if self.maxsize:
            self._evict()

    @overload
    def take(self, key: K) -> T: ...
    @overload
    def take(self, key: K, default: D, /) -> T | D: ...

    def take(self, key: K, *default: object) -> object:
        """Remove and return the oldest item of ``key``'s buffer."""
        try:
            buf = self[key]
            item = buf.take()
        except (KeyError, IndexError):
            if default:
                return default[0]
            raise self.Empty(key) from None
        self.total -= 1
        if not buf:
            del self[key]
        return item

    def _get_or_create_buffer(self, key: K) -> Messagebuffer[T]:
        try:
            return self[key]
        except KeyError:
            buf = self[key] = self._new_buffer()
            return buf

    def _new_buffer(self) -> Messagebuffer[T]:
        return self.Buffer(maxsize=self.bufmaxsize)

    def _pop_to_evict(self) -> T:
        for _ in range(100):
            key = self._LRUkey()
            buf = self[key]
            try:
                item = buf.take()
            except IndexError:
                del self[key]
                continue
            self.total -= 1
            if not buf:
                del self[key]
            else:
                self.move_to_end(key)
            return item
        raise self.Empty()

    @property
    def _evictcount(self) -> int:
        return max(self.total - self.maxsize, 0) if self.maxsize else 0

    def __repr__(self) -> str:
        return f'<{type(self).__name__}: {self.total}/{self.maxsize}>'
