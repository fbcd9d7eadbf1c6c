"""Tasks: attributes from config, calling, eager execution, argument checks, retries."""
from __future__ import annotations

import pytest

from celery import Celery, states
from celery.exceptions import MaxRetriesExceededError, Retry


@pytest.fixture
def app():
    application = Celery('t', set_as_current=False, broker='memory://',
                         backend='cache+memory://')
    yield application
    application.close()


class test_task_attributes:

    def test_attributes_from_config(self, app):
        app.conf.update(task_serializer='pickle', task_acks_late=True,
                        task_track_started=True, task_time_limit=30,
                        task_default_rate_limit='10/s')

        @app.task
        def t():
            pass
        assert t.serializer == 'pickle'
        assert t.acks_late is True
        assert t.track_started is True
        assert t.time_limit == 30
        assert t.rate_limit == '10/s'

    def test_explicit_options_win(self, app):
        app.conf.task_acks_late = True

        @app.task(acks_late=False, max_retries=10)
        def t():
            pass
        assert t.acks_late is False
        assert t.max_retries == 10

    def test_defaults(self, app):
        @app.task
        def t():
            pass
        assert t.max_retries == 3
        assert t.default_retry_delay == 180
        assert t.typing is True
        assert t.trail is True

    def test_base_class(self, app):
        class Base(app.Task):
            abstract = True
            custom = 'yes'

        @app.task(base=Base)
        def t():
            pass
        assert t.custom == 'yes'
        assert isinstance(t._get_current_object(), Base)

    def test_bind_gives_self(self, app):
        @app.task(bind=True)
        def whoami(self):
            return self.name
        assert whoami() == whoami.name
        assert whoami.apply().get() == whoami.name


class test_calling:

    def test_call_runs_in_process(self, app):
        @app.task
        def add(x, y):
            return x + y
        assert add(2, 3) == 5

    def test_request_inside_call(self, app):
        @app.task(bind=True)
        def req(self, x):
            return self.request.args, self.request.called_directly
        assert req(1) == ((1,), True)

    def test_argument_checking(self, app):
        @app.task
        def add(x, y):
            return x + y
        with pytest.raises(TypeError):
            add.delay(1)
        with pytest.raises(TypeError):
            add.apply_async((1, 2, 3))
        with pytest.raises(TypeError):
            add.apply_async((1,), {'z': 2})

    def test_typing_false_skips_check(self, app):
        @app.task(typing=False)
        def add(x, y):
            return x + y
        add.apply_async((1,))  # published without complaint

    def test_soft_limit_above_hard_limit_refused(self, app):
        @app.task
        def t():
            pass
        with pytest.raises(ValueError, match='soft_time_limit'):
            t.apply_async(soft_time_limit=10, time_limit=5)


class test_apply_eager:

    def test_apply_returns_eager_result(self, app):
        @app.task
        def add(x, y):
            return x + y
        res = add.apply((2, 2))
        assert res.get() == 4
        assert res.state == states.SUCCESS
        assert res.successful()

    def test_apply_failure(self, app):
        @app.task
        def boom():
            raise KeyError('nope')
        res = boom.apply()
        assert res.state == states.FAILURE
        assert isinstance(res.result, KeyError)
        with pytest.raises(KeyError):
            res.get()
        assert res.get(propagate=False).__class__ is KeyError

    def test_eager_propagates(self, app):
        app.conf.task_eager_propagates = True

        @app.task
        def boom():
            raise ValueError('x')
        with pytest.raises(ValueError):
            boom.apply()

    def test_always_eager(self, app):
        app.conf.task_always_eager = True

        @app.task
        def add(x, y):
            return x + y
        assert add.delay(5, 5).get() == 10

    def test_always_eager_stores_nothing_by_default(self, app):
        app.conf.task_always_eager = True

        @app.task
        def add(x, y):
            return x + y
        res = add.delay(1, 1)
        assert app.backend.get_task_meta(res.id)['status'] == states.PENDING

    def test_store_eager_result(self, app):
        app.conf.update(task_always_eager=True, task_store_eager_result=True)

        @app.task
        def add(x, y):
            return x + y
        res = add.delay(1, 1)
        assert app.backend.get_task_meta(res.id)['status'] == states.SUCCESS

    def test_headers_on_request(self, app):
        @app.task(bind=True)
        def hdr(self):
            return self.request.headers
        assert hdr.apply(headers={'x-custom': 1}).get() == {'x-custom': 1}


class test_retry:

    def test_retry_eager_until_success(self, app):
        calls = []

        @app.task(bind=True, max_retries=5, default_retry_delay=0)
        def flaky(self):
            calls.append(self.request.retries)
            if len(calls) < 3:
                raise self.retry(exc=OSError('again'))
            return 'done'

        assert flaky.apply().get() == 'done'
        assert calls == [0, 1, 2]

    def test_max_retries_exceeded_reraises_exc(self, app):
        @app.task(bind=True, max_retries=2, default_retry_delay=0)
        def always(self):
            raise self.retry(exc=OSError('fail'))

        res = always.apply()
        assert res.failed()
        assert isinstance(res.result, OSError)

    def test_max_retries_exceeded_error(self, app):
        @app.task(bind=True, max_retries=1, default_retry_delay=0)
        def always(self):
            raise self.retry()

        res = always.apply()
        assert isinstance(res.result, MaxRetriesExceededError)

    def test_retry_called_directly_reraises(self, app):
        @app.task(bind=True)
        def direct(self):
            raise self.retry(exc=KeyError('k'))
        with pytest.raises(KeyError):
            direct()

    def test_retry_exception_describes_when(self):
        exc = Retry(exc=ValueError('x'), when=10)
        assert 'in 10s' in str(exc)

    def test_autoretry_for(self, app):
        calls = []

        @app.task(autoretry_for=(ConnectionError,), retry_kwargs={'max_retries': 4},
                  default_retry_delay=0)
        def auto():
            calls.append(1)
            if len(calls) < 3:
                raise ConnectionError('down')
            return 'ok'

        assert auto.apply().get() == 'ok'
        assert len(calls) == 3

    def test_dont_autoretry_for(self, app):
        calls = []

        @app.task(autoretry_for=(Exception,), dont_autoretry_for=(ValueError,),
                  default_retry_delay=0)
        def auto():
            calls.append(1)
            raise ValueError('no retry')

        assert auto.apply().failed()
        assert len(calls) == 1

    def test_retry_backoff_countdown(self, app, monkeypatch):
        seen = []

        @app.task(bind=True, autoretry_for=(OSError,), retry_backoff=2,
                  retry_jitter=False, max_retries=3)
        def backoff(self):
            raise OSError('x')

        original_retry = backoff.retry

        def spy(*args, **kwargs):
            seen.append(kwargs.get('countdown'))
            kwargs['countdown'] = 0
            return original_retry(*args, **kwargs)
        monkeypatch.setattr(backoff._get_current_object(), 'retry', spy)
        backoff.apply()
        assert seen == [2, 4, 8, 16]


def test_context_headers_hold_only_fields_context_does_not_know():
    from celery.app.context import Context
    request = Context({'id': 'i', 'retries': 2, 'x-trace': 't'}, hostname='h', extra=1)
    assert request.headers == {'x-trace': 't', 'extra': 1}
    assert request.retries == 2 and request.hostname == 'h'
    assert Context({'id': 'i'}).headers is None
