"""celery.local's lazy modules (old import paths) and class properties."""
from __future__ import annotations

import pickle
import sys
import types

import pytest

from celery import Celery, local


@pytest.fixture
def app(unique):
    app = Celery(f'local-{unique}', broker='memory://', set_as_current=False)
    app.set_current()
    yield app
    app.close()


@pytest.fixture
def scratch_module(unique):
    name = f'scratch_pkg_{unique.replace("-", "_")}'
    module = types.ModuleType(name, 'scratch doc')
    module.__all__ = ('x',)
    module.extra = 'not kept'
    sys.modules[name] = module
    yield name
    sys.modules.pop(name, None)


def test_constants():
    assert local.DEFAULT_ATTRS == {'__file__', '__path__', '__doc__', '__all__'}
    assert {'log', 'messaging', 'registry', 'execute', 'subtask'} <= local.DEPRECATED_ATTRS
    assert local.COMPAT_MODULES['celery']['messaging']['TaskConsumer'] == 'amqp.TaskConsumer'
    assert '{module}' in local.MODULE_DEPRECATED


def test_getappattr_follows_a_dotted_path_on_the_current_app(app):
    assert local.getappattr('amqp.TaskConsumer') == app.amqp.TaskConsumer
    assert local.getappattr('conf') is app.conf


def test_get_origins_inverts_the_mapping():
    assert local.get_origins({'os.path': ['join', 'split'], 'json': ['dumps']}) == {
        'join': 'os.path', 'split': 'os.path', 'dumps': 'json'}


def test_create_module_registers_a_module_of_a_new_lazy_class(unique):
    name = f'made_{unique.replace("-", "_")}'
    try:
        module = local.create_module(name, {'a': 1, 'b': 2}, cls_attrs={'flag': True},
                                     prepare_attr=lambda v: v * 10)
        assert sys.modules[name] is module
        assert isinstance(module, local.LazyModule) and type(module) is not local.LazyModule
        assert (module.a, module.b, module.flag) == (10, 20, True)
    finally:
        sys.modules.pop(name, None)


def test_recreate_module_imports_names_on_first_access(scratch_module):
    old, new = local.recreate_module(scratch_module, by_module={'os.path': ['join', 'split']},
                                     direct={'jsonmod': 'json'}, extra_attr=5)
    assert sys.modules[scratch_module] is new and old is not new
    assert new.__doc__ == 'scratch doc' and new.__all__ == ('x',) and new.extra_attr == 5
    assert not hasattr(new, 'extra')
    assert 'join' not in vars(new)
    import json
    import os.path
    assert new.join is os.path.join
    assert vars(new)['split'] is os.path.split  # the same import brought its siblings
    assert new.jsonmod is json
    assert {'join', 'split', 'jsonmod'} <= set(dir(new))
    with pytest.raises(AttributeError):
        new.missing


def test_lazy_module_pickles_as_its_name(scratch_module):
    _, new = local.recreate_module(scratch_module)
    assert pickle.loads(pickle.dumps(new)) is new


def test_compat_module_forwards_to_the_current_app(app):
    import celery
    module = local.get_compat_module(celery, 'messaging')
    try:
        assert module.__name__ == 'celery.messaging'
        assert sys.modules['celery.messaging'] is module
        assert module.TaskConsumer == app.amqp.TaskConsumer
        registry = local.get_compat_module(celery, 'registry')
        assert registry.tasks is app.tasks or registry.tasks == app.tasks
    finally:
        sys.modules.pop('celery.messaging', None)
        sys.modules.pop('celery.registry', None)


def test_compat_submodules_of_a_lazy_package(scratch_module, monkeypatch, app):
    monkeypatch.setitem(local.COMPAT_MODULES, scratch_module, {'registry': {'tasks': 'tasks'},
                                                               'jsonish': 'json'})
    _, new = local.recreate_module(scratch_module, compat_modules=('registry', 'jsonish'))
    import json
    assert new.jsonish is json
    assert 'tasks' in dir(new.registry)


class Example:
    _kind = 'base'

    @local.class_property
    def kind(cls):
        return cls._kind

    @classmethod
    def make(cls):
        return cls()


def test_class_property_reads_on_class_and_instance():
    class Sub(Example):
        _kind = 'sub'
    assert Example.kind == 'base' and Sub.kind == 'sub' and Sub().kind == 'sub'
    with pytest.raises(AttributeError):
        Example().kind = 'x'


def test_class_property_setter():
    stored = {}

    class WithSetter:
        value = local.class_property(lambda cls: stored.get('v', 'unset'))

        @value.setter
        def value(self, new):
            stored['v'] = new
    obj = WithSetter()
    obj.value = 3
    assert WithSetter.value == 3 and obj.value == 3


def test_reclassmethod_and_fun_of_method():
    func = local.fun_of_method(Example.make)
    assert func is Example.__dict__['make'].__func__
    assert local.fun_of_method(len) is len

    class Other:
        make = local.reclassmethod(Example.make)
    assert isinstance(Other.make(), Other)
