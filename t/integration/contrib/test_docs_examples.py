"""Every Python example of docs/userguide/testing.rst passes under pytest."""
from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
CHAPTER = ROOT / 'docs' / 'userguide' / 'testing.rst'

#: The queue name the examples use; each run gets its own copy of it.
QUEUE_PLACEHOLDER = 'proj-tests'

CODE_BLOCK = re.compile(r'^\.\. code-block:: python\n\n((?:(?:    .*)?\n)+)', re.MULTILINE)
#: A first line like ``# proj/tasks.py`` names a file the examples rely on.
FILE_NAME = re.compile(r'^# ([\w/]+\.py)$')


def python_examples() -> list[str]:
    """The dedented Python code blocks of the chapter, in order."""
    return [textwrap.dedent(block) for block in CODE_BLOCK.findall(CHAPTER.read_text())]


def support_files() -> dict[str, str]:
    """Examples that are files other examples need (``conftest.py``, task modules)."""
    files = {}
    for example in python_examples():
        named = FILE_NAME.match(example.splitlines()[0])
        if named:
            files[named.group(1)] = example
    return files


def example_modules() -> list[str]:
    """Examples that are test modules."""
    return [e for e in python_examples() if not FILE_NAME.match(e.splitlines()[0])]


def test_the_chapter_has_examples() -> None:
    assert {'conftest.py', 'proj/tasks.py'} <= set(support_files())
    assert len(example_modules()) >= 8


def example_groups() -> dict[str, list[int]]:
    """Examples that can share one pytest run.

    A session worker consumes the in-memory broker's default queue until the
    run ends, so examples using one get a run of their own.
    """
    groups: dict[str, list[int]] = {'per-test workers': [], 'session worker': []}
    for index, example in enumerate(example_modules()):
        key = 'session worker' if 'celery_session_worker' in example else 'per-test workers'
        groups[key].append(index)
    return groups


@pytest.mark.parametrize('group', ['per-test workers', 'session worker'])
def test_examples_pass(group: str, tmp_path: Path) -> None:
    suffix = uuid.uuid4().hex[:12]
    for name, content in support_files().items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.parent != tmp_path:
            (path.parent / '__init__.py').touch()
        path.write_text(content)
    indexes = example_groups()[group]
    expected_tests = 0
    for index in indexes:
        example = example_modules()[index]
        example = example.replace(QUEUE_PLACEHOLDER, f'{QUEUE_PLACEHOLDER}-{suffix}')
        (tmp_path / f'test_example_{index}.py').write_text(example)
        expected_tests += len(re.findall(r'^\s*def test_', example, re.MULTILINE))
    environ = dict(os.environ, PYTHONPATH=f'{ROOT}{os.pathsep}{tmp_path}')
    environ.pop('PYTEST_ADDOPTS', None)
    run = subprocess.run(
        [sys.executable, '-m', 'pytest', '-q', '-rf', '-p', 'no:cacheprovider',
         '--strict-markers'],
        cwd=tmp_path, env=environ, capture_output=True, text=True, check=False, timeout=180)
    assert run.returncode == 0, f'{run.stdout}\n{run.stderr}'
    assert f'{expected_tests} passed' in run.stdout, run.stdout
