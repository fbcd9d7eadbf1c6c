"""Bounded containers: ``LRUCache``, ``Messagebuffer`` and ``BufferMap``."""
from __future__ import annotations

import threading
from collections import OrderedDict as _OrderedDict
from collections import deque
from collections.abc import Iterable, Iterator, MutableMapping
from typing import Any

from celery.utils.collections.mappings import OrderedDict

__all__ = ('BufferMap', 'Evictable', 'LRUCache', 'Messagebuffer')


class LRUCache(MutableMapping):
    """Thread-safe dict that drops its least recently used key past ``limit``."""

    def __init__(self, limit: int | None = None) -> None:
        self.limit = limit
        self.mutex = threading.RLock()
        self.data: _OrderedDict = _OrderedDict()

    def __getitem__(self, key: Any) -> Any:
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

    def popitem(self, last: bool = True) -> tuple[Any, Any]:
        """Remove and return the newest (``last``) or oldest item."""
        with self.mutex:
            return self.data.popitem(last)

    def __setitem__(self, key: Any, value: Any) -> None:
        with self.mutex:
            data = self.data
            if self.limit and len(data) >= self.limit and key not in data:
                data.popitem(last=False)
            data[key] = value
            data.move_to_end(key)

    def __delitem__(self, key: Any) -> None:
        with self.mutex:
            del self.data[key]

    def __iter__(self) -> Iterator:
        return iter(list(self.data))

    def __len__(self) -> int:
        return len(self.data)

    def __contains__(self, key: object) -> bool:
        return key in self.data

    def keys(self) -> list:  # type: ignore[override]
        """Keys, oldest first."""
        with self.mutex:
            return list(self.data)

    def values(self) -> list:  # type: ignore[override]
        """Values, oldest first."""
        with self.mutex:
            return list(self.data.values())

    def items(self) -> list:  # type: ignore[override]
        """Items, oldest first."""
        with self.mutex:
            return list(self.data.items())

    def incr(self, key: Any, delta: int = 1) -> int:
        """Add ``delta`` to the integer stored (as text) under ``key``."""
        with self.mutex:
            newval = int(self.data.pop(key)) + delta
            self[key] = str(newval)
            return newval

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state.pop('mutex')
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__ = state
        self.mutex = threading.RLock()


class Evictable:
    """Mixin for containers that evict their oldest items past ``maxsize``."""

    Empty = IndexError

    def evict(self) -> None:
        """Drop the oldest items until no more than ``maxsize`` remain (at most 100 per call)."""
        self._evict()

    def _evict(self, limit: int = 100) -> None:
        for _ in self._evict_range(limit):
            pass

    def _evict_range(self, limit: int = 100) -> Iterator[Any]:
        evicted = 0
        while evicted < limit and self._evictcount:
            try:
                yield self._pop_to_evict()
            except self.Empty:
                break
            evicted += 1


class Messagebuffer(Evictable):
    """Bounded FIFO buffer: the oldest items go when ``maxsize`` is passed."""

    Empty = IndexError

    def __init__(self, maxsize: int | None, iterable: Iterable | None = None,
                 deque: type = deque) -> None:
        self.maxsize = maxsize
        self.data = deque(iterable or [])

    def put(self, item: Any) -> None:
        """Append ``item``, evicting the oldest when full."""
        self.data.append(item)
        self._evict()

    def extend(self, it: Iterable) -> None:
        """Append every item of ``it``, then evict down to ``maxsize``."""
        self.data.extend(it)
        self._evict(limit=len(self.data))

    def take(self, *default: Any) -> Any:
        """Remove and return the oldest item (``default`` or ``Empty`` when empty)."""
        try:
            return self.data.popleft()
        except self.Empty:
            if default:
                return default[0]
            raise

    def _pop_to_evict(self) -> Any:
        return self.take()

    @property
    def _evictcount(self) -> int:
        return max(len(self) - self.maxsize, 0) if self.maxsize else 0

    def __repr__(self) -> str:
        return f'<{type(self).__name__}: {len(self)}/{self.maxsize}>'

    def __iter__(self) -> Iterator:
        while True:
            try:
                yield self.data.popleft()
            except IndexError:
                return

    def __len__(self) -> int:
        return len(self.data)

    def __contains__(self, item: object) -> bool:
        return item in self.data

    def __reversed__(self) -> Iterator:
        return reversed(self.data)

    def __getitem__(self, index: Any) -> Any:
        return self.data[index]


class BufferMap(OrderedDict, Evictable):
    """Map of keys to bounded buffers, with a bound on the total item count."""

    Buffer = Messagebuffer
    Empty = KeyError
    maxsize = None
    total = 0
    bufmaxsize = None

    def __init__(self, maxsize: int | None, iterable: Iterable | None = None,
                 bufmaxsize: int = 1000) -> None:
        super().__init__()
        self.maxsize = maxsize
        self.bufmaxsize = bufmaxsize
        self.total = 0
        if iterable:
            self.update(iterable)

    def put(self, key: Any, item: Any) -> None:
        """Append ``item`` to the buffer of ``key``."""
        buf = self._get_or_create_buffer(key)
        before = len(buf)
        buf.put(item)
        self.total += len(buf) - before
        self.move_to_end(key)
        self.maxsize and self._evict()

    def extend(self, key: Any, it: Iterable) -> None:
        """Append every item of ``it`` to the buffer of ``key``."""
        buf = self._get_or_create_buffer(key)
        before = len(buf)
        buf.extend(it)
        self.total += len(buf) - before
        self.move_to_end(key)
        self.maxsize and self._evict()

    def take(self, key: Any, *default: Any) -> Any:
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

    def _get_or_create_buffer(self, key: Any) -> Messagebuffer:
        try:
            return self[key]
        except KeyError:
            buf = self[key] = self._new_buffer()
            return buf

    def _new_buffer(self) -> Messagebuffer:
        return self.Buffer(maxsize=self.bufmaxsize)

    def _pop_to_evict(self) -> Any:
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
