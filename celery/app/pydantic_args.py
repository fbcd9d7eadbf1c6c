"""Tasks with pydantic models as arguments and results (``@app.task(pydantic=True)``).

Messages carry plain data: arguments annotated with a model class (or an
optional one) arrive as dicts and are validated into the model before the
task runs; a model returned by the task is dumped back to plain data.
"""
from __future__ import annotations

import inspect
from collections.abc import Callable
from functools import wraps
from typing import TYPE_CHECKING, Any, TypeVar

from celery.utils.annotations import annotation_issubclass, get_optional_arg

if TYPE_CHECKING:
    from celery.app.base import Celery

__all__ = ('pydantic_wrapper',)

_B = TypeVar('_B')


def _model_parameters(signature: inspect.Signature, base: type[_B]
                      ) -> dict[str, tuple[type[_B], bool]]:
    """Map parameter name -> (model class, whether None is accepted) for model-typed parameters."""
    models: dict[str, tuple[type[_B], bool]] = {}
    for name, param in signature.parameters.items():
        annotation = param.annotation
        optional_of = get_optional_arg(annotation)
        if optional_of is not None and annotation_issubclass(optional_of, base):
            models[name] = (optional_of, True)
        elif annotation_issubclass(annotation, base):
            models[name] = (annotation, False)
    return models


def _resolved_signature(fun: Callable[..., Any]) -> inspect.Signature:
    # Annotations written as strings (``from __future__ import annotations``)
    # must be resolved to find the model classes; a name that cannot be
    # resolved (a local class) stays a string, and only its argument unconverted.
    try:
        return inspect.signature(fun, eval_str=True)
    except NameError:
        pass
    signature = inspect.signature(fun)
    namespace = getattr(inspect.unwrap(fun), '__globals__', {})
    return signature.replace(parameters=[
        param.replace(annotation=_resolved(param.annotation, namespace))
        for param in signature.parameters.values()])


def _resolved(annotation: Any, namespace: dict[str, Any]) -> Any:
    if not isinstance(annotation, str):
        return annotation
    try:
        return eval(annotation, namespace)  # noqa: S307 - the function's own annotation
    except Exception:
        return annotation


def pydantic_wrapper(app: Celery, task_fun: Callable[..., Any], task_name: str,
                     strict: bool = True, context: dict[str, Any] | None = None,
                     dump_kwargs: dict[str, Any] | None = None) -> Callable[..., Any]:
    """Wrap ``task_fun``: validate model arguments from plain data, dump a model result."""
    from pydantic import BaseModel

    signature = _resolved_signature(task_fun)
    models = _model_parameters(signature, BaseModel)
    # JSON mode by default: the result goes through a serializer next.
    dump_options = {'mode': 'json', **(dump_kwargs or {})}

    @wraps(task_fun)
    def run_with_models(*args: Any, **kwargs: Any) -> Any:
        bound = signature.bind(*args, **kwargs)
        for name, (model, optional) in models.items():
            if name not in bound.arguments:
                continue  # left to its default
            value = bound.arguments[name]
            if value is None and optional:
                continue
            bound.arguments[name] = model.model_validate(value, strict=strict, context=context)
        result = task_fun(*bound.args, **bound.kwargs)
        if isinstance(result, BaseModel):
            return result.model_dump(**dump_options)
        return result

    return run_with_models
