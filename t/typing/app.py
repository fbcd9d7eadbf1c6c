"""The app, its components, the control API and the task request, as a checker sees them."""
from __future__ import annotations

from typing import Any

from celery import Celery, Task

app = Celery('typing')


@app.task
def add(x: int, y: int) -> int:
    return x + y


# The components made on first use.
reveal_type(app.conf)  # N: Revealed type is "celery.app.utils.Settings"
reveal_type(app.backend)  # N: Revealed type is "celery.backends.base.Backend"
reveal_type(app.control)  # N: Revealed type is "celery.app.control.Control"
reveal_type(app.events)  # N: Revealed type is "celery.app.events.Events"
reveal_type(app.loader)  # N: Revealed type is "celery.loaders.base.BaseLoader"
reveal_type(app.log)  # N: Revealed type is "celery.app.log.Logging"
reveal_type(app.tasks)  # N: Revealed type is "celery.app.registry.TaskRegistry"
reveal_type(app.timezone)  # N: Revealed type is "datetime.tzinfo"
reveal_type(app.Worker)  # N: Revealed type is "type[celery.apps.worker.Worker]"
reveal_type(app.GroupResult)  # N: Revealed type is "type[celery.result.result_set.GroupResult]"
reveal_type(app.current_task)  # N: Revealed type is "celery.app.task.Task[..., Any] | None"
reveal_type(app.send_task('typing.add', (2, 2)))  # N: Revealed type is "celery.result.async_result.AsyncResult[Any]"

# Settings with a computed value are typed; the others depend on the key.
reveal_type(app.conf.broker_url)  # N: Revealed type is "builtins.str | None"

# Remote control: replies are {node: payload}, the payload alone when one
# node was named, None when nobody answered.
inspect = app.control.inspect(timeout=0.5)
reveal_type(inspect.ping())  # N: Revealed type is "builtins.dict[builtins.str, builtins.dict[builtins.str, builtins.str]] | builtins.dict[builtins.str, builtins.str] | None"
reveal_type(inspect.registered())  # N: Revealed type is "builtins.dict[builtins.str, builtins.list[builtins.str]] | builtins.list[builtins.str] | None"
reveal_type(app.control.ping(timeout=0.5))  # N: Revealed type is "builtins.list[builtins.dict[builtins.str, Any]] | None"
app.control.revoke('some-id', destination=['w1@example.com'], terminate=True)
app.control.rate_limit('typing.add', '10/m', destination='w1@example.com')
app.control.rate_limit('typing.add', object())  # E: Argument 2 to "rate_limit" of "Control" has incompatible type "object"; expected "str | float | None"

# The request of the task being executed.
reveal_type(add.request)  # N: Revealed type is "celery.app.context.Context"
reveal_type(add.request.id)  # N: Revealed type is "builtins.str | None"
reveal_type(add.request.args)  # N: Revealed type is "typing.Sequence[Any] | None"
reveal_type(add.request.children)  # N: Revealed type is "builtins.list[celery.result.async_result.ResultBase]"
reveal_type(add.backend)  # N: Revealed type is "celery.backends.base.Backend"
reveal_type(add.app)  # N: Revealed type is "celery.app.base.Celery"


class Handlers(Task[Any, Any]):
    """Handler overrides type-check against the base class."""

    def on_retry(self, exc: BaseException | None, task_id: str, args: Any, kwargs: Any,
                 einfo: Any) -> None:
        pass
