"""``find_app``: how ``-A`` names resolve to an app."""
from __future__ import annotations

import sys
import textwrap
import uuid
from pathlib import Path

import pytest

from celery import Celery
from celery.app.utils import find_app


@pytest.fixture
def name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.syspath_prepend(str(tmp_path))
    base = f'fapp_{uuid.uuid4().hex[:8]}'
    yield base
    for module in [m for m in sys.modules if m.startswith(base)]:
        del sys.modules[module]


def write(tmp_path: Path, relpath: str, source: str) -> None:
    path = tmp_path / relpath
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(source))


APP_SOURCE = "from celery import Celery\n{attr} = Celery('{main}', set_as_current=False)\n"


def test_module_attribute_app(tmp_path: Path, name: str) -> None:
    write(tmp_path, f'{name}.py', APP_SOURCE.format(attr='app', main='a'))
    assert find_app(name).main == 'a'


def test_module_attribute_celery(tmp_path: Path, name: str) -> None:
    write(tmp_path, f'{name}.py', APP_SOURCE.format(attr='celery', main='c'))
    assert find_app(name).main == 'c'


def test_colon_and_dotted_attribute(tmp_path: Path, name: str) -> None:
    write(tmp_path, f'{name}.py', APP_SOURCE.format(attr='myapp', main='m'))
    assert find_app(f'{name}:myapp').main == 'm'
    assert find_app(f'{name}.myapp').main == 'm'


def test_package_with_celery_submodule(tmp_path: Path, name: str) -> None:
    write(tmp_path, f'{name}/__init__.py', '')
    write(tmp_path, f'{name}/celery.py', APP_SOURCE.format(attr='app', main='sub'))
    assert find_app(name).main == 'sub'


def test_any_celery_instance_in_module(tmp_path: Path, name: str) -> None:
    write(tmp_path, f'{name}.py', APP_SOURCE.format(attr='whatever', main='any'))
    found = find_app(name)
    assert isinstance(found, Celery) and found.main == 'any'


def test_no_app_found_names_the_module(tmp_path: Path, name: str) -> None:
    write(tmp_path, f'{name}.py', 'x = 1\n')
    with pytest.raises(AttributeError, match=name):
        find_app(name)


def test_broken_celery_submodule_is_not_hidden(tmp_path: Path, name: str) -> None:
    write(tmp_path, f'{name}/__init__.py', '')
    write(tmp_path, f'{name}/celery.py', 'import fapp_missing_dependency\n')
    with pytest.raises(ModuleNotFoundError, match='fapp_missing_dependency'):
        find_app(name)


def test_missing_module() -> None:
    with pytest.raises(ModuleNotFoundError):
        find_app('fapp_no_such_module_anywhere')


def test_missing_attribute_after_colon_names_module_and_attribute(tmp_path: Path,
                                                                  name: str) -> None:
    write(tmp_path, f'{name}.py', APP_SOURCE.format(attr='app', main='a'))
    with pytest.raises(AttributeError, match=f"'{name}' has no attribute 'missing'"):
        find_app(f'{name}:missing')


def test_cli_reports_a_missing_app_attribute_without_a_traceback(tmp_path: Path,
                                                                 name: str) -> None:
    from click.testing import CliRunner

    from celery.bin.celery import celery
    write(tmp_path, f'{name}.py', APP_SOURCE.format(attr='app', main='a'))
    result = CliRunner().invoke(celery, ['-A', f'{name}:missing', 'report'])
    assert result.exit_code != 0
    assert 'Unable to load celery application.' in result.output
    assert f"Module '{name}' has no attribute 'missing'" in result.output
    assert 'Traceback' not in result.output
