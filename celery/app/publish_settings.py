"""The settings every task publish reads, snapshotted per app until the configuration changes."""
from __future__ import annotations

from typing import Any, NamedTuple

__all__ = ('PublishSettings', 'publish_settings')


class PublishSettings(NamedTuple):
    """Publish-relevant settings, read together from one configuration version."""

    #: The :class:`~celery.app.utils.Settings` object they were read from.
    source: Any
    #: ``source.version`` when they were read.
    version: int
    always_eager: bool
    send_sent_event: bool
    inherit_parent_priority: bool
    default_queue: str


def publish_settings(app: Any) -> PublishSettings:
    """The app's :class:`PublishSettings`, read again when its configuration changed."""
    # Each conf read walks the alias/layer chain (~1 µs); a publish made
    # four of them.  The snapshot is current while the app still has the
    # same Settings object (config_from_object replaces it) at the same version.
    snapshot: PublishSettings | None = app._publish_settings
    if snapshot is not None:
        source = snapshot.source
        if app._conf is source and source.version == snapshot.version:
            return snapshot
    snapshot = _read(app)
    if snapshot.version >= 0:  # not a Settings object: nothing tells us when it changes
        app._publish_settings = snapshot
    return snapshot


def _read(app: Any) -> PublishSettings:
    conf = app.conf
    default_queue = conf.task_default_queue  # the first read loads a pending configuration
    source = app._conf
    return PublishSettings(
        source=source,
        version=getattr(source, 'version', -1),
        always_eager=bool(conf.task_always_eager),
        send_sent_event=bool(conf.task_send_sent_event),
        inherit_parent_priority=bool(conf.task_inherit_parent_priority),
        default_queue=default_queue,
    )
