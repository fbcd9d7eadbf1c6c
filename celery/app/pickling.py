"""Rebuilding an app from a pickle (apps travel to pool children and beat's processes).

A pickled app carries only what is needed to build it again: its
constructor arguments and the settings changed in code; the rest of the
configuration is read again from its source on the other side.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from celery.app.base import Celery

__all__ = ('AppPickler',)

# The positional order of the older pickle format (Celery's names, kept for compatibility).
_STANDARD_ARGS = ('main', 'changes', 'loader', 'backend', 'amqp', 'events', 'log',
                  'control', 'accept_magic_kwargs', 'config_source', 'config_source_silent')


class AppPickler:
    """Rebuild an app from the positional arguments of the older pickle format."""

    def __call__(self, cls: type[Celery], *args: object) -> Celery:
        kwargs = self.build_kwargs(*args)
        app = self.construct(cls, **kwargs)
        self.prepare(app, **kwargs)
        return app

    def prepare(self, app: Celery, **kwargs: Any) -> None:
        """Apply the pickled settings changes to the rebuilt ``app``."""
        app.conf.update(kwargs['changes'])

    def build_kwargs(self, *args: Any) -> dict[str, Any]:
        """Constructor keyword arguments from the pickled positional ones."""
        return self.build_standard_kwargs(*args)

    # The component arguments are passed on to the constructor as they are
    # (a class or its ``module:Class`` path each).
    def build_standard_kwargs(self, main: str | None, changes: Mapping[str, object],
                              loader: object, backend: object, amqp: object, events: object,
                              log: object, control: object, accept_magic_kwargs: object,
                              config_source: object = None,
                              config_source_silent: bool = False) -> dict[str, Any]:
        """Keyword arguments for the app's constructor (``accept_magic_kwargs`` is obsolete)."""
        given = dict(zip(_STANDARD_ARGS, (
            main, changes, loader, backend, amqp, events, log, control,
            accept_magic_kwargs, config_source, config_source_silent)))
        del given['accept_magic_kwargs']
        # A copy must not take over as the current app of the process loading it.
        given['set_as_current'] = False
        return given

    def construct(self, cls: type[Celery], **kwargs: Any) -> Celery:
        """Create the app."""
        return cls(**kwargs)


def _unpickle_app(cls: type[Celery], pickler: type[AppPickler], *args: object) -> Celery:
    """Rebuild an app pickled in the older, positional format."""
    return pickler()(cls, *args)


def _unpickle_app_v2(cls: type[Celery], kwargs: dict[str, Any]) -> Celery:
    """Rebuild an app from its reduce keys (:meth:`~celery.Celery.__reduce_keys__`)."""
    kwargs['set_as_current'] = False
    return cls(**kwargs)
