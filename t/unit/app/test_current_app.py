"""The current app, the default app and shared tasks, as in Celery 5.

Every test restores the process-wide state it changes (current and default
app, finalize callbacks, the set of live apps).
"""
from __future__ import annotations

import os
import pickle
import subprocess
import sys
import threading
import warnings
from collections import UserDict
from pathlib import Path

import pytest

import celery
from celery import Celery, _state, shared_task
from celery.contrib.testing.app import setup_default_app
from celery.exceptions import DuplicateTaskNameWarning
from celery.local import PromiseProxy, Proxy
from celery.result import AsyncResult
from celery.utils.collections import AttributeDictMixin

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture(autouse=True)
def _restore_state():
    with setup_default_app(None):
        yield


def make_app(name: str = 'cur', **kwargs) -> Celery:
    kwargs.setdefault('broker', 'memory://')
    kwargs.setdefault('backend', 'cache+memory://')
    return Celery(name, **kwargs)


class test_set_as_current:

    def test_new_app_becomes_current(self):
        app = make_app()
        assert _state.get_current_app() is app
        assert celery.current_app._get_current_object() is app
        assert celery.current_app.main == 'cur'

    def test_opt_out(self):
        before = _state.get_current_app()
        app = make_app(set_as_current=False)
        assert _state.get_current_app() is before
        assert _state.get_current_app() is not app

    def test_last_app_made_wins(self):
        make_app('first')
        second = make_app('second')
        assert celery.current_app.main == 'second'
        assert _state.get_current_app() is second

    def test_set_current_and_set_default(self):
        first = make_app('first')
        second = make_app('second', set_as_current=False)
        second.set_current()
        assert _state.get_current_app() is second
        first.set_default()
        assert _state.default_app is first
        # The thread's own current app still wins over the default.
        assert _state.get_current_app() is second

    def test_set_current_before_on_init(self):
        seen = []

        class Recording(Celery):
            def on_init(self):
                seen.append(_state.get_current_app() is self)

        Recording('rec', broker='memory://')
        assert seen == [True]

    def test_current_app_proxy_is_shared(self):
        assert celery.current_app is _state.current_app
        assert celery.app.current_app is _state.current_app
        assert type(celery.current_app) is Proxy


class test_threads:

    def run_in_thread(self, fun):
        box = {}

        def target():
            box['value'] = fun()
        thread = threading.Thread(target=target)
        thread.start()
        thread.join(10)
        return box['value']

    def test_other_threads_see_the_default_app(self):
        default = make_app('default-app', set_as_current=False)
        default.set_default()
        mine = make_app('mine')
        assert _state.get_current_app() is mine
        assert self.run_in_thread(_state.get_current_app) is default

    def test_thread_sees_its_own_current_app(self):
        make_app('main-thread')

        def own():
            app = make_app('in-thread')
            return app, _state.get_current_app()
        made, seen = self.run_in_thread(own)
        assert seen is made
        assert celery.current_app.main == 'main-thread'


class test_default_app:

    def test_created_lazily_when_nothing_was_set(self):
        _state._tls.current_app = None
        _state.set_default_app(None)
        app = _state.get_current_app()
        assert app.main == 'default'
        assert _state.default_app is app
        assert _state.get_current_app() is app

    def test_default_app_proxy(self):
        app = make_app(set_as_current=False)
        app.set_default()
        assert celery.app.default_app._get_current_object() is app

    def test_app_or_default(self):
        app = make_app()
        other = make_app('other', set_as_current=False)
        assert _state.app_or_default() is app
        assert _state.app_or_default(other) is other


class test_context_manager:

    def test_enter_returns_app_and_exit_closes(self):
        with make_app() as app:
            assert isinstance(app, Celery)
            assert app in _state._get_active_apps()
        assert app not in _state._get_active_apps()


class test_current_task:

    def test_none_outside_tasks(self):
        assert celery.current_task._get_current_object() is None
        assert _state.get_current_task() is None

    def test_task_being_run(self):
        app = make_app()

        @app.task(bind=True)
        def who(self):
            return celery.current_task.name, self.name

        current, own = who.apply().get()
        assert current == own == who.name


class test_trace:

    def test_enable_and_disable(self, capsys):
        app = make_app()
        _state.enable_trace()
        try:
            assert _state.app_or_default() is app
        finally:
            _state.disable_trace()
        err = capsys.readouterr().err
        assert '-- RETURNING TO CURRENT APP --' in err
        assert 'test_current_app.py' in err  # the stack of the caller
        assert _state.app_or_default is _state._app_or_default

    def test_explicit_app_is_not_reported(self, capsys):
        app = make_app(set_as_current=False)
        _state.enable_trace()
        try:
            assert _state.app_or_default(app) is app
        finally:
            _state.disable_trace()
        assert capsys.readouterr().err == ''

    def test_env_variable_reports_fall_back_to_default(self):
        code = (
            'from celery import _state\n'
            'try:\n'
            '    _state.app_or_default()\n'
            'except RuntimeError as exc:\n'
            '    print("raised", exc)\n'
            'from celery import Celery\n'
            'app = Celery("traced")\n'
            'assert _state.app_or_default() is app\n'
        )
        env = dict(os.environ, CELERY_TRACE_APP='1', PYTHONPATH=str(REPO))
        done = subprocess.run([sys.executable, '-c', code], env=env,
                              capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        assert 'raised DEFAULT APP' in done.stdout
        assert '-- RETURNING TO CURRENT APP --' in done.stderr
        assert 'File "<string>"' in done.stderr


class test_shared_task:

    def test_bare_and_with_options_return_proxies(self, unique):
        @shared_task
        def bare():
            return 'bare'

        @shared_task(name=f'shared.named.{unique}')
        def named():
            return 'named'

        app = make_app()
        assert type(bare) is Proxy
        assert type(named) is Proxy
        assert bare.name == f'{__name__}.bare'
        assert named.name == f'shared.named.{unique}'
        assert bare.app is app
        assert bare._get_current_object() is app.tasks[bare.name]
        assert named() == 'named'

    def test_same_function_from_celery_and_celery_app(self):
        assert celery.shared_task is celery.app.shared_task

    def test_positional_options_rejected(self):
        with pytest.raises(TypeError):
            shared_task('name')

    def test_registered_on_apps_made_before_and_after(self, unique):
        before = make_app('before', set_as_current=False)
        finalized = make_app('finalized', set_as_current=False)
        finalized.finalize()

        @shared_task(name=f'shared.everywhere.{unique}')
        def everywhere():
            return 1

        # An already finalized app gets it at once, without finalizing again.
        assert everywhere.name in finalized._tasks
        after = make_app('after', set_as_current=False)
        assert everywhere.name in before.tasks
        assert everywhere.name in after.tasks

    def test_proxy_follows_the_current_app(self, unique):
        @shared_task(name=f'shared.follow.{unique}')
        def follow():
            return 1

        one = make_app('one')
        assert follow.app is one
        two = make_app('two')
        assert follow.app is two
        one.set_current()
        assert follow.app is one

    def test_delay_and_apply_async_use_the_current_app(self, unique):
        @shared_task(bind=True, name=f'shared.calls.{unique}')
        def where(self, x):
            return self.app.main, x

        make_app('other')
        app = make_app('configured', task_always_eager=True)
        assert tuple(where.delay(1).get()) == ('configured', 1)
        assert tuple(where.apply_async((2,)).get()) == ('configured', 2)

    def test_app_task_shared_by_default(self, unique):
        owner = make_app('owner', set_as_current=False)

        @owner.task(name=f'app.shared.{unique}')
        def shared_one():
            return 1

        @owner.task(name=f'app.private.{unique}', shared=False)
        def private_one():
            return 2

        other = make_app('other', set_as_current=False)
        assert shared_one.name in other.tasks
        assert private_one.name not in other.tasks
        assert private_one.name in owner.tasks

    def test_app_task_is_lazy_until_used(self, unique):
        app = make_app(set_as_current=False)

        @app.task(name=f'lazy.{unique}')
        def lazy():
            return 1

        @app.task(name=f'eager.{unique}', lazy=False)
        def eager():
            return 2

        assert type(lazy) is PromiseProxy
        assert not lazy.__evaluated__()
        assert not app.finalized
        assert type(eager) is not PromiseProxy
        assert eager.name == f'eager.{unique}'
        assert lazy.name == f'lazy.{unique}'
        assert lazy.__evaluated__()

    def test_execv_children_resolve_tasks_through_the_current_app(self, monkeypatch, unique):
        from celery.app import task_factory
        monkeypatch.setattr(task_factory, 'USING_EXECV', '1')
        app = make_app()

        @app.task(name=f'execv.{unique}')
        def in_child():
            return 1

        assert type(in_child) is Proxy
        assert in_child._get_current_object() is app.tasks[f'execv.{unique}']


class test_duplicate_task_names:

    def test_another_function_under_a_taken_name_warns(self, unique):
        app = make_app(set_as_current=False)

        @app.task(name=f'dup.{unique}', lazy=False, shared=False)
        def first():
            return 1

        with pytest.warns(DuplicateTaskNameWarning, match=f'dup.{unique}') as record:
            @app.task(name=f'dup.{unique}', lazy=False, shared=False)
            def second():
                return 2

        # Pointed at the code that registered it, not at Celery's internals.
        assert record[0].filename == __file__
        assert app.tasks[f'dup.{unique}']() == 1

    def test_same_function_again_is_quiet(self, unique):
        app = make_app(set_as_current=False)

        def again():
            return 1
        with warnings.catch_warnings():
            warnings.simplefilter('error', DuplicateTaskNameWarning)
            app.task(name=f'again.{unique}', lazy=False, shared=False)(again)
            app.task(name=f'again.{unique}', lazy=False, shared=False)(again)

    def test_shared_tasks_clashing_elsewhere_are_quiet_on_new_apps(self, unique):
        @shared_task(name=f'clash.{unique}')
        def one():
            return 1

        @shared_task(name=f'clash.{unique}')
        def two():
            return 2

        with warnings.catch_warnings():
            warnings.simplefilter('error', DuplicateTaskNameWarning)
            make_app(set_as_current=False).finalize()


class test_pending_configuration:

    def test_type_and_laziness(self):
        from celery.app.base import PendingConfiguration
        app = make_app(set_as_current=False)
        conf = app.conf
        assert isinstance(conf, PendingConfiguration)
        assert isinstance(conf, UserDict)
        assert isinstance(conf, AttributeDictMixin)
        conf.task_default_queue = 'early'
        conf['result_expires'] = 10
        conf.update(task_serializer='json')
        conf.setdefault('worker_concurrency', 3)
        assert 'task_default_queue' in conf
        assert 'broker_heartbeat' not in conf  # only what was written, so far
        assert not app.configured
        assert conf.task_default_queue == 'early'
        assert app.configured
        assert app.conf is not conf
        assert app.conf.result_expires == 10
        assert app.conf.worker_concurrency == 3

    def test_callback_loads_the_settings(self):
        from celery.app.base import PendingConfiguration
        loaded = {'answer': 42}
        calls = []

        def callback():
            calls.append(1)
            return loaded
        early: dict = {}
        conf = PendingConfiguration(early, callback)
        assert conf.callback is callback
        conf['early'] = 1
        assert early == {'early': 1} and not calls
        assert conf['answer'] == 42
        assert conf.data is loaded
        assert len(conf) == 1

    def test_reference_kept_writes_to_loaded_settings(self):
        app = make_app(set_as_current=False)
        conf = app.conf
        assert conf.task_default_queue == 'celery'
        conf.task_default_queue = 'later'
        assert app.conf.task_default_queue == 'later'
        assert 'task_default_queue' in conf

    def test_settings_methods_through_pending_conf(self):
        app = make_app(set_as_current=False)
        assert 'broker_url' in app.conf.humanize(with_defaults=True)

    def test_changes_carry_deprecated_settings(self):
        app = make_app(set_as_current=False)
        assert app.conf.changes['deprecated_settings'] is None
        old = make_app('old', set_as_current=False, broker=None)
        old.config_from_object({'CELERY_TASK_SERIALIZER': 'json'})
        assert old.conf.changes['deprecated_settings'] == {'CELERY_TASK_SERIALIZER'}


class test_config_source_silent:

    def test_missing_module_is_skipped(self):
        app = Celery('s', set_as_current=False, config_source='no_such_config_module_xyz',
                     config_source_silent=True)
        assert app.conf.task_serializer == 'json'

    def test_missing_module_raises_otherwise(self):
        app = Celery('s', set_as_current=False, config_source='no_such_config_module_xyz')
        with pytest.raises(ImportError):
            app.conf.task_serializer

    def test_config_from_object_silent(self):
        app = Celery('s', set_as_current=False)
        app.config_from_object('no_such_config_module_xyz', silent=True)
        assert app.conf.task_serializer == 'json'

    def test_survives_pickling(self):
        app = Celery('s', set_as_current=False, config_source='no_such_config_module_xyz',
                     config_source_silent=True)
        copy = pickle.loads(pickle.dumps(app))
        assert copy._config_source_silent is True
        assert copy.conf.task_serializer == 'json'


class test_results_without_app:

    def test_async_result_uses_current_app_backend(self):
        app = make_app()
        app.backend.mark_as_done('cur-result-id', 42)
        assert AsyncResult('cur-result-id').get(timeout=1) == 42
        assert AsyncResult('cur-result-id').app is app


class test_pickling:

    def test_unpickled_app_does_not_become_current(self):
        app = make_app('pickled')
        copy = pickle.loads(pickle.dumps(app))
        assert copy.main == 'pickled'
        assert _state.get_current_app() is app

    def test_app_pickler(self):
        from celery.app import AppPickler
        from celery.app.base import Celery as BaseCelery
        assert BaseCelery.Pickler is AppPickler
        current = make_app('current')
        rebuilt = AppPickler()(Celery, 'rebuilt', {'task_default_queue': 'q1'}, None, None,
                               None, None, None, None, False)
        assert rebuilt.main == 'rebuilt'
        assert rebuilt.conf.task_default_queue == 'q1'
        assert _state.get_current_app() is current

    def test_standard_kwargs(self):
        from celery.app import AppPickler
        kwargs = AppPickler().build_standard_kwargs(
            'm', {}, 'ld', 'be', 'aq', 'ev', 'lg', 'ct', False, 'cfg', True)
        assert kwargs == {
            'main': 'm', 'changes': {}, 'loader': 'ld', 'backend': 'be', 'amqp': 'aq',
            'events': 'ev', 'log': 'lg', 'control': 'ct', 'config_source': 'cfg',
            'config_source_silent': True, 'set_as_current': False,
        }


class test_class_attributes:

    def test_set_on_the_class(self):
        from celery.app import base
        assert base.App is Celery
        assert base.DEFAULT_SECURITY_DIGEST == 'sha256'
        for name in ('main', 'steps', 'user_options', 'on_configure',
                     'on_after_configure', 'on_after_finalize', 'on_after_fork'):
            assert getattr(Celery, name) is None, name
        assert Celery.builtin_fixups == {'celery.fixups.django:fixup'}

    def test_instances_get_their_own(self):
        app = make_app(set_as_current=False)
        assert app.steps == {'worker': set(), 'consumer': set()}
        assert app.on_after_configure is not make_app(set_as_current=False).on_after_configure

    def test_subclass_fixups_and_signals(self):
        from celery.utils.dispatch import Signal
        signal = Signal(name='custom.on_configure')

        class Custom(Celery):
            builtin_fixups: set[str] = set()
            on_configure = signal

        app = Custom('custom', set_as_current=False)
        assert app.fixups == set()
        assert app.on_configure is signal

    def test_app_has_custom(self):
        from celery.app.base import app_has_custom

        class Named(Celery):
            def gen_task_name(self, name, module):
                return name

        assert app_has_custom(Named('n', set_as_current=False), 'gen_task_name')
        assert not app_has_custom(make_app(set_as_current=False), 'gen_task_name')


class test_stack_helpers:

    def test_frame_is_celery(self):
        from types import SimpleNamespace

        from celery.app.base import frame_is_celery
        assert not frame_is_celery(sys._getframe())
        assert frame_is_celery(SimpleNamespace(f_globals={'__name__': 'celery.app.trace'}))
        assert frame_is_celery(SimpleNamespace(f_globals={'__name__': 'celery'}))
        assert not frame_is_celery(SimpleNamespace(f_globals={'__name__': 'proj.celery'}))

    def test_caller_stacklevel_from_outside_celery(self):
        from celery.app.base import caller_stacklevel
        assert caller_stacklevel() == 1

    def test_task_callable_qualname(self):
        from celery.app.base import task_callable_qualname
        app = make_app(set_as_current=False)

        @app.task(lazy=False, bind=True)
        def bound(self):
            return 1
        expected = 'test_stack_helpers.test_task_callable_qualname.<locals>.bound'
        assert task_callable_qualname(bound) == f'{__name__}.{expected}'


class test_django_fixup:

    def test_becomes_default_app_when_none(self):
        from celery.fixups.django import DjangoFixup
        _state.set_default_app(None)
        app = make_app(set_as_current=False)
        DjangoFixup(app)
        assert _state.default_app is app

    def test_keeps_existing_default(self):
        from celery.fixups.django import DjangoFixup
        existing = make_app('existing', set_as_current=False)
        existing.set_default()
        DjangoFixup(make_app(set_as_current=False))
        assert _state.default_app is existing


try:
    import pydantic
except ImportError:  # pragma: no cover - optional
    pydantic = None
else:
    # At module level: the annotations below are strings, resolved from here.
    class Point(pydantic.BaseModel):
        x: int
        y: int

    def move(point: Point, by: int, extra: Point | None = None) -> Point:
        assert isinstance(point, Point)
        assert extra is None or isinstance(extra, Point)
        return Point(x=point.x + by, y=point.y + by)


@pytest.mark.skipif(pydantic is None, reason='pydantic is not installed')
class test_pydantic:

    def test_models_validated_and_dumped(self):
        app = make_app(set_as_current=False)
        task = app.task(pydantic=True, lazy=False)(move)
        assert task({'x': 1, 'y': 2}, 3) == {'x': 4, 'y': 5}
        assert task({'x': 1, 'y': 2}, by=1, extra={'x': 0, 'y': 0}) == {'x': 2, 'y': 3}
        assert task(Point(x=0, y=0), 1) == {'x': 1, 'y': 1}
        with pytest.raises(pydantic.ValidationError):
            task({'x': 'not a number', 'y': 2}, 1)
        # The type check before sending still sees the real signature.
        with pytest.raises(TypeError):
            task.delay()

    def test_without_the_option_arguments_pass_as_they_are(self):
        app = make_app(set_as_current=False)

        def raw(point: Point) -> object:
            return point
        task = app.task(lazy=False)(raw)
        assert task({'x': 1, 'y': 2}) == {'x': 1, 'y': 2}
