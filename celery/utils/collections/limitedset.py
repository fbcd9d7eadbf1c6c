"""``LimitedSet``: a bounded, expiring set (the worker's revoked task ids)."""
from __future__ import annotations

import time
from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping
from heapq import heapify, heappop, heappush
from typing import TYPE_CHECKING, Any, Generic, overload

if TYPE_CHECKING:
    # PEP 696 default: a bare ``LimitedSet`` holds any hashable items;
    # typing_extensions is not a run-time dependency.
    from typing_extensions import TypeVar

    #: The item type (task ids: ``LimitedSet[str]``).
    T = TypeVar('T', bound=Hashable, default=Any)
else:
    from typing import TypeVar

    T = TypeVar('T', bound=Hashable)
D = TypeVar('D')

__all__ = ('LimitedSet',)

REPR_LIMITED_SET = '<{name}({size}): maxlen={0.maxlen}, expires={0.expires}, minlen={0.minlen}>'


class LimitedSet(Generic[T]):
    """Set with a maximum size and optional per-item expiry.

    Membership is a dict lookup; :meth:`add` is a heap push, so both stay
    cheap for the worker's revoked-ids check.  ``_data`` maps each item to
    ``(inserted_time, item)``: that mapping (or :meth:`as_dict`) is what
    workers exchange, and :meth:`update` accepts either form.
    """

    #: Rebuild the heap once it holds this many percent stale entries.
    max_heap_percent_overload = 15

    def __init__(self, maxlen: int | None = 0, expires: float | None = 0,
                 data: LimitedSet[T] | Mapping[Any, Any] | Iterable[T] | None = None,
                 minlen: int | None = 0) -> None:
        self.maxlen = 0 if maxlen is None else maxlen
        self.minlen = 0 if minlen is None else minlen
        self.expires = 0 if expires is None else expires
        self._data: dict[T, tuple[float, T]] = {}
        self._heap: list[tuple[float, T]] = []
        if not self.maxlen >= self.minlen >= 0 and self.maxlen:
            raise ValueError('minlen must be a positive number, less or equal to maxlen.')
        if self.minlen < 0:
            raise ValueError('minlen cannot be negative.')
        if self.expires < 0:
            raise ValueError('expires cannot be negative.')
        if data:
            self.update(data)

    def _refresh_heap(self) -> None:
        self._heap[:] = self._data.values()
        heapify(self._heap)

    def _maybe_refresh_heap(self) -> None:
        if self._heap_overload >= self.max_heap_percent_overload:
            self._refresh_heap()

    @property
    def _heap_overload(self) -> float:
        return len(self._heap) * 100 / max(len(self._data), 1) - 100

    def clear(self) -> None:
        """Remove every item."""
        self._data.clear()
        self._heap[:] = []

    def add(self, item: T, now: float | None = None) -> None:
        """Add ``item``, or reset its insertion time when already present."""
        now = now or time.monotonic()
        if item in self._data:
            del self._data[item]
            self._maybe_refresh_heap()
        entry = (now, item)
        self._data[item] = entry
        heappush(self._heap, entry)
        if self.maxlen and len(self._data) >= self.maxlen:
            self.purge()

    def update(self, other: LimitedSet[T] | Mapping[Any, Any] | Iterable[T] | None) -> None:
        """Merge another LimitedSet, its ``as_dict()``/``_data``, or an iterable.

        A mapping is ``{item: inserted_time}`` (``as_dict()``), ``{item:
        (inserted_time, item)}`` (``_data``), or an old pickled state holding
        ``_data`` and ``_heap``.
        """
        if not other:
            return
        if isinstance(other, LimitedSet):
            self._data.update(other._data)
            self._refresh_heap()
            self.purge()
        elif isinstance(other, Mapping):
            mapping: Mapping[Any, Any] = (
                other['_data'] if '_data' in other and '_heap' in other else other)
            for key, inserted in mapping.items():
                if isinstance(inserted, (tuple, list)):
                    inserted = inserted[0]
                if isinstance(inserted, bool) or not isinstance(inserted, (int, float)):
                    raise ValueError(  # noqa: TRY004 - bad data from a peer, as in Celery
                        f'Expecting float timestamp, got type {type(inserted)!r} '
                        f'with value: {inserted!r}')
                self.add(key, float(inserted))
        else:
            for obj in other:
                self.add(obj)

    def discard(self, item: T) -> None:
        """Remove ``item`` if present."""
        if self._data.pop(item, None) is not None:
            self._maybe_refresh_heap()

    pop_value = discard

    def purge(self, now: float | Callable[[], float] | None = None) -> None:
        """Drop items beyond ``maxlen`` and items older than ``expires``."""
        now = now or time.monotonic()
        now = now() if callable(now) else now
        if self.maxlen:
            while len(self._data) > self.maxlen:
                self.pop()
        if self.expires:
            while len(self._data) > self.minlen >= 0:
                inserted, item = self._heap[0]
                if self._data.get(item) is not self._heap[0]:
                    heappop(self._heap)  # stale: item removed or re-added since
                    continue
                if inserted + self.expires > now:
                    break
                self.pop()

    @overload
    def pop(self) -> T | None: ...
    @overload
    def pop(self, default: D) -> T | D: ...

    def pop(self, default: object = None) -> object:
        """Remove and return the oldest item, or ``default`` when empty."""
        data = self._data
        while self._heap:
            entry = heappop(self._heap)
            item = entry[1]
            if data.get(item) is entry:
                del data[item]
                return item
        return default

    def as_dict(self) -> dict[T, float]:
        """The whole set as ``{item: inserted_time}``."""
        return {item: inserted for inserted, item in self._data.values()}

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, LimitedSet):
            return NotImplemented
        return self._data == other._data

    def __repr__(self) -> str:
        return REPR_LIMITED_SET.format(self, name=type(self).__name__, size=len(self))

    def __iter__(self) -> Iterator[T]:
        return (item for _, item in sorted(self._data.values(), key=lambda e: e[0]))

    def __len__(self) -> int:
        return len(self._data)

    def __contains__(self, key: object) -> bool:
        return key in self._data

    def __bool__(self) -> bool:
        return bool(self._data)

    def __reduce__(self) -> tuple[type[LimitedSet[T]], tuple[object, ...]]:
        return type(self), (self.maxlen, self.expires, self.as_dict(), self.minlen)

    def __setstate__(self, state: Mapping[str, Any]) -> None:
        # Older pickles stored the instance dict with ``_heap``/``_data``.
        self.__dict__.update(maxlen=0, minlen=0, expires=0, _data={}, _heap=[])
        self.__dict__.update({k: v for k, v in state.items() if k not in ('_data', '_heap')})
        self.update({'_data': state.get('_data', {}), '_heap': []})
