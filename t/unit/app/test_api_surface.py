"""Names of celery.app's public API that plugins and old code use: each one acts."""
from __future__ import annotations

import pytest

from celery import states
from celery.app import amqp, defaults, task, trace
from celery.app.context import Context

# -- celery.app.defaults --------------------------------------------------------


class test_option:

    def test_class_attributes_are_the_unset_values(self):
        assert (defaults.Option.alt, defaults.Option.deprecate_by,
                defaults.Option.remove_by) == (None, None, None)
        assert defaults.Option.old == set()
        assert 'bool' in defaults.Option.typemap

    def test_keyword_arguments_become_attributes(self):
        opt = defaults.Option(5, type='int', unit='seconds')
        assert (opt.default, opt.type, opt.unit) == (5, 'int', 'seconds')
        assert opt.to_python('7') == 7

    def test_old_names_are_per_instance(self):
        opt = defaults.Option(old={'celery_x'})
        opt.old.add('celery_y')
        assert defaults.Option.old == set() and defaults.Option().old == set()

    def test_extra_positional_arguments_are_accepted(self):
        assert defaults.Option(1, 'ignored').default == 1

    def test_old_namespaces(self):
        assert defaults.old_ns('celeryd') == {'celeryd_{0}'}
        assert defaults.OLD_NS == {'celery_{0}'}
        assert defaults.OLD_NS_BEAT == {'celerybeat_{0}'}
        assert defaults.OLD_NS_WORKER == {'celeryd_{0}'}
        namespace = defaults.Namespace(__old__=defaults.OLD_NS_WORKER, x=defaults.Option())
        assert namespace['x'].old == {'celeryd_x'}


@pytest.mark.parametrize(('name', 'default', 'old_name'), [
    ('task_repr_maxlevels', 3, 'CELERY_REPR_MAXLEVELS'),
    ('task_retry_on_worker_lost', False, 'CELERY_RETRY_ON_WORKER_LOST'),
    ('worker_log_datefmt', None, 'CELERYD_LOG_DATEFMT'),
    ('worker_task_log_datefmt', None, 'CELERYD_TASK_LOG_DATEFMT'),
    ('worker_pool_start_method', 'fork', 'CELERYD_POOL_START_METHOD'),
])
def test_settings_rows(name, default, old_name):
    assert defaults.DEFAULTS[name] == default
    assert defaults._TO_NEW_KEY[old_name] == name


def test_pool_start_method_accepts_multiprocessing_methods_only():
    assert defaults.validate({'worker_pool_start_method': 'spawn'}) == {}
    with pytest.raises(Exception, match='worker_pool_start_method'):
        defaults.validate({'worker_pool_start_method': 'clone'})


# -- celery.app.amqp -------------------------------------------------------------


class test_amqp_names:

    def test_utf8dict_decodes_bytes_keys(self):
        assert amqp.utf8dict({b'a': 1, 'b': 2}) == {'a': 1, 'b': 2}
        assert amqp.utf8dict({'é'.encode('latin-1'): 1}, 'latin-1') == {'é': 1}

    def test_broker_connection_is_the_connection_class(self, app):
        from kombu import Connection
        assert app.amqp.BrokerConnection is Connection
        assert amqp.QUEUE_FORMAT.startswith('.> {0.name')

    def test_queues_takes_missing_queue_type_and_exchange_type(self, app):
        queues = app.amqp.Queues({}, True, 'quorum', 'topic')
        created = queues['fresh']
        assert created.queue_arguments == {'x-queue-type': 'quorum'}
        assert created.exchange.type == 'topic'

    def test_queues_reads_settings_when_not_given(self, app):
        app.conf.task_create_missing_queue_type = 'quorum'
        assert app.amqp.Queues({})['fresh'].queue_arguments == {'x-queue-type': 'quorum'}

    def test_queues_class_positional_order(self):
        from kombu import Exchange
        queues = amqp.Queues(None, Exchange('d'), True, 'quorum', 'fanout', None, 7, 'rk')
        assert (queues.create_missing_queue_type, queues.create_missing_queue_exchange_type,
                queues.max_priority, queues.default_routing_key) == ('quorum', 'fanout', 7, 'rk')

    @pytest.mark.parametrize(('maxlevels', 'argsrepr'), [
        (None, '([[[[...]]]],)'),  # the default: 3
        (1, '([[...]],)'),
        (10, "([[[[['deep']]]]],)"),
    ])
    def test_repr_maxlevels_limits_nesting_of_argsrepr(self, app, maxlevels, argsrepr):
        if maxlevels is not None:
            app.conf.task_repr_maxlevels = maxlevels
        message = app.amqp.as_task_v2('id', 'name', args=([[[[['deep']]]]],))
        assert message.headers['argsrepr'] == argsrepr

    def test_plain_arguments_keep_their_repr(self, app):
        app.conf.task_repr_maxlevels = 0
        headers = app.amqp.as_task_v2('id', 'name', args=(1, 'a'), kwargs={'k': 2}).headers
        assert (headers['argsrepr'], headers['kwargsrepr']) == ("(1, 'a')", "{'k': 2}")


# -- celery.app.task -------------------------------------------------------------


class test_task_names:

    def test_base_task_is_task(self):
        assert task.BaseTask is task.Task

    def test_operational_error_is_kombus(self, app):
        from kombu.exceptions import OperationalError

        @app.task(shared=False)
        def job():
            pass
        assert job.OperationalError is OperationalError
        assert task.Task.OperationalError is OperationalError

    def test_current_app_proxy(self):
        from celery import current_app
        assert task.current_app is current_app
        assert trace.current_app is current_app

    def test_from_config_is_extendable_by_subclasses(self, app):
        app.conf.task_retry_on_worker_lost = True
        app.conf.custom_limit = 9

        class Limited(task.Task):
            custom = None
            from_config = (*task.Task.from_config, ('custom', 'custom_limit'))

        @app.task(base=Limited, shared=False)
        def job():
            pass
        assert ('serializer', 'task_serializer') in task.Task.from_config
        assert job.custom == 9
        assert job.retry_on_worker_lost is True

    def test_retry_on_worker_lost_defaults_to_the_setting(self, app):
        @app.task(shared=False)
        def job():
            pass
        assert task.Task.retry_on_worker_lost is None
        assert job.retry_on_worker_lost is False

    def test_x_death_headers_are_dropped_from_retried_messages(self):
        from celery.app.task_signatures import _without_death_headers
        assert {'x-death', 'x-first-death-reason', 'x-last-death-queue'} <= task.X_DEATH_HEADERS
        headers = dict.fromkeys(task.X_DEATH_HEADERS, 1) | {'mine': 2}
        assert _without_death_headers(headers) == {'mine': 2}

    @pytest.mark.parametrize(('task_ignores', 'request_fields', 'expected'), [
        (False, {}, False),
        (True, {}, True),
        (False, {'ignore_result': True}, True),
        (True, {'ignore_result': False}, False),
    ])
    def test_get_actual_ignore_result(self, app, task_ignores, request_fields, expected):
        @app.task(shared=False, ignore_result=task_ignores)
        def job():
            pass
        assert task.get_actual_ignore_result(job, Context(request_fields)) is expected


class test_context_time_limits:

    def test_read_from_the_message_pair(self):
        request = Context({'timelimit': (30, 20)})
        assert (request.time_limit, request.soft_time_limit) == (30, 20)

    def test_settable(self):
        request = Context({'timelimit': (30, 20)})
        request.time_limit, request.soft_time_limit = 10, 5
        assert (request.time_limit, request.soft_time_limit) == (10, 5)
        options = request.as_execution_options()
        assert (options['time_limit'], options['soft_time_limit']) == (10, 5)

    def test_unset_by_default(self):
        assert (Context().time_limit, Context().soft_time_limit) == (None, None)
        assert (Context.time_limit, Context.soft_time_limit) == (None, None)


# -- celery.app.trace ------------------------------------------------------------


def test_trace_constants():
    assert trace.EXCEPTION_STATES == states.EXCEPTION_STATES
    assert trace.LOG_RECEIVED % {'name': 'add', 'id': 'x'} == 'Task add[x] received'


def test_trace_successful_requests_is_the_workers():
    from celery.worker.state import successful_requests
    assert trace.successful_requests is successful_requests
    with pytest.raises(AttributeError):
        trace.no_such_name  # noqa: B018


# -- retry on worker lost ----------------------------------------------------------


class test_retry_lost_task:

    @pytest.fixture
    def job(self, app):
        @app.task(shared=False, bind=True, retry_on_worker_lost=True, max_retries=1,
                  default_retry_delay=0)
        def job(self):
            pass
        return job

    def lost(self):
        from billiard.exceptions import WorkerLostError
        return WorkerLostError('Worker exited prematurely: signal 9 (SIGKILL).')

    @pytest.fixture(autouse=True)
    def _task_id(self, unique):
        self.task_id = f'lost-{unique}'

    def request(self, retries=0):
        return Context({'id': self.task_id, 'args': (1,), 'kwargs': {}, 'retries': retries,
                        'delivery_info': {'exchange': '', 'routing_key': 'celery'}})

    def test_sends_the_next_attempt_and_stores_retry(self, job, monkeypatch):
        from celery.app.worker_lost import retry_lost_task
        sent = []
        monkeypatch.setattr('celery.app.task._send_next_attempt', sent.append)
        assert retry_lost_task(job, self.request(), self.lost()) is True
        [signature] = sent
        assert signature.options['retries'] == 1 and signature.args == (1,)
        meta = job.backend.get_task_meta(self.task_id)
        assert meta['status'] == states.RETRY
        assert type(meta['result']).__name__ == 'WorkerLostError'

    def test_past_max_retries_the_caller_fails_the_task(self, job, monkeypatch):
        from celery.app.worker_lost import retry_lost_task
        sent = []
        monkeypatch.setattr('celery.app.task._send_next_attempt', sent.append)
        assert retry_lost_task(job, self.request(retries=1), self.lost()) is False
        assert sent == []
        assert job.backend.get_task_meta(self.task_id)['status'] == states.PENDING

    def test_off_by_default(self, app):
        from celery.app.worker_lost import retry_lost_task

        @app.task(shared=False)
        def plain():
            pass
        assert retry_lost_task(plain, self.request(), self.lost()) is False


# -- celery.app.utils, annotations, routes, control, backends -----------------------


class test_utils_names:

    def test_app_pickler_rebuilds_from_the_positional_format(self):
        from celery import Celery
        from celery.app.pickling import AppPickler as pickling_pickler
        from celery.app.utils import AppPickler
        assert AppPickler is pickling_pickler
        app = AppPickler()(Celery, 'rebuilt', {'task_default_queue': 'q'}, None, None,
                           None, None, None, None, False)
        try:
            assert (app.main, app.conf.task_default_queue) == ('rebuilt', 'q')
        finally:
            app.close()

    def test_mix_error_texts(self):
        from celery.app import utils
        assert 'new' in utils.E_MIX_OLD_INTO_NEW and utils.E_MIX_OLD_INTO_NEW == utils.E_MIX_NEW
        assert utils.E_MIX_NEW_INTO_OLD == utils.E_MIX_OLD

    def test_settings_passes_arguments_through(self):
        from celery.app.utils import Settings
        conf = Settings({'a': 1}, [{'b': 2}], deprecated_settings={'x'})
        assert (conf['a'], conf['b'], conf.deprecated_settings) == (1, 2, {'x'})

    @pytest.mark.parametrize(('url', 'mask', 'expected'), [
        ('amqp://user:secret@host//', '********', 'amqp://user:********@host//'),
        ('redis://:pw@host/0', '?', 'redis://:?@host/0'),
        ('amqp://u:a@h1//;amqp://u:b@h2//', '***', 'amqp://u:***@h1//;amqp://u:***@h2//'),
    ])
    def test_sanitize_url(self, url, mask, expected):
        from celery.app.utils import sanitize_url
        assert sanitize_url(url, mask=mask) == expected


def test_resolve_all_takes_anno():
    from celery.app.annotations import prepare, resolve_all

    class Job:
        name = 'job'
    found = list(resolve_all(anno=prepare({'job': {'rate_limit': '1/s'}}), task=Job))
    assert found == [{'rate_limit': '1/s'}]


def test_map_route_takes_map():
    from celery.app.routes import MapRoute
    assert MapRoute(map={'job': {'queue': 'q'}})('job') == {'queue': 'q'}


def test_control_mailbox_class_is_kombus_and_overridable(app):
    from kombu.pidbox import Mailbox

    from celery.app.control import Control
    assert Control.Mailbox is Mailbox and isinstance(app.control.mailbox, Mailbox)

    class OwnMailbox(Mailbox):
        pass

    class OwnControl(Control):
        Mailbox = OwnMailbox
    assert isinstance(OwnControl(app).mailbox, OwnMailbox)


def test_backends_current_app():
    from celery import current_app
    from celery.app import backends
    assert backends.current_app is current_app


# -- broker_pool_acquire_timeout ----------------------------------------------------


def test_pool_acquire_timeout_bounds_the_wait_for_a_connection(app):
    from kombu.exceptions import LimitExceeded
    app.conf.broker_pool_limit = 1
    app.conf.broker_pool_acquire_timeout = 0.05
    with app.connection_or_acquire():
        with pytest.raises(LimitExceeded):
            with app.connection_or_acquire():
                pass


def test_pool_acquire_timeout_bounds_the_wait_for_a_producer(app):
    from kombu.exceptions import LimitExceeded
    app.conf.broker_pool_limit = 1
    app.conf.broker_pool_acquire_timeout = 0.05
    held = app.producer_pool.acquire(block=True)   # (a nested block would reuse its producer)
    try:
        with pytest.raises(LimitExceeded):
            with app.producer_or_acquire():
                pass
    finally:
        held.release()
