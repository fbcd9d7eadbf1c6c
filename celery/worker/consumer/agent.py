"""Consumer step: the optional ``worker_agent`` actor."""
from __future__ import annotations

from typing import Any

from celery import bootsteps
from celery.worker.consumer.connection import Connection

__all__ = ('Agent',)


class Agent(bootsteps.StartStopStep):
    """Start the agent named by :setting:`worker_agent` (off when unset)."""

    conditional = True
    requires = (Connection,)

    def __init__(self, c: Any, **kwargs: Any) -> None:
        self.agent_cls = self.enabled = c.app.conf.worker_agent
        super().__init__(c, **kwargs)

    def create(self, c: Any) -> Any:
        agent = c.agent = self.instantiate(self.agent_cls, c.connection)
        return agent
