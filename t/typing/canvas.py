"""Signatures and workflows carry the result type as far as a checker can follow it."""
from __future__ import annotations

from celery import Celery, Task, chain, chord, group
from celery.result import AsyncResult, GroupResult

app = Celery('typing')


@app.task
def add(x: int, y: int) -> int:
    return x + y


@app.task
def tsum(numbers: list[int]) -> int:
    return sum(numbers)


class LoggingTask(Task):
    """A plugin's base class: subclasses of bare Task keep working."""

    def run(self, x: int) -> int:
        return x


@app.task(base=LoggingTask, bind=True)
def logged(self: LoggingTask, x: int) -> str:
    return str(x)


reveal_type(add.s(2, 2))  # N: Revealed type is "celery._canvas.signature.Signature[builtins.int]"
reveal_type(add.s(2, 2).delay())  # N: Revealed type is "celery.result.async_result.AsyncResult[builtins.int]"
reveal_type(add.si(2, 2).apply_async().get())  # N: Revealed type is "builtins.int"
reveal_type(group(add.s(i, i) for i in range(10)).apply_async())  # N: Revealed type is "celery.result.result_set.GroupResult"
# chain() may build a chord or a group, so it is untyped.
reveal_type(chain(add.s(2, 2), add.s(4)).apply_async())  # N: Revealed type is "Any"
reveal_type(logged)  # N: Revealed type is "celery.app.task.Task[[x: builtins.int], builtins.str]"
reveal_type(LoggingTask().run(1))  # N: Revealed type is "builtins.int"

add.si(2, '2')  # E: Argument 2 to "si" of "Task" has incompatible type "str"; expected "int"
logged.delay('1')  # E: Argument 1 to "delay" of "Task" has incompatible type "str"; expected "int"


def collect(results: GroupResult, one: AsyncResult[int]) -> list[object]:
    return [*results.get(), one.get()]


def header_then_body() -> None:
    chord([add.s(1, 1), add.s(2, 2)], tsum.s())
