"""Typed tasks: ``@app.task`` and ``@shared_task`` keep the function's types."""
from __future__ import annotations

from typing import Any

from celery import Celery, Task, shared_task
from celery.result import AsyncResult, EagerResult

app = Celery('typing')


@app.task
def add(x: int, y: int) -> int:
    return x + y


@app.task(name='typing.mul', max_retries=5)
def mul(x: int, y: int) -> int:
    return x * y


@app.task(bind=True)
def bound(self: Task[Any, Any], text: str) -> str:
    return f'{self.name}: {text}'


@shared_task
def shout(text: str) -> str:
    return text.upper()


@shared_task(bind=True, ignore_result=True)
def shared_bound(self: Any, n: int) -> list[int]:
    return [n]


reveal_type(add)  # N: Revealed type is "celery.app.task.Task[[x: builtins.int, y: builtins.int], builtins.int]"
reveal_type(mul)  # N: Revealed type is "celery.app.task.Task[[x: builtins.int, y: builtins.int], builtins.int]"
reveal_type(bound)  # N: Revealed type is "celery.app.task.Task[[text: builtins.str], builtins.str]"
reveal_type(shout)  # N: Revealed type is "celery.app.task.Task[[text: builtins.str], builtins.str]"
reveal_type(shared_bound)  # N: Revealed type is "celery.app.task.Task[[n: builtins.int], builtins.list[builtins.int]]"

reveal_type(add(1, 2))  # N: Revealed type is "builtins.int"
reveal_type(add.delay(1, 2))  # N: Revealed type is "celery.result.async_result.AsyncResult[builtins.int]"
reveal_type(add.delay(1, 2).get())  # N: Revealed type is "builtins.int"
reveal_type(add.apply_async((1, 2), countdown=3))  # N: Revealed type is "celery.result.async_result.AsyncResult[builtins.int]"
reveal_type(add.apply((1, 2)).get())  # N: Revealed type is "builtins.int"
reveal_type(bound.delay('hi').get(timeout=1))  # N: Revealed type is "builtins.str"
reveal_type(shared_bound.delay(3).get())  # N: Revealed type is "builtins.list[builtins.int]"
reveal_type(add.s(1))  # N: Revealed type is "celery._canvas.signature.Signature[builtins.int]"
reveal_type(add.si(1, 2).delay())  # N: Revealed type is "celery.result.async_result.AsyncResult[builtins.int]"
reveal_type(add.AsyncResult('id').get())  # N: Revealed type is "builtins.int"

add.delay('1', 2)  # E: Argument 1 to "delay" of "Task" has incompatible type "str"; expected "int"
add.delay(1)  # E: Missing positional argument "y" in call to "delay" of "Task"
add(1, y='2')  # E: Argument "y" to "__call__" of "Task" has incompatible type "str"; expected "int"
add.si(1, 2, 3)  # E: Too many arguments for "si" of "Task"
bound.delay(1)  # E: Argument 1 to "delay" of "Task" has incompatible type "int"; expected "str"
shout.delay(text=1)  # E: Argument "text" to "delay" of "Task" has incompatible type "int"; expected "str"
text: str = add.delay(1, 2).get()  # E: Incompatible types in assignment (expression has type "int", variable has type "str")


def untyped_result(task_id: str) -> None:
    result = AsyncResult(task_id)
    reveal_type(result)  # N: Revealed type is "celery.result.async_result.AsyncResult[Any]"
    eager: EagerResult[int] = add.apply((1, 2))
    as_object: AsyncResult[object] = eager
