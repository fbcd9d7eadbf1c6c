"""Tasks and retries behave as in Celery 5.7: retry arguments, eager requests, options."""
from __future__ import annotations

import warnings

import pytest

from celery import Celery, group, signals, states
from celery.app.context import Context
from celery.app.retry_args import retry_arguments
from celery.app.trace import build_tracer
from celery.exceptions import CDeprecationWarning, Ignore, Reject, Retry


@pytest.fixture
def app():
    application = Celery('compat', set_as_current=False, broker='memory://',
                         backend='cache+memory://')
    yield application
    application.close()


@pytest.fixture
def sent():
    """Headers and bodies of the task messages published during the test."""
    messages = []

    def record(sender=None, headers=None, body=None, **kwargs):
        messages.append((headers, body))
    signals.before_task_publish.connect(record, weak=False)
    yield messages
    signals.before_task_publish.disconnect(record)


def worker_request(task, **fields):
    """Make ``fields`` the current request of ``task`` as a worker would."""
    fields.setdefault('id', 'the-id')
    fields.setdefault('called_directly', False)
    fields.setdefault('delivery_info', {'exchange': '', 'routing_key': 'celery'})
    task.push_request(**fields)


# -- retry arguments -----------------------------------------------------------

def positional(a, b, c=3):
    pass


def star(a, *rest, **options):
    pass


def positional_only(a, /, **options):
    pass


class test_retry_arguments:

    def test_keyword_replaces_a_positional_argument(self):
        assert retry_arguments(positional, (1, 2), {}, None, {'b': 20}) == ((1, 20), {})

    def test_keyword_replaces_a_position_before_star_args(self):
        assert retry_arguments(star, (1, 2, 3), {}, None, {'a': 9}) == ((9, 2, 3), {})

    def test_new_args_keep_old_kwargs_that_do_not_clash(self):
        assert retry_arguments(positional, (1,), {'b': 2, 'c': 4}, (7, 8), None) == (
            (7, 8), {'c': 4})

    def test_positional_only_names_stay_keywords(self):
        assert retry_arguments(positional_only, (1,), {}, None, {'a': 2}) == ((1,), {'a': 2})

    def test_callers_dicts_are_not_mutated(self):
        old_kwargs, new_kwargs = {'c': 4}, {'b': 20}
        retry_arguments(positional, (1, 2), old_kwargs, None, new_kwargs)
        assert old_kwargs == {'c': 4} and new_kwargs == {'b': 20}


class test_retry:

    def test_retry_with_keyword_naming_a_position(self, app, sent):
        @app.task(bind=True, shared=False)
        def job(self, x, y):
            pass
        worker_request(job, args=(1, 2), kwargs={})
        try:
            with pytest.raises(Retry):
                job.retry(kwargs={'y': 5}, countdown=0)
        finally:
            job.pop_request()
        (headers, (args, kwargs, _)), = sent
        assert (args, kwargs) == ((1, 5), {})

    def test_max_retries_zero_stops_an_autoretry_task_at_once(self, app, sent):
        calls = []

        @app.task(bind=True, shared=False, autoretry_for=(KeyError,))
        def job(self):
            calls.append(1)
            try:
                raise KeyError('boom')
            except KeyError as exc:
                raise self.retry(exc=exc, max_retries=0)
        worker_request(job, args=(), kwargs={})
        try:
            with pytest.raises(KeyError):
                job.run()
        finally:
            job.pop_request()
        assert calls == [1] and sent == []

    def test_signature_from_request_carries_ignore_result(self, app):
        @app.task(shared=False, ignore_result=True)
        def job():
            pass
        assert job.signature_from_request(Context(id='a')).options['ignore_result'] is True
        request = Context(id='a', ignore_result=False)
        assert job.signature_from_request(request).options['ignore_result'] is False


# -- eager calls ---------------------------------------------------------------

class test_apply:

    def test_lineage_and_time_limits(self, app):
        app.conf.task_time_limit, app.conf.task_soft_time_limit = 30, 20
        seen = {}

        @app.task(bind=True, shared=False)
        def inner(self):
            seen['inner'] = self.request

        @app.task(bind=True, shared=False)
        def outer(self):
            seen['outer'] = self.request
            inner.apply()
        result = outer.apply()
        assert seen['outer'].root_id == result.id and seen['outer'].parent_id is None
        assert seen['inner'].root_id == result.id and seen['inner'].parent_id == result.id
        assert (seen['outer'].time_limit, seen['outer'].soft_time_limit) == (30, 20)

    def test_ignore_result_false_stores_with_store_eager_result(self, app):
        app.conf.task_store_eager_result = True

        @app.task(shared=False)
        def job():
            return 42
        result = job.apply(ignore_result=False)
        assert app.backend.get_task_meta(result.id)['result'] == 42


# -- apply_async options -------------------------------------------------------

class test_apply_async_options:

    OPTIONS = dict(queue='q', routing_key='rk', exchange='ex', priority=0, expires=60,
                   serializer='pickle', delivery_mode=1, compression='zlib',
                   time_limit=10, soft_time_limit=5, ignore_result=True, shadow='shown')

    def test_every_option_reaches_send_task(self, app, monkeypatch):
        @app.task(shared=False, expires=30)
        def job():
            pass
        received = {}
        monkeypatch.setattr(app, 'send_task', lambda name, *a, **kw: received.update(kw))
        job.apply_async(**self.OPTIONS)
        assert {key: received[key] for key in self.OPTIONS} == self.OPTIONS

    def test_cached_options_are_never_mutated(self, app, monkeypatch):
        @app.task(shared=False, expires=30)
        def job():
            pass
        cached = dict(job._get_exec_options())
        monkeypatch.setattr(app, 'send_task', lambda name, *a, **kw: kw.update(priority=9))
        job.apply_async()
        job.apply_async(priority=1)
        assert job._get_exec_options() == cached
        assert 'ignore_result' not in cached and cached['expires'] == 30


class test_routing_class_attributes:

    @pytest.mark.parametrize('attr', ['queue', 'exchange', 'exchange_type', 'routing_key',
                                      'delivery_mode', 'priority'])
    def test_class_attribute_warns(self, app, attr):
        with pytest.warns(CDeprecationWarning, match=attr):
            type('Routed', (app.Task,), {attr: 'x'})

    def test_other_attributes_and_decorator_options_do_not_warn(self, app):
        with warnings.catch_warnings():
            warnings.simplefilter('error', CDeprecationWarning)
            type('Plain', (app.Task,), {'max_retries': 5})

            @app.task(shared=False, queue='q', priority=3)
            def job():
                pass


# -- replace -------------------------------------------------------------------

class test_replace:

    def test_chain_ending_in_a_group_ends_in_a_chord(self, app, sent):
        @app.task(shared=False)
        def add(x, y=0):
            return x + y

        @app.task(bind=True, shared=False)
        def job(self):
            pass
        worker_request(job, stamped_headers=['mark'], stamps={'mark': 'v1'}, root_id='root')
        try:
            with pytest.raises(Ignore):
                job.replace(add.s(1, 2) | group(add.s(1), add.s(2)))
        finally:
            job.pop_request()
        (headers, (_, _, embed)), = sent
        assert headers['root_id'] == 'root'
        assert (headers['stamped_headers'], headers['stamps']) == (['mark'], {'mark': 'v1'})
        last = embed['chain'][-1]
        assert last['subtask_type'] == 'chord'
        assert last['kwargs']['body']['task'] == 'celery.accumulate'


# -- Reject --------------------------------------------------------------------

class test_reject:

    def run_traced(self, app, requeue, task_id):
        @app.task(shared=False)
        def job():
            raise Reject('no thanks', requeue=requeue)
        tracer = build_tracer(job.name, job, app=app)
        tracer(task_id, (), {}, {'id': task_id, 'task': job.name})
        return app.backend.get_task_meta(task_id)

    def test_reject_without_requeue_stores_failure_with_the_reason(self, app, unique):
        meta = self.run_traced(app, False, unique)
        assert meta['status'] == states.FAILURE
        assert isinstance(meta['result'], Reject)
        assert meta['result'].reason == 'no thanks'

    def test_requeued_reject_stores_nothing(self, app, unique):
        assert self.run_traced(app, True, unique)['status'] == states.PENDING
