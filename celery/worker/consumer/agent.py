"""Consumer step: the optional ``worker_agent`` actor."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from celery import bootsteps
from celery.worker._parents import consumer_of
from celery.worker.consumer.connection import Connection

if TYPE_CHECKING:
    from celery.worker.consumer.consumer import Consumer
    from celery.worker.worker import WorkController

__all__ = ('Agent',)


class Agent(bootsteps.StartStopStep):
    """Start the agent named by :setting:`worker_agent` (off when unset)."""

    conditional = True
    requires = (Connection,)

    def __init__(self, c: Consumer, **kwargs: Any) -> None:
        self.agent_cls = self.enabled = c.app.conf.worker_agent
        super().__init__(c, **kwargs)

    def create(self, parent: WorkController | Consumer) -> object:
        c = consumer_of(self, parent)
        agent: object = self.instantiate(self.agent_cls, c.connection)
        c.agent = agent
        return agent
