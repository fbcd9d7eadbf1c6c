"""The application object: current app, lazy registry, finalization, config layers."""
from __future__ import annotations

import os
import pickle
import sys
import types

import pytest

from celery import Celery, _state, shared_task
from celery.exceptions import ImproperlyConfigured, NotRegistered


def make_app(**kwargs):
    kwargs.setdefault('set_as_current', False)
    return Celery('t', broker='memory://', backend='cache+memory://', **kwargs)


class test_current_app:

    def test_set_current_and_default(self):
        app = make_app()
        previous = _state._tls.current_app
        try:
            app.set_current()
            assert _state.get_current_app() is app
        finally:
            _state._set_current_app(previous)

    def test_set_default(self):
        app = make_app()
        previous = _state.default_app
        try:
            app.set_default()
            assert _state.default_app is app
        finally:
            _state.set_default_app(previous)

    def test_app_or_default(self):
        app = make_app()
        assert _state.app_or_default(app) is app
        assert _state.app_or_default(None) is _state.get_current_app()

    def test_context_manager_closes(self):
        with make_app() as app:
            assert isinstance(app, Celery)
        assert app not in _state._get_active_apps()

    def test_repr(self):
        assert repr(make_app()).startswith('<Celery t at ')

    def test_steps_and_user_options(self):
        app = make_app()
        assert app.steps == {'worker': set(), 'consumer': set()}
        assert set(app.user_options) == {'worker', 'beat', 'events', 'preload'}


class test_task_registry:

    def test_task_is_lazy_until_finalize(self):
        app = make_app()

        @app.task
        def add(x, y):
            return x + y

        assert not app.finalized
        assert add.__evaluated__() is False
        app.finalize()
        assert app.finalized
        assert add.__evaluated__()
        assert add.name == f'{__name__}.add'
        assert app.tasks[add.name] is add._get_current_object()

    def test_tasks_property_finalizes(self):
        app = make_app()

        @app.task
        def mul(x, y):
            return x * y

        assert mul.name in app.tasks
        assert app.finalized

    def test_builtin_tasks_registered(self):
        app = make_app()
        assert 'celery.backend_cleanup' in app.tasks

    def test_autofinalize_false_raises(self):
        app = make_app(autofinalize=False)

        @app.task
        def t1():
            pass

        with pytest.raises(RuntimeError, match='finalize'):
            app.tasks
        app.finalize()
        assert t1.name in app.tasks

    def test_name_argument_wins(self):
        app = make_app()

        @app.task(name='custom.name')
        def foo():
            pass

        assert foo.name == 'custom.name'

    def test_main_module_uses_app_main(self):
        app = Celery('proj', set_as_current=False)

        def fun():
            pass
        fun.__module__ = '__main__'
        task = app._task_from_fun(fun)
        assert task.name == 'proj.fun'

    def test_gen_task_name_overridable(self):
        class MyCelery(Celery):
            def gen_task_name(self, name, module):
                return f'x.{name}'
        app = MyCelery('t', set_as_current=False)

        @app.task
        def foo():
            pass
        assert foo.name == 'x.foo'

    def test_duplicate_registration_keeps_first(self):
        app = make_app()

        @app.task(name='dup', lazy=False)
        def first():
            return 1

        @app.task(name='dup', lazy=False)
        def second():
            return 2

        assert app.tasks['dup']() == 1

    def test_unknown_task_raises_not_registered(self):
        app = make_app()
        with pytest.raises(NotRegistered):
            app.tasks['does.not.exist']

    def test_shared_task_registered_on_every_app(self):
        @shared_task(name=f'shared.{id(self)}')
        def shared():
            return 'ok'

        app1, app2 = make_app(), make_app()
        assert shared.name in app1.tasks
        assert shared.name in app2.tasks

    def test_register_class_based_task(self):
        app = make_app()

        class CustomTask(app.Task):
            name = 'custom.class_task'

            def run(self, x):
                return x * 2

        task = app.register_task(CustomTask())
        assert app.tasks['custom.class_task'] is task
        assert task.apply((2,)).get() == 4

    def test_autodiscover_is_lazy(self, tmp_path, monkeypatch):
        pkg = tmp_path / 'discoverpkg'
        pkg.mkdir()
        (pkg / '__init__.py').write_text('')
        (pkg / 'tasks.py').write_text(
            'from celery import shared_task\n'
            '@shared_task(name="discoverpkg.hello")\n'
            'def hello():\n    return "hi"\n')
        monkeypatch.syspath_prepend(str(tmp_path))
        app = make_app()
        app.autodiscover_tasks(['discoverpkg'])
        assert 'discoverpkg.tasks' not in sys.modules
        app.finalize()
        assert 'discoverpkg.hello' in app.tasks


class test_app_signals:

    def test_configure_and_finalize_signals(self):
        app = make_app()
        seen = []
        app.on_configure.connect(lambda sender, **kw: seen.append('configure'), weak=False)
        app.on_after_configure.connect(
            lambda sender, source, **kw: seen.append('after_configure'), weak=False)
        app.on_after_finalize.connect(lambda sender, **kw: seen.append('finalize'), weak=False)
        app.conf.task_serializer
        app.finalize()
        assert seen == ['configure', 'after_configure', 'finalize']


class ConfigObject:
    task_default_queue = 'from_object'
    task_serializer = 'json'
    result_expires = 30


class test_configuration:

    def test_defaults(self):
        app = make_app()
        assert app.conf.task_default_queue == 'celery'
        assert app.conf.worker_prefetch_multiplier == 4
        assert app.conf.accept_content == ['json'] or tuple(app.conf.accept_content) == ('json',)

    def test_layers(self):
        app = Celery('t', set_as_current=False, result_expires=60)
        app.config_from_object(ConfigObject)
        assert app.conf.task_default_queue == 'from_object'
        # keyword arguments to Celery() win over config_from_object
        assert app.conf.result_expires == 60
        app.conf.update(task_default_queue='updated')
        assert app.conf.task_default_queue == 'updated'

    def test_writes_before_configure(self):
        app = make_app()
        app.conf.task_default_queue = 'early'
        assert not app.configured
        assert app.conf.task_default_queue == 'early'

    def test_config_from_module_name(self, monkeypatch):
        mod = types.ModuleType('myconfigmod')
        mod.task_default_queue = 'modqueue'
        monkeypatch.setitem(sys.modules, 'myconfigmod', mod)
        app = make_app()
        app.config_from_object('myconfigmod')
        assert app.conf.task_default_queue == 'modqueue'

    def test_config_from_envvar(self, monkeypatch):
        mod = types.ModuleType('envconfigmod')
        mod.task_default_queue = 'envqueue'
        monkeypatch.setitem(sys.modules, 'envconfigmod', mod)
        monkeypatch.setenv('MY_CELERY_CONFIG', 'envconfigmod')
        app = make_app()
        app.config_from_envvar('MY_CELERY_CONFIG')
        assert app.conf.task_default_queue == 'envqueue'

    def test_config_from_envvar_missing(self, monkeypatch):
        monkeypatch.delenv('MISSING_CONFIG_VAR', raising=False)
        app = make_app()
        with pytest.raises(ImproperlyConfigured, match='MISSING_CONFIG_VAR'):
            app.config_from_envvar('MISSING_CONFIG_VAR')
        assert app.config_from_envvar('MISSING_CONFIG_VAR', silent=True) is False

    def test_namespace(self):
        class DjangoStyle:
            CELERY_TASK_DEFAULT_QUEUE = 'django'
            CELERY_BROKER_URL = 'memory://django'
        app = Celery('t', set_as_current=False)
        app.config_from_object(DjangoStyle, namespace='CELERY')
        assert app.conf.task_default_queue == 'django'
        assert app.conf.broker_url == 'memory://django'

    def test_old_setting_names(self):
        class OldStyle:
            CELERY_DEFAULT_QUEUE = 'oldqueue'
            CELERYD_PREFETCH_MULTIPLIER = 8
        app = Celery('t', set_as_current=False)
        app.config_from_object(OldStyle)
        assert app.conf.task_default_queue == 'oldqueue'
        assert app.conf.worker_prefetch_multiplier == 8

    def test_mixing_old_and_new_raises(self):
        class Mixed:
            CELERY_DEFAULT_QUEUE = 'oldqueue'
            task_serializer = 'json'
        app = Celery('t', set_as_current=False)
        app.config_from_object(Mixed)
        with pytest.raises(ImproperlyConfigured, match='CELERY_DEFAULT_QUEUE'):
            app.conf.task_default_queue

    def test_env_overrides_broker_url(self, monkeypatch):
        monkeypatch.setenv('CELERY_BROKER_URL', 'redis://env-host//')
        app = Celery('t', set_as_current=False, broker='amqp://kwarg-host//')
        assert app.conf.broker_url == 'redis://env-host//'

    def test_env_result_backend(self, monkeypatch):
        monkeypatch.setenv('CELERY_RESULT_BACKEND', 'redis://env-backend/1')
        app = Celery('t', set_as_current=False)
        assert app.conf.result_backend == 'redis://env-backend/1'

    @pytest.mark.parametrize('key,value', [
        ('task_serializer', 'jsonx'),
        ('worker_prefetch_multiplier', 'a'),
    ])
    def test_bad_setting_value_fails_at_configure(self, key, value):
        app = make_app(**{key: value})
        with pytest.raises(ImproperlyConfigured, match=key):
            app.conf.task_default_queue

    def test_humanize_censors_secrets(self):
        app = make_app()
        app.conf.update(broker_url='amqp://user:secretpw@host//', my_api_key='xyz')
        text = app.conf.humanize(with_defaults=False, censored=True)
        assert 'secretpw' not in text
        assert 'xyz' not in text
        table = app.conf.table(with_defaults=False, censored=True)
        assert table['my_api_key'] != 'xyz'


class test_pickle_and_misc:

    def test_app_pickles(self):
        app = make_app()
        app.conf.task_default_queue = 'pickled'
        app2 = pickle.loads(pickle.dumps(app))
        assert app2.main == 't'
        assert app2.conf.task_default_queue == 'pickled'

    def test_now_is_aware(self):
        assert make_app().now().tzinfo is not None

    def test_timezone_setting(self):
        app = make_app(timezone='Europe/Oslo')
        assert str(app.timezone) == 'Europe/Oslo'
        assert app.now().utcoffset() is not None

    def test_thread_oid_is_per_thread(self):
        import threading
        app = make_app()
        seen = []
        t = threading.Thread(target=lambda: seen.append(app.thread_oid))
        t.start()
        t.join()
        assert app.thread_oid == app.thread_oid
        assert seen[0] != app.thread_oid

    def test_import_celery_is_cheap(self):
        code = ('import sys, celery; '
                'bad = [m for m in sys.modules if m.split(".")[0] in '
                '("kombu", "billiard", "click", "amqp")]; '
                'print(",".join(bad))')
        import subprocess
        out = subprocess.check_output([sys.executable, '-c', code], text=True,
                                      env={**os.environ, 'PYTHONPATH': os.getcwd()})
        assert out.strip() == ''


def test_conf_reference_kept_from_before_loading_stays_live():
    app = make_app()
    conf = app.conf
    conf.task_default_queue = 'before'
    assert conf.task_default_queue == 'before'  # loads the configuration
    conf.task_default_queue = 'after'
    assert app.conf.task_default_queue == 'after'
    conf.update(task_default_exchange='ex')
    assert app.conf.task_default_exchange == 'ex'


def test_first_configuration_read_from_many_threads():
    import threading
    app = make_app()
    errors, values = [], []

    def read():
        try:
            values.append(app.conf.task_default_queue)
            app.backend
        except Exception as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)
    threads = [threading.Thread(target=read) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert values == ['celery'] * 8


def test_on_after_configure_handler_may_read_conf():
    app = make_app()
    seen = []
    app.on_after_configure.connect(
        lambda sender, source, **kw: seen.append(sender.conf.task_default_queue), weak=False)
    assert app.conf.task_default_queue == 'celery'
    assert seen == ['celery']
