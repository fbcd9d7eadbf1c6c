"""Import helpers."""
from __future__ import annotations

import os
import sys
from collections import OrderedDict

import pytest

from celery.utils import uuid
from celery.utils.imports import (
    NotAPackage,
    cwd_in_path,
    find_module,
    gen_task_name,
    import_from_cwd,
    instantiate,
    load_extension_class_names,
    module_file,
    qualname,
    symbol_by_name,
)


class App:
    def __init__(self, main):
        self.main = main


def test_symbol_by_name_forms():
    assert symbol_by_name('os.path:join') is os.path.join
    assert symbol_by_name('os.path.join') is os.path.join
    assert symbol_by_name('os') is os
    assert symbol_by_name(os) is os
    assert symbol_by_name('.decoder:JSONDecoder', package='json').__name__ == 'JSONDecoder'
    assert symbol_by_name('od', aliases={'od': 'collections:OrderedDict'}) is OrderedDict


def test_symbol_by_name_errors_and_default():
    with pytest.raises(ImportError):
        symbol_by_name('no_such_module_xyz:thing')
    with pytest.raises(AttributeError):
        symbol_by_name('os:no_such_attr')
    assert symbol_by_name('no_such_module_xyz:thing', default='fallback') == 'fallback'


def test_instantiate_and_qualname():
    assert instantiate('collections:OrderedDict', a=1) == {'a': 1}
    assert qualname(OrderedDict) == 'collections.OrderedDict'
    assert qualname(OrderedDict()) == 'collections.OrderedDict'


def test_gen_task_name():
    assert gen_task_name(App('proj'), 'add', 'proj.tasks') == 'proj.tasks.add'
    assert gen_task_name(App('proj'), 'add', '__main__') == 'proj.add'
    assert gen_task_name(App(None), 'add', '__main__') == '__main__.add'


def test_gen_task_name_of_the_main_script_in_a_pool_child(tmp_path, monkeypatch):
    import celery.utils.imports as imports
    assert imports.MP_MAIN_FILE is None  # only pools set it, for their children
    script = tmp_path / 'proj_script.py'
    script.write_text('')
    module = type(sys)('__mp_main__')
    module.__file__ = str(script)
    monkeypatch.setitem(sys.modules, '__mp_main__', module)
    assert gen_task_name(App('proj'), 'add', '__mp_main__') == '__mp_main__.add'
    monkeypatch.setattr(imports, 'MP_MAIN_FILE', str(script))
    assert gen_task_name(App('proj'), 'add', '__mp_main__') == 'proj.add'
    assert gen_task_name(App('proj'), 'add', 'proj.tasks') == 'proj.tasks.add'


def test_import_from_cwd(tmp_path, monkeypatch):
    name = f'mod_{uuid().replace("-", "")}'
    (tmp_path / f'{name}.py').write_text('VALUE = 42\n')
    monkeypatch.chdir(tmp_path)
    try:
        assert import_from_cwd(name).VALUE == 42
        assert str(tmp_path) not in sys.path
        assert module_file(sys.modules[name]).endswith(f'{name}.py')
    finally:
        sys.modules.pop(name, None)


def test_cwd_in_path_restores(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with cwd_in_path() as added:
        assert added == str(tmp_path)
        assert sys.path[0] == str(tmp_path)
    assert str(tmp_path) not in sys.path


def test_find_module():
    assert find_module('json').__name__ == 'json'
    with pytest.raises(ImportError):
        find_module('no_such_module_xyz')
    with pytest.raises(NotAPackage):
        find_module('os.py')


def test_load_extension_class_names_unknown_group():
    assert list(load_extension_class_names('celery.no_such_group')) == []
