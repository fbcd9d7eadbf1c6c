"""The Sphinx extension documents tasks as functions with their real signatures."""
from __future__ import annotations

import re
import textwrap

import pytest

pytest.importorskip('sphinx')

from celery.contrib.sphinx import TaskDocumenter, autodoc_skip_member_handler, setup

TASKS_MODULE = '''
"""Tasks for the docs."""
from celery import Celery

app = Celery('docs', set_as_current=False)


@app.task
def add(x, y=2):
    """Add two numbers."""
    return x + y


@app.task(bind=True)
def bound(self, a, *, b=1):
    """A bound task."""
    return a


def plain(z):
    """Just a function."""
'''


@pytest.fixture
def tasks_module(tmp_path, monkeypatch, unique):
    name = f'doctasks_{unique}'
    (tmp_path / f'{name}.py').write_text(TASKS_MODULE)
    monkeypatch.syspath_prepend(str(tmp_path))
    module = __import__(name)
    yield module
    module.app.close()


def build(tmp_path, index: str, conf: str = '') -> str:
    from sphinx.application import Sphinx
    src = tmp_path / 'src'
    src.mkdir()
    (src / 'conf.py').write_text("extensions = ['celery.contrib.sphinx']\n" + conf)
    (src / 'index.rst').write_text(textwrap.dedent(index))
    out = tmp_path / 'out'
    Sphinx(str(src), str(src), str(out), str(tmp_path / 'doctrees'), 'text',
           status=None, warning=None, freshenv=True).build()
    return (out / 'index.txt').read_text()


def test_automodule_lists_tasks_with_signatures(tmp_path, tasks_module):
    text = build(tmp_path, f'''
        Tasks
        =====

        .. automodule:: {tasks_module.__name__}
           :members:
        ''')
    assert re.search(r'\(task\)\s*\S*add\(x, y=2\)', text)
    assert re.search(r'\(task\)\s*\S*bound\(a, \*, b=1\)', text)
    assert 'Add two numbers.' in text
    assert re.search(r'\S*plain\(z\)', text)
    assert not re.search(r'\(task\)\s*\S*plain', text)


def test_autotask_directive_and_prefix_option(tmp_path, tasks_module):
    text = build(tmp_path, f'''
        One
        ===

        .. autotask:: {tasks_module.__name__}.add
        ''', conf="celery_task_prefix = '[job]'\n")
    assert re.search(r'\[job\]\s*\S*add\(x, y=2\)', text)


def test_py_task_directive(tmp_path):
    text = build(tmp_path, '''
        Manual
        ======

        .. py:task:: send_email(to, subject)

           Sends an email.
        ''')
    assert re.search(r'\(task\)\s*send_email\(to, subject\)', text)


def test_can_document_only_tasks_from_functions(tasks_module):
    assert TaskDocumenter.can_document_member(tasks_module.add, 'add', False, None)
    assert not TaskDocumenter.can_document_member(tasks_module.plain, 'plain', False, None)
    assert not TaskDocumenter.can_document_member(object(), 'x', False, None)


def test_skip_handler_keeps_tasks_only(tasks_module):
    assert autodoc_skip_member_handler(None, 'module', 'add', tasks_module.add, True, {}) is False
    assert autodoc_skip_member_handler(None, 'module', 'add', tasks_module.add, False, {}) is None
    assert autodoc_skip_member_handler(None, 'module', 'p', tasks_module.plain, True, {}) is None


def test_setup_reports_parallel_safety():
    calls = []

    class FakeSphinx:
        def __getattr__(self, name):
            return lambda *args, **kwargs: calls.append(name)

    assert setup(FakeSphinx()) == {'parallel_read_safe': True}
    assert {'add_autodocumenter', 'add_directive_to_domain', 'add_config_value',
            'connect', 'setup_extension'} <= set(calls)
