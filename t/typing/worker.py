"""What plugins touch in the worker: its steps' parents, requests and control commands."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from celery import bootsteps
from celery.worker.consumer.consumer import Consumer
from celery.worker.control import control_command, inspect_command
from celery.worker.request import Request
from celery.worker.worker import WorkController

if TYPE_CHECKING:
    from celery.worker._types import ControlState


class InfoStep(bootsteps.StartStopStep):
    """A worker step: its hooks get the WorkController."""

    def start(self, w: WorkController) -> None:
        reveal_type(w.app)  # N: Revealed type is "celery.app.base.Celery"
        reveal_type(w.pool)  # N: Revealed type is "celery.concurrency.base.BasePool | None"
        reveal_type(w.consumer)  # N: Revealed type is "celery.worker.consumer.consumer.Consumer | None"
        reveal_type(w.hub)  # N: Revealed type is "kombu.asynchronous.hub.Hub | None"


class ConsumerInfoStep(bootsteps.StartStopStep):
    """A consumer step: its hooks get the Consumer."""

    def start(self, c: Consumer) -> None:
        reveal_type(c.connection)  # N: Revealed type is "kombu.connection.Connection | None"
        reveal_type(c.qos)  # N: Revealed type is "kombu.common.QoS | None"
        reveal_type(c.controller)  # N: Revealed type is "celery.worker.worker.WorkController | None"


@control_command(args=[('n', int)], signature='[N=1]')
def increase(state: ControlState, n: int = 1, **kwargs: Any) -> dict[str, object]:
    reveal_type(state.consumer)  # N: Revealed type is "celery.worker.consumer.consumer.Consumer"
    return {'ok': n}


@inspect_command()
def current(state: ControlState) -> list[str]:
    return [state.hostname]


reveal_type(increase)  # N: Revealed type is "def (state: celery.worker._types.ControlState, n: int =, **kwargs: Any) -> dict[str, object]"


def describe(request: Request) -> str:
    reveal_type(request.task)  # N: Revealed type is "celery.app.task.Task[..., Any]"
    reveal_type(request.eta)  # N: Revealed type is "datetime.datetime | None"
    reveal_type(request.args)  # N: Revealed type is "typing.Sequence[Any]"
    return request.humaninfo()
