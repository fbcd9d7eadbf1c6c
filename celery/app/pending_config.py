"""``app.conf`` before the configuration is loaded.

Kept out of :mod:`celery.app.base` so that creating an app does not import
the collections it builds on; the app imports it when ``app.conf`` is
first used.
"""
from __future__ import annotations

from collections import UserDict
from collections.abc import Callable, Iterator, MutableMapping
from typing import Any

from celery.utils.collections import AttributeDictMixin

__all__ = ('PendingConfiguration',)


def _never_loaded() -> bool:
    return False


class PendingConfiguration(UserDict[str, Any], AttributeDictMixin):
    """Settings written before the configuration is loaded; the first read loads it.

    ``conf`` is the mapping that keeps the early writes (the app's changes)
    and ``callback()`` loads and returns the real settings, which every
    read (``data``) goes to.  Writes made through a reference kept after
    loading reach the loaded settings.
    """

    #: Loads the configuration and returns the settings.
    callback: Callable[[], MutableMapping[str, Any]] | None = None

    #: Whether the settings exist yet; the app that owns this object sets it.
    _is_loaded: Callable[[], bool] = staticmethod(_never_loaded)

    def __init__(self, conf: MutableMapping[str, Any],
                 callback: Callable[[], MutableMapping[str, Any]]) -> None:
        # object.__setattr__: through the mixin an attribute write is a setting.
        object.__setattr__(self, '_data', conf)
        object.__setattr__(self, 'callback', callback)

    @property
    def data(self) -> MutableMapping[str, Any]:  # type: ignore[override]
        """The loaded settings (loading them on first use)."""
        return self.callback()  # type: ignore[misc]

    def _writes_go_to(self) -> MutableMapping[str, Any]:
        return self.data if self._is_loaded() else self._data

    # Any: a setting's value, whose type depends on the key (as Settings).
    def __getitem__(self, key: str) -> Any:
        # Not UserDict's membership test first: some settings are computed
        # (the broker URL from the environment) and only answer to lookup.
        return self.data[key]

    def __getattr__(self, key: str) -> Any:  # a setting, or a method of the settings
        if key.startswith('__'):
            # copy, pickle and friends probe for these; don't load for them.
            raise AttributeError(key)
        # From the settings, so their methods (``humanize``...) answer too.
        return getattr(self.data, key)

    def get(self, key: str, default: object = None) -> object:
        """Value of setting ``key`` (loading the configuration), or ``default``."""
        return self.data.get(key, default)

    def copy(self) -> MutableMapping[str, Any]:
        """A copy of the loaded settings."""
        return self.data.copy()  # type: ignore[attr-defined]

    __copy__ = copy

    def __setitem__(self, key: str, value: object) -> None:
        self._writes_go_to()[key] = value

    def clear(self) -> None:
        """Drop every setting written so far."""
        self._writes_go_to().clear()

    def update(self, *args: Any, **kwargs: Any) -> None:
        """Write several settings without loading the configuration."""
        self._writes_go_to().update(*args, **kwargs)

    def setdefault(self, *args: Any, **kwargs: Any) -> object:
        """Write a setting unless already written, without loading the configuration."""
        value: object = self._writes_go_to().setdefault(*args, **kwargs)
        return value

    def __contains__(self, key: object) -> bool:
        # Only what was written, until loaded: ``setdefault`` asks this, and
        # must not load the configuration.
        return key in self._writes_go_to()

    def __len__(self) -> int:
        return len(self.data)

    def __iter__(self) -> Iterator[str]:
        return iter(self.data)

    def __repr__(self) -> str:
        if self._is_loaded():
            return repr(self.data)
        return f'<PendingConfiguration: {self._data!r}>'
