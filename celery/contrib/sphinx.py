"""Sphinx extension documenting tasks with autodoc.

Add ``'celery.contrib.sphinx'`` to ``extensions`` in ``conf.py``; then
``automodule`` lists a module's tasks with their real signatures, and
``.. autotask:: tasks.add`` documents one task.  Task entries are prefixed
with the ``celery_task_prefix`` option (default ``(task)``).

This module imports Sphinx: load it only as a Sphinx extension.
"""
from __future__ import annotations

from inspect import signature
from typing import TYPE_CHECKING, Any

from docutils import nodes
from sphinx.domains.python import PyFunction
from sphinx.ext.autodoc import FunctionDocumenter

from celery.app.task import Task

if TYPE_CHECKING:
    from sphinx.application import Sphinx
    from sphinx.config import Config

__all__ = (
    'TaskDirective',
    'TaskDocumenter',
    'autodoc_skip_member_handler',
    'setup',
    'use_documenter_classes',
)


def _is_decorated_task(member: Any) -> bool:
    try:
        return isinstance(member, Task) and getattr(member, '__wrapped__', None) is not None
    except Exception:  # noqa: BLE001 - an unevaluable proxy is not something we document
        return False


class TaskDocumenter(FunctionDocumenter):
    """Document a task object as the function it wraps."""

    objtype = 'task'
    member_order = 11

    @classmethod
    def can_document_member(cls, member: object, membername: str, isattr: bool,
                            parent: object) -> bool:
        """Whether ``member`` is a task created from a function."""
        return _is_decorated_task(member)

    def format_args(self) -> str:  # type: ignore[override]
        """Return the wrapped function's signature, without ``self``/``cls``."""
        wrapped = getattr(self.object, '__wrapped__', None)
        if wrapped is None:
            return ''
        sig = signature(wrapped)
        parameters = list(sig.parameters.values())
        if parameters and parameters[0].name in ('self', 'cls'):
            sig = sig.replace(parameters=parameters[1:])
        return str(sig)

    def document_members(self, all_members: bool = False) -> None:
        """Tasks have no members worth documenting."""

    def check_module(self) -> bool:
        """Whether the task's function was defined in the module being documented."""
        wrapped = getattr(self.object, '__wrapped__', None)
        if wrapped is not None and getattr(wrapped, '__module__', None) == self.modname:
            return True
        return super().check_module()


class TaskDirective(PyFunction):
    """The ``py:task`` directive: a function entry with the task prefix."""

    def get_signature_prefix(self, sig: str) -> list[nodes.Node]:
        """Return the ``celery_task_prefix`` text shown before the name."""
        return [nodes.Text(self.env.config.celery_task_prefix)]


def autodoc_skip_member_handler(app: Sphinx, what: str, name: str, obj: object, skip: bool,
                                options: object) -> bool | None:
    """Keep tasks that autodoc would skip because they look imported.

    Task objects are instances whose class lives elsewhere, so autodoc's
    "defined in this module" check would otherwise drop them.
    """
    if skip and _is_decorated_task(obj):
        return False
    return None


def use_documenter_classes(app: Sphinx, config: Config) -> None:
    """Let ``automodule`` find tasks on Sphinx 9+, unless ``conf.py`` chose otherwise.

    Sphinx 9's rewritten autodoc picks member types itself and ignores
    registered documenters; its class-based mode still consults them.
    """
    name = 'autodoc_use_legacy_class_based'
    if name in config.values and name not in config._raw_config:
        config[name] = True


def setup(app: Sphinx) -> dict[str, Any]:
    """Install the extension: ``autotask``, ``py:task`` and the skip handler."""
    # Runs before autodoc's own config-inited handler (default priority 500).
    app.connect('config-inited', use_documenter_classes, priority=100)
    app.setup_extension('sphinx.ext.autodoc')
    app.add_autodocumenter(TaskDocumenter)
    app.add_directive_to_domain('py', 'task', TaskDirective)
    app.add_config_value('celery_task_prefix', '(task)', 'env')  # 'env': True in old Sphinx
    app.connect('autodoc-skip-member', autodoc_skip_member_handler)
    return {'parallel_read_safe': True}
