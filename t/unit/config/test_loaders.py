"""Loaders: config_from_object forms, command-line settings, module imports."""
from __future__ import annotations

import sys
import textwrap
import uuid
import warnings
from pathlib import Path

import pytest

from celery import Celery, signals
from celery.exceptions import NotConfigured
from celery.loaders import get_loader_cls
from celery.loaders.app import AppLoader
from celery.loaders.base import BaseLoader, autodiscover_tasks, config_mapping
from celery.loaders.default import Loader as DefaultLoader
from celery.utils.imports import NotAPackage


@pytest.fixture
def pkgdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A directory on sys.path for throw-away modules."""
    monkeypatch.syspath_prepend(str(tmp_path))
    yield tmp_path
    for name in [m for m in sys.modules if m.startswith('cfgt_')]:
        del sys.modules[name]


def write_module(root: Path, dotted: str, source: str = '') -> str:
    parts = dotted.split('.')
    for index in range(1, len(parts)):
        package = root.joinpath(*parts[:index])
        package.mkdir(exist_ok=True)
        (package / '__init__.py').touch()
    root.joinpath(*parts[:-1], parts[-1] + '.py').write_text(textwrap.dedent(source))
    return dotted


@pytest.fixture
def name() -> str:
    return f'cfgt_{uuid.uuid4().hex[:8]}'


@pytest.fixture
def loader(app: Celery) -> BaseLoader:
    return BaseLoader(app)


def test_get_loader_cls_aliases() -> None:
    assert get_loader_cls('app') is AppLoader
    assert get_loader_cls('default') is DefaultLoader
    assert get_loader_cls('celery.loaders.app:AppLoader') is AppLoader
    assert get_loader_cls(AppLoader) is AppLoader


def test_config_from_module_name(loader: BaseLoader, pkgdir: Path, name: str) -> None:
    write_module(pkgdir, name, """
        from datetime import timedelta
        import os
        task_serializer = 'pickle'
        CELERYD_CONCURRENCY = 3
        MixedCase = 'ignored'
        _private = 'ignored'
    """)
    assert loader.config_from_object(name)
    conf = loader.conf
    assert conf['task_serializer'] == 'pickle' and conf['CELERYD_CONCURRENCY'] == 3
    assert 'MixedCase' not in conf and '_private' not in conf and 'os' not in conf


def test_config_from_module_attribute(loader: BaseLoader, pkgdir: Path, name: str) -> None:
    write_module(pkgdir, f'{name}.settings', """
        class Config:
            broker_url = 'amqp://attr//'
    """)
    assert loader.config_from_object(f'{name}.settings:Config')
    assert loader.conf['broker_url'] == 'amqp://attr//'
    assert loader.config_from_object(f'{name}.settings.Config')
    assert loader.conf['broker_url'] == 'amqp://attr//'


def test_config_from_object_instance_and_mapping(loader: BaseLoader) -> None:
    class Config:
        worker_concurrency = 5

    loader.config_from_object(Config())
    assert loader.conf['worker_concurrency'] == 5
    loader.config_from_object({'worker_concurrency': 6})
    assert loader.conf['worker_concurrency'] == 6


def test_config_from_missing_module(loader: BaseLoader) -> None:
    assert loader.config_from_object('cfgt_does_not_exist', silent=True) is False
    with pytest.raises(ImportError):
        loader.config_from_object('cfgt_does_not_exist')


def test_config_mapping_passes_mappings_through() -> None:
    d = {'a': 1}
    assert config_mapping(d) is d


def test_read_configuration_from_env(loader: BaseLoader, pkgdir: Path, name: str,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    write_module(pkgdir, name, "result_backend = 'redis://env-config/0'\n")
    monkeypatch.setenv('CELERY_CONFIG_MODULE', name)
    assert loader.conf['result_backend'] == 'redis://env-config/0'


def test_config_module_with_py_suffix_gets_a_hint(loader: BaseLoader, pkgdir: Path, name: str,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    write_module(pkgdir, name, 'x = 1\n')
    monkeypatch.setenv('CELERY_CONFIG_MODULE', f'{name}.py')
    with pytest.raises(NotAPackage) as excinfo:
        _ = loader.conf
    assert f"Did you mean '{name}'" in str(excinfo.value)


def test_default_loader_reads_celeryconfig(app: Celery, pkgdir: Path, name: str,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    write_module(pkgdir, name, "task_default_queue = 'from-default-loader'\n")
    monkeypatch.setenv('CELERY_CONFIG_MODULE', name)
    loader = DefaultLoader(app)
    assert loader.conf['task_default_queue'] == 'from-default-loader'
    assert loader.configured


def test_default_loader_warns_when_missing(app: Celery, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv('CELERY_CONFIG_MODULE', 'cfgt_missing_celeryconfig')
    monkeypatch.delenv('FORKED_BY_MULTIPROCESSING', raising=False)
    with pytest.warns(NotConfigured, match='cfgt_missing_celeryconfig'):
        conf = DefaultLoader(app).conf
    assert dict(conf) == {}


def test_default_loader_is_quiet_without_a_requested_module(
        app: Celery, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv('CELERY_CONFIG_MODULE', raising=False)
    monkeypatch.delenv('C_WNOCONF', raising=False)
    monkeypatch.setattr('celery.loaders.default.DEFAULT_CONFIG_MODULE', 'cfgt_absent_module')
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        assert dict(DefaultLoader(app).conf) == {}


@pytest.mark.parametrize('args,namespace,expected', [
    (['worker_concurrency=4'], 'worker', {'worker_concurrency': 4}),
    (['--worker-concurrency=4'], 'worker', {'worker_concurrency': 4}),
    (['worker.concurrency=4'], 'worker', {'worker_concurrency': 4}),
    (['.concurrency=4'], 'worker', {'worker_concurrency': 4}),
    (['prefetch_multiplier=1'], 'worker', {'worker_prefetch_multiplier': 1}),
    (['task_acks_late=yes'], 'celery', {'task_acks_late': True}),
    (['CELERYD_CONCURRENCY=2'], 'celery', {'worker_concurrency': 2}),
    (['accept_content=json,pickle'], 'celery', {'accept_content': ['json', 'pickle']}),
    (['broker_transport_options={"x": 1}'], 'celery', {'broker_transport_options': {'x': 1}}),
    (['my_custom=(json)[1, 2]'], 'celery', {'my_custom': [1, 2]}),
    (['my_flag=(bool)on'], 'celery', {'my_flag': True}),
])
def test_cmdline_config_parser(loader: BaseLoader, args: list[str], namespace: str,
                               expected: dict) -> None:
    assert loader.cmdline_config_parser(args, namespace) == expected


@pytest.mark.parametrize('args,message', [
    (['worker_concurrency=many'], 'worker_concurrency'),
    (['worker_concurency=4'], "did you mean 'worker_concurrency'"),
    (['novalue'], 'key=value'),
    (['x=(weird)1'], 'unknown type'),
])
def test_cmdline_config_parser_errors(loader: BaseLoader, args: list[str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        loader.cmdline_config_parser(args, 'worker')


def test_import_default_modules(app: Celery, pkgdir: Path, name: str) -> None:
    write_module(pkgdir, f'{name}_a', 'LOADED = True\n')
    write_module(pkgdir, f'{name}_b', 'LOADED = True\n')
    app.conf.imports = (f'{name}_a',)
    app.conf.include = [f'{name}_b']
    sent = []

    def on_import(sender: object, **kwargs: object) -> None:
        sent.append(sender)

    signals.import_modules.connect(on_import, weak=False)
    try:
        modules = app.loader.import_default_modules()
    finally:
        signals.import_modules.disconnect(on_import)
    assert [m.__name__ for m in modules][-2:] == [f'{name}_a', f'{name}_b']
    assert {f'{name}_a', f'{name}_b'} <= app.loader.task_modules
    assert app in sent


def test_init_worker_runs_once(app: Celery) -> None:
    calls = []

    class Loader(BaseLoader):
        def on_worker_init(self) -> None:
            calls.append(1)

    loader = Loader(app)
    loader.init_worker()
    loader.init_worker()
    assert calls == [1] and loader.worker_initialized


def test_autodiscover_tasks(loader: BaseLoader, pkgdir: Path, name: str) -> None:
    write_module(pkgdir, f'{name}.tasks', 'X = 1\n')
    write_module(pkgdir, f'{name}_other.models', 'X = 1\n')
    found = autodiscover_tasks([name, f'{name}_other'])
    assert found[0].__name__ == f'{name}.tasks' and found[1] is None
    loader.autodiscover_tasks([name])
    assert f'{name}.tasks' in loader.task_modules


def test_autodiscover_reraises_nested_import_errors(pkgdir: Path, name: str) -> None:
    write_module(pkgdir, f'{name}.tasks', 'import cfgt_missing_dependency\n')
    with pytest.raises(ModuleNotFoundError, match='cfgt_missing_dependency'):
        autodiscover_tasks([name])


def test_loader_hooks_and_now(loader: BaseLoader) -> None:
    loader.on_task_init('id', None)
    loader.on_process_cleanup()
    loader.init_worker_process()
    loader.shutdown_worker()
    assert loader.now().tzinfo is not None
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        assert loader.now(utc=False).tzinfo is None
