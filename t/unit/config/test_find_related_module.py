"""find_related_module: ``<package>.<related_name>``, or None when it does not exist."""
from __future__ import annotations

import sys
import textwrap
import uuid
from pathlib import Path

import pytest

from celery.loaders.base import find_related_module


@pytest.fixture
def pkgdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.syspath_prepend(str(tmp_path))
    yield tmp_path
    for module in [m for m in sys.modules if m.startswith('frmt_')]:
        del sys.modules[module]


@pytest.fixture
def name() -> str:
    return f'frmt_{uuid.uuid4().hex[:8]}'


def write_module(root: Path, dotted: str, source: str = '') -> None:
    parts = dotted.split('.')
    for index in range(1, len(parts)):
        package = root.joinpath(*parts[:index])
        package.mkdir(exist_ok=True)
        (package / '__init__.py').touch()
    root.joinpath(*parts[:-1], parts[-1] + '.py').write_text(textwrap.dedent(source))


def test_finds_the_related_module(pkgdir: Path, name: str) -> None:
    write_module(pkgdir, f'{name}.tasks', 'X = 1\n')
    assert find_related_module(name, 'tasks').__name__ == f'{name}.tasks'


def test_none_when_the_package_has_no_such_module(pkgdir: Path, name: str) -> None:
    write_module(pkgdir, f'{name}.models')
    assert find_related_module(name, 'tasks') is None


def test_empty_related_name_returns_the_package(pkgdir: Path, name: str) -> None:
    write_module(pkgdir, f'{name}.models')
    assert find_related_module(name, '').__name__ == name


def test_a_class_path_looks_in_the_package_holding_it(pkgdir: Path, name: str) -> None:
    # Django's INSTALLED_APPS may name 'pkg.apps.PkgConfig' rather than 'pkg'.
    write_module(pkgdir, f'{name}.tasks', 'X = 1\n')
    found = find_related_module(f'{name}.NoSuchConfig', 'tasks')
    assert found.__name__ == f'{name}.tasks'


def test_a_missing_top_level_package_is_an_error(pkgdir: Path, name: str) -> None:
    with pytest.raises(ModuleNotFoundError):
        find_related_module(name, 'tasks')


def test_a_missing_import_inside_the_module_is_an_error(pkgdir: Path, name: str) -> None:
    write_module(pkgdir, f'{name}.tasks', 'import frmt_not_installed_anywhere\n')
    with pytest.raises(ModuleNotFoundError, match='frmt_not_installed_anywhere'):
        find_related_module(name, 'tasks')
