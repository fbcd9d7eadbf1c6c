"""What ``group`` and ``chain`` share: a list of member signatures in ``self.tasks``."""
from __future__ import annotations

from typing import Any

from celery._canvas.signature import Signature, maybe_signature

__all__ = ('CompositeSignature',)


class CompositeSignature(Signature):
    """A signature made of member signatures (``self.tasks``)."""

    tasks: Any

    def _stamp_members(self, visitor: Any, append_stamps: bool, visitor_headers: Any,
                       headers: dict[str, Any]) -> dict[str, Any]:
        """Stamp our own options, links and every member; return the headers used."""
        headers = self._stamp_headers(visitor_headers, append_stamps, **headers)
        self.stamp_links(visitor, append_stamps, **headers)
        tasks = [maybe_signature(task, app=self._app) for task in self.tasks]
        for task in tasks:
            task.stamp(visitor, append_stamps, **headers)
        self.tasks = tasks
        return headers

    @property
    def app(self) -> Any:
        """The app of this signature, else of its first member, else the current app."""
        app = self._app
        if app is None:
            try:
                app = self.tasks[0].app
            except (LookupError, AttributeError):
                app = super().app
        return app
