"""Celery's public names in ``celery.backends``: what plugins and subclasses rely on."""
from __future__ import annotations

import json
import pickle
import warnings
import zlib

import pytest

from celery import Celery, states
from celery.backends import base, cache, filesystem
from celery.exceptions import BackendError, ImproperlyConfigured


def make_app(unique: str, **conf) -> Celery:
    app = Celery(f'surface-{unique}', set_as_current=False, broker='memory://',
                 backend=conf.pop('backend', 'cache+memory://'))
    app.conf.update(conf)
    return app


# -- celery.backends.base ------------------------------------------------------

def test_key_value_base_is_importable_from_base() -> None:
    from celery.backends.keyvalue import BaseKeyValueStoreBackend
    assert base.BaseKeyValueStoreBackend is BaseKeyValueStoreBackend
    assert base.BaseKeyValueStoreBackend.task_keyprefix == 'celery-task-meta-'
    assert base.BaseKeyValueStoreBackend.implements_incr is False


def test_class_flags_for_compression_and_failure_ttl() -> None:
    from celery.backends.redis import RedisBackend
    assert base.Backend.supports_result_compression is False
    assert base.Backend.supports_failure_expires is False
    assert RedisBackend.supports_result_compression and RedisBackend.supports_failure_expires
    assert filesystem.FilesystemBackend.supports_result_compression


@pytest.mark.parametrize('codec', ['zlib', 'bzip2', 'lzma'])
def test_compress_payload_round_trips(codec) -> None:
    payload = json.dumps({'status': 'SUCCESS', 'result': 'x' * 500})
    packed = base.compress_payload(payload, codec)
    assert isinstance(packed, bytes) and len(packed) < len(payload)
    assert json.loads(base.decompress_payload(packed)) == json.loads(payload)


def test_compressed_payload_is_the_plain_codec_output() -> None:
    assert zlib.decompress(base.compress_payload(b'{"a": 1}', 'zlib')) == b'{"a": 1}'


def test_uncompressed_payloads_pass_through() -> None:
    assert base.compress_payload('{"a": 1}', None) == '{"a": 1}'
    assert base.decompress_payload(b'{"a": 1}') == b'{"a": 1}'
    assert base.decompress_payload('text') == 'text'
    assert base.decompress_payload(b'x-not-zlib') == b'x-not-zlib'


def test_unknown_compression_is_refused(unique) -> None:
    with pytest.raises(ImproperlyConfigured, match='result_compression'):
        make_app(unique, result_compression='nope').backend


def test_prepare_compression_warns_where_unsupported(unique) -> None:
    app = make_app(unique)
    backend = app.backend
    backend.supports_result_compression = False
    with pytest.warns(RuntimeWarning, match='does not support result_compression'):
        assert backend.prepare_compression('zlib') is None
    backend.supports_result_compression = True
    assert backend.prepare_compression('zlib') == 'zlib'
    assert backend.prepare_compression(None) is None


def test_failure_expires_warns_on_a_backend_without_it(unique, tmp_path) -> None:
    app = make_app(unique, backend=f'file://{tmp_path}', result_failure_expires=10)
    with pytest.warns(RuntimeWarning, match='result_failure_expires'):
        app.backend
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        make_app(unique, result_failure_expires=10).backend  # memcached/memory has it


def test_uncompressing_reader_reads_compressed_results(unique) -> None:
    writer = make_app(unique, result_compression='zlib').backend
    writer.store_result(unique, 'value', states.SUCCESS)
    reader = make_app(unique).backend
    assert reader.get_task_meta(unique)['result'] == 'value'


def test_on_backend_retryable_error_runs_before_each_retry(unique) -> None:
    backend = make_app(unique, result_backend_always_retry=True,
                       result_backend_max_retries=5).backend
    seen, calls = [], []

    def flaky():
        calls.append(1)
        if len(calls) < 3:
            raise ConnectionError('lost')
        return 'ok'
    backend.exception_safe_to_retry = lambda exc: True
    backend.on_backend_retryable_error = seen.append
    backend._sleep = lambda seconds: None
    assert backend._with_retries(flaky, lambda: BackendError('x')) == 'ok'
    assert [type(e) for e in seen] == [ConnectionError, ConnectionError]


def test_unpickle_backend_binds_to_current_app(unique) -> None:
    app = make_app(unique)
    app.set_current()
    backend = pickle.loads(pickle.dumps(app.backend))
    assert isinstance(backend, cache.CacheBackend) and backend.app is app
    rebuilt = base.unpickle_backend(cache.CacheBackend, (), {'backend': 'memory'})
    assert rebuilt.app is app


def test_disabled_backend_uri_takes_any_arguments(unique) -> None:
    backend = base.DisabledBackend(make_app(unique))
    assert backend.as_uri() == backend.as_uri(True) == backend.as_uri(include_password=True)
    assert backend.as_uri() == 'disabled://'


def test_constants() -> None:
    assert base.MESSAGE_BUFFER_MAX == 8192
    assert 'pickle' in base.EXCEPTION_ABLE_CODECS
    assert base.current_app is not None
    assert '{0' in base.W_COMPRESSION_UNSUPPORTED and '{0' in base.W_FAILURE_EXPIRES_UNSUPPORTED


# -- celery.backends.cache -----------------------------------------------------

def test_cache_client_factories() -> None:
    assert cache.backends['memory'] is cache.DummyClient
    assert cache.get_memcache_client().__name__ == 'HashClient'
    assert cache.import_best_memcache().HashClient is cache.get_memcache_client()
    client = cache.get_best_memcache(['127.0.0.1:1'], binary=True, connect_timeout=1)
    assert client.__class__.__name__ == 'HashClient'  # pylibmc-only 'binary' was dropped
    assert cache.DEFAULT_CLIENT_OPTIONS['connect_timeout'] == 5
    assert 'behaviors' in cache.PYLIBMC_ONLY_OPTIONS


def test_memcached_ttl_past_thirty_days_is_absolute() -> None:
    assert cache.MAX_RELATIVE_EXPIRES == 2592000
    assert cache.memcached_ttl(60) == 60
    assert cache.memcached_ttl(cache.MAX_RELATIVE_EXPIRES + 1) > 1_000_000_000


def test_long_chord_expires_is_capped_with_a_warning(unique) -> None:
    backend = make_app(unique, result_chord_expires=90 * 24 * 3600).backend
    with pytest.warns(RuntimeWarning, match='result_chord_expires'):
        assert backend.chord_expires == cache.MAX_RELATIVE_EXPIRES


# -- celery.backends.filesystem ------------------------------------------------

def test_filesystem_url_must_be_a_file_uri(unique, tmp_path) -> None:
    assert filesystem.default_encoding == 'UTF-8'
    with pytest.raises(ImproperlyConfigured, match='file URI scheme'):
        filesystem.FilesystemBackend(app=make_app(unique), url='file://somehost/dir')
    backend = filesystem.FilesystemBackend(app=make_app(unique), url=f'file://{tmp_path}')
    assert backend.path == str(tmp_path) and backend.encoding == 'UTF-8'


# -- celery.backends.asynchronous ----------------------------------------------

def test_drainer_spellings_and_constants() -> None:
    from celery.backends import asynchronous as a
    assert a.greenletDrainer is a.GreenletDrainer and a.greenletDrainer.spawn is None
    assert a.eventletDrainer is a.EventletDrainer and a.geventDrainer is a.GeventDrainer
    assert a.THREAD_TIMEOUT_MAX > 1e9
    assert 'restarted' in a.E_RETRY_LIMIT_EXCEEDED and 'restarted' in a.E_CELERY_RESTART_REQUIRED


def test_base_consumer_reconnect_on_error_runs_the_block() -> None:
    from celery.backends.asynchronous import BaseResultConsumer
    ran = []
    with BaseResultConsumer.reconnect_on_error(object.__new__(BaseResultConsumer)):
        ran.append(1)
    assert ran == [1]


def test_stopped_green_drainer_refuses_to_wait() -> None:
    from celery.backends.asynchronous import GeventDrainer
    drainer = GeventDrainer(result_consumer=None)
    drainer.stop()
    with pytest.raises(BackendError, match='restarted'):
        drainer.wait_for(None, None, timeout=0.1)


def test_eventlet_adapted_event() -> None:
    pytest.importorskip('eventlet')
    from celery.backends.asynchronous import EventletAdaptedEvent
    event = EventletAdaptedEvent()
    assert not event.is_set() and event.wait(0.01) is False
    event.set()
    event.set()
    assert event.is_set() and event.wait(0.01) is True


# -- celery.backends.redis / rpc -----------------------------------------------

def test_redis_names(unique, redis_backend_url) -> None:
    from celery.backends import redis as r
    backend = make_app(unique, backend=redis_backend_url).backend
    assert backend.ConnectionPool is r.redis.ConnectionPool
    assert r.SentinelBackend.sentinel is r.redis_sentinel
    assert issubclass(r.SentinelManagedSSLConnection, r.redis.SSLConnection)
    assert r.SentinelBackend.connection_class_ssl is r.SentinelManagedSSLConnection
    assert 'pip install' in r.E_REDIS_MISSING and 'sentinel' in r.E_REDIS_SENTINEL_MISSING
    assert 'rediss' in r.E_REDIS_SSL_PARAMS_AND_SCHEME_MISMATCH
    with pytest.raises(ImproperlyConfigured, match='rediss'):
        make_app(unique, backend=redis_backend_url + '?ssl_cert_reqs=required').backend


def test_sentinel_backend_with_ssl_options_uses_the_ssl_connection(unique) -> None:
    from celery.backends import redis as r
    app = make_app(unique, backend='sentinel://127.0.0.1:26379/0',
                   redis_backend_use_ssl={'ssl_cert_reqs': 'required'},
                   result_backend_transport_options={'master_name': 'mymaster'})
    backend = app.backend
    assert backend.connparams['connection_class'] is r.SentinelManagedSSLConnection
    pool = backend._get_pool(**backend.connparams)
    assert pool.connection_class is r.SentinelManagedSSLConnection
    assert pool.connection_kwargs['ssl_cert_reqs'] is not None


def test_rpc_names(unique) -> None:
    from celery.backends import rpc
    app = make_app(unique, backend='rpc://')
    backend = app.backend
    assert [q.name for q in backend.on_reply_declare('tid')] == [app.thread_oid]
    assert rpc.current_task is not None
    assert backend.result_consumer._connection is None
    assert backend.supports_result_compression


# -- celery.backends.database ----------------------------------------------------

def test_database_orm_classes_read_the_backend_rows(unique, tmp_path) -> None:
    from celery.backends import database
    app = make_app(unique, backend=f'db+sqlite:///{tmp_path}/results.db')
    backend = app.backend
    assert backend.task_cls is database.Task and backend.taskset_cls is database.TaskSet
    assert backend.extended_result is False
    backend.store_result(unique, {'n': 1}, states.SUCCESS)
    session = backend.ResultSession()
    with database.session_cleanup(session):
        row = session.query(database.Task).filter(database.Task.task_id == unique).one()
        assert row.to_dict()['status'] == states.SUCCESS and row.result == {'n': 1}


def test_database_extended_result_uses_the_extended_class(unique, tmp_path) -> None:
    from celery.backends import database
    app = make_app(unique, backend=f'db+sqlite:///{tmp_path}/ext.db', result_extended=True)
    backend = app.backend
    assert backend.extended_result is True and backend.task_cls is database.TaskExtended
    backend.store_result(unique, 2, states.SUCCESS)
    session = backend.ResultSession()
    with database.session_cleanup(session):
        row = session.query(database.TaskExtended).filter_by(task_id=unique).one()
        assert set(row.to_dict()) >= {'name', 'args', 'kwargs', 'worker', 'retries', 'queue'}


def test_session_cleanup_rolls_back_on_error() -> None:
    from celery.backends.database import session_cleanup
    calls = []

    class FakeSession:
        def rollback(self):
            calls.append('rollback')

        def close(self):
            calls.append('close')
    with pytest.raises(KeyError), session_cleanup(FakeSession()):
        raise KeyError('x')
    assert calls == ['rollback', 'close']


def test_session_manager_api(tmp_path) -> None:
    from celery.backends.database.models import Task, TaskSet
    from celery.backends.database.session import SessionManager
    created = []
    manager = SessionManager(engine_callback=created.append)
    url = f'sqlite:///{tmp_path}/m.db'
    engine = manager.get_engine(url)
    assert created == [engine] and manager.get_engine(url) is engine
    engine2, factory = manager.create_session(url)
    assert engine2 is engine and factory().bind is engine
    session = manager.session_factory(url)()
    assert session.query(Task).count() == 0 and session.query(TaskSet).count() == 0
    session.close()
    manager.invalidate(url)
    assert manager.get_engine(url) is not engine and len(created) == 2


def test_model_configure_points_at_other_tables() -> None:
    from celery.backends.database.models import TaskSet
    table = TaskSet.__table__
    try:
        TaskSet.configure(schema='s1', name='groups')
        assert (table.schema, table.name) == ('s1', 'groups')
    finally:
        TaskSet.configure(schema=None, name='celery_tasksetmeta')


def test_retryable_db_errors() -> None:
    from sqlalchemy.exc import OperationalError

    from celery.backends.database import RETRYABLE_DB_ERRORS
    assert OperationalError in RETRYABLE_DB_ERRORS
