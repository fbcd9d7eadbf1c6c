"""Every setting's default, type and old name; coercion and validation."""
from __future__ import annotations

from datetime import timedelta

import pytest

from celery.app import defaults
from celery.app.defaults import (
    _OLD_DEFAULTS,
    _OLD_SETTING_KEYS,
    _TO_NEW_KEY,
    _TO_OLD_KEY,
    DEFAULTS,
    NAMESPACES,
    SETTING_KEYS,
    Option,
    find,
    flatten,
    validate,
)
from celery.exceptions import ImproperlyConfigured

NAMESPACE_COUNTS = {
    'beat': 8, 'broker': 23, 'cache': 2, 'cassandra': 11, 's3': 6, 'azureblockblob': 7,
    'gcs': 4, 'control': 5, 'couchbase': 1, 'arangodb': 1, 'mongodb': 1, 'cosmosdbsql': 5,
    'event': 7, 'redis': 11, 'result': 18, 'elasticsearch': 4, 'security': 5,
    'database': 7,
    # Celery's 39, and ours: task_dead_letter_queue, _exchange, task_max_redeliveries.
    'task': 39 + 3,
    # Celery's 36, and ours: worker_metrics_port/_address, worker_health_port,
    # worker_revokes_backend.
    'worker': 36 + 4,
}

# (name, default, type, old name) spot checks across every namespace.
SPOT_CHECKS = [
    ('accept_content', ('json',), 'list', 'CELERY_ACCEPT_CONTENT'),
    ('result_accept_content', None, 'list', 'RESULT_ACCEPT_CONTENT'),
    ('enable_utc', True, 'bool', 'ENABLE_UTC'),
    ('imports', (), 'tuple', 'CELERY_IMPORTS'),
    ('timezone', None, 'string', 'CELERY_TIMEZONE'),
    ('beat_max_loop_interval', 0, 'float', 'CELERYBEAT_MAX_LOOP_INTERVAL'),
    ('beat_scheduler', 'celery.beat:PersistentScheduler', 'string', 'CELERYBEAT_SCHEDULER'),
    ('beat_schedule_filename', 'celerybeat-schedule', 'string',
     'CELERYBEAT_SCHEDULE_FILENAME'),
    ('beat_cron_starting_deadline', None, 'int', 'CELERYBEAT_CRON_STARTING_DEADLINE'),
    ('beat_enable_remote_control', False, 'bool', 'CELERYBEAT_ENABLE_REMOTE_CONTROL'),
    ('beat_remote_control_max_tick_age', None, 'float',
     'CELERYBEAT_REMOTE_CONTROL_MAX_TICK_AGE'),
    ('broker_url', None, 'string', 'BROKER_URL'),
    ('broker_connection_timeout', 4, 'float', 'BROKER_CONNECTION_TIMEOUT'),
    ('broker_connection_max_retries', 100, 'int', 'BROKER_CONNECTION_MAX_RETRIES'),
    ('broker_heartbeat', 120, 'int', 'BROKER_HEARTBEAT'),
    ('broker_heartbeat_checkrate', 3.0, 'int', 'BROKER_HEARTBEAT_CHECKRATE'),
    ('broker_native_delayed_delivery_queue_type', 'quorum', 'string',
     'BROKER_NATIVE_DELAYED_DELIVERY_QUEUE_TYPE'),
    ('broker_pool_limit', 10, 'int', 'BROKER_POOL_LIMIT'),
    ('broker_use_ssl', False, 'bool', 'BROKER_USE_SSL'),
    ('cache_backend', None, 'string', 'CELERY_CACHE_BACKEND'),
    ('cache_backend_options', {}, 'dict', 'CELERY_CACHE_BACKEND_OPTIONS'),
    ('cassandra_servers', None, 'list', 'CASSANDRA_SERVERS'),
    ('cassandra_options', {}, 'dict', 'CASSANDRA_OPTIONS'),
    ('s3_region', None, 'string', 'S3_REGION'),
    ('azureblockblob_container_name', 'celery', 'string', 'AZUREBLOCKBLOB_CONTAINER_NAME'),
    ('azureblockblob_read_timeout', 120, 'int', 'AZUREBLOCKBLOB_READ_TIMEOUT'),
    ('gcs_ttl', 0, 'float', 'GCS_TTL'),
    ('control_queue_ttl', 300.0, 'float', 'CONTROL_QUEUE_TTL'),
    ('control_queue_expires', 10.0, 'float', 'CONTROL_QUEUE_EXPIRES'),
    ('control_exchange', 'celery', 'string', 'CONTROL_EXCHANGE'),
    ('couchbase_backend_settings', None, 'dict', 'CELERY_COUCHBASE_BACKEND_SETTINGS'),
    ('mongodb_backend_settings', None, 'dict', 'CELERY_MONGODB_BACKEND_SETTINGS'),
    ('cosmosdbsql_max_retry_attempts', 9, 'int', 'COSMOSDBSQL_MAX_RETRY_ATTEMPTS'),
    ('event_queue_expires', 60.0, 'float', 'CELERY_EVENT_QUEUE_EXPIRES'),
    ('event_queue_prefix', 'celeryev', 'string', 'CELERY_EVENT_QUEUE_PREFIX'),
    ('event_serializer', 'json', 'string', 'CELERY_EVENT_SERIALIZER'),
    ('event_exchange', 'celeryev', 'string', 'CELERY_EVENT_EXCHANGE'),
    ('redis_socket_timeout', 120.0, 'float', 'CELERY_REDIS_SOCKET_TIMEOUT'),
    ('redis_backend_use_ssl', None, 'dict', 'CELERY_REDIS_BACKEND_USE_SSL'),
    ('result_backend', None, 'string', 'CELERY_RESULT_BACKEND'),
    ('result_cache_max', -1, 'int', 'CELERY_MAX_CACHED_RESULTS'),
    ('result_expires', timedelta(days=1), 'float', 'CELERY_TASK_RESULT_EXPIRES'),
    ('result_exchange', 'celeryresults', 'string', 'CELERY_RESULT_EXCHANGE'),
    ('result_backend_max_retries', float('inf'), 'float', 'CELERY_RESULT_BACKEND_MAX_RETRIES'),
    ('result_chord_join_timeout', 3.0, 'float', 'CELERY_RESULT_CHORD_JOIN_TIMEOUT'),
    ('elasticsearch_save_meta_as_text', True, 'bool', 'CELERY_ELASTICSEARCH_SAVE_META_AS_TEXT'),
    ('security_digest', 'sha256', 'string', 'CELERY_SECURITY_DIGEST'),
    ('security_key_password', None, 'bytes', 'CELERY_SECURITY_KEY_PASSWORD'),
    ('database_url', None, 'string', 'CELERY_RESULT_DBURI'),
    ('database_engine_options', {'pool_pre_ping': True, 'pool_recycle': 3600}, 'dict',
     'CELERY_RESULT_ENGINE_OPTIONS'),
    ('database_engine_callback', None, 'any', 'DATABASE_ENGINE_CALLBACK'),
    ('database_table_names', None, 'dict', 'CELERY_RESULT_DB_TABLENAMES'),
    ('database_create_tables_at_setup', True, 'bool', 'DATABASE_CREATE_TABLES_AT_SETUP'),
    ('task_acks_late', False, 'bool', 'CELERY_ACKS_LATE'),
    ('task_acks_on_failure_or_timeout', True, 'bool', 'CELERY_ACKS_ON_FAILURE_OR_TIMEOUT'),
    ('task_compression', None, 'string', 'CELERY_MESSAGE_COMPRESSION'),
    ('task_default_delivery_mode', 2, 'string', 'CELERY_DEFAULT_DELIVERY_MODE'),
    ('task_default_queue', 'celery', 'string', 'CELERY_DEFAULT_QUEUE'),
    ('task_default_queue_type', 'classic', 'string', 'CELERY_DEFAULT_QUEUE_TYPE'),
    ('task_eager_propagates', False, 'bool', 'CELERY_EAGER_PROPAGATES_EXCEPTIONS'),
    ('task_protocol', 2, 'int', 'CELERY_TASK_PROTOCOL'),
    ('task_publish_retry_policy',
     {'max_retries': 3, 'interval_start': 0, 'interval_max': 1, 'interval_step': 0.2},
     'dict', 'CELERY_TASK_PUBLISH_RETRY_POLICY'),
    ('task_routes', None, 'any', 'CELERY_ROUTES'),
    ('task_send_sent_event', False, 'bool', 'CELERY_SEND_TASK_SENT_EVENT'),
    ('task_serializer', 'json', 'string', 'CELERY_TASK_SERIALIZER'),
    ('task_soft_time_limit', None, 'float', 'CELERYD_TASK_SOFT_TIME_LIMIT'),
    ('task_time_limit', None, 'float', 'CELERYD_TASK_TIME_LIMIT'),
    ('task_allow_error_cb_on_chord_header', False, 'bool',
     'CELERY_ALLOW_ERROR_CB_ON_CHORD_HEADER'),
    ('worker_autoscaler', 'celery.worker.autoscale:Autoscaler', 'string', 'CELERYD_AUTOSCALER'),
    ('worker_concurrency', None, 'int', 'CELERYD_CONCURRENCY'),
    ('worker_consumer', 'celery.worker.consumer:Consumer', 'string', 'CELERYD_CONSUMER'),
    ('worker_direct', False, 'bool', 'CELERY_WORKER_DIRECT'),
    ('worker_disable_rate_limits', False, 'bool', 'CELERY_DISABLE_RATE_LIMITS'),
    ('worker_enable_remote_control', True, 'bool', 'CELERY_ENABLE_REMOTE_CONTROL'),
    ('worker_log_format', '[%(asctime)s: %(levelname)s/%(processName)s] %(message)s',
     'string', 'CELERYD_LOG_FORMAT'),
    ('worker_lost_wait', 10.0, 'float', 'CELERYD_WORKER_LOST_WAIT'),
    ('worker_pool', 'prefork', 'string', 'CELERYD_POOL'),
    ('worker_prefetch_multiplier', 4, 'int', 'CELERYD_PREFETCH_MULTIPLIER'),
    ('worker_redirect_stdouts', True, 'bool', 'CELERY_REDIRECT_STDOUTS'),
    ('worker_redirect_stdouts_level', 'WARNING', 'string', 'CELERY_REDIRECT_STDOUTS_LEVEL'),
    ('worker_send_task_events', False, 'bool', 'CELERY_SEND_EVENTS'),
    ('worker_task_log_format',
     '[%(asctime)s: %(levelname)s/%(processName)s] %(task_name)s[%(task_id)s]: %(message)s',
     'string', 'CELERYD_TASK_LOG_FORMAT'),
    ('worker_timer_precision', 1.0, 'float', 'CELERYD_TIMER_PRECISION'),
    ('worker_detect_quorum_queues', True, 'bool', 'CELERYD_DETECT_QUORUM_QUEUES'),
]


def test_every_setting_of_the_spec_is_defined() -> None:
    assert len(DEFAULTS) == len(SETTING_KEYS)
    assert SETTING_KEYS == set(DEFAULTS)
    assert len(_TO_OLD_KEY) == len(_TO_NEW_KEY) == len(_OLD_SETTING_KEYS) == len(SETTING_KEYS)


@pytest.mark.parametrize('namespace,count', sorted(NAMESPACE_COUNTS.items()))
def test_namespace_sizes(namespace: str, count: int) -> None:
    assert len(NAMESPACES[namespace]) == count


@pytest.mark.parametrize('name,default,type_,old', SPOT_CHECKS)
def test_setting(name: str, default: object, type_: str, old: str) -> None:
    assert DEFAULTS[name] == default
    assert find(name).type.type == type_
    assert _TO_OLD_KEY[name] == old
    assert _TO_NEW_KEY[old] == name
    assert _OLD_DEFAULTS[old] == default


def test_module_constants() -> None:
    assert defaults.DEFAULT_POOL == 'prefork'
    assert defaults.DEFAULT_ACCEPT_CONTENT == ('json',)
    assert defaults.DEFAULT_SECURITY_DIGEST == 'sha256'
    assert DEFAULTS['worker_log_format'] == defaults.DEFAULT_PROCESS_LOG_FMT
    assert DEFAULTS['worker_task_log_format'] == defaults.DEFAULT_TASK_LOG_FMT


def test_deprecated_option_metadata() -> None:
    opt = find('task_acks_on_failure_or_timeout').type
    assert (opt.deprecate_by, opt.remove_by) == ('6.0', '7.0')


def test_flatten_yields_full_names() -> None:
    names = dict(flatten(NAMESPACES))
    assert 'worker_prefetch_multiplier' in names and 'accept_content' in names


@pytest.mark.parametrize('name,namespace,expected', [
    ('task_serializer', 'celery', (None, 'task_serializer')),
    ('max_loop_interval', 'beat', ('beat', 'max_loop_interval')),
    ('prefetch_multiplier', 'celery', ('worker', 'prefetch_multiplier')),
    ('CELERYD_POOL', 'celery', (None, 'worker_pool')),
])
def test_find(name: str, namespace: str, expected: tuple) -> None:
    assert tuple(find(name, namespace)[:2]) == expected


def test_find_unknown_raises_key_error() -> None:
    with pytest.raises(KeyError):
        find('no_such_setting_at_all')


@pytest.mark.parametrize('type_,text,expected', [
    ('int', '10', 10),
    ('float', '1.5', 1.5),
    ('bool', 'yes', True),
    ('bool', 'False', False),
    ('bool', '0', False),
    ('string', 'x', 'x'),
    ('any', 'x', 'x'),
    ('dict', '{"a": 1}', {'a': 1}),
    ('list', 'json, yaml', ['json', 'yaml']),
    ('list', '["json"]', ['json']),
    ('tuple', 'a.tasks,b.tasks', ('a.tasks', 'b.tasks')),
    ('bytes', 'pw', b'pw'),
])
def test_option_to_python(type_: str, text: str, expected: object) -> None:
    assert Option(type=type_).to_python(text) == expected


@pytest.mark.parametrize('type_,text', [('int', 'a'), ('bool', 'maybe'), ('dict', '[1]')])
def test_option_to_python_rejects_garbage(type_: str, text: str) -> None:
    with pytest.raises(ValueError):
        Option(type=type_).to_python(text)


@pytest.mark.parametrize('name,value,words', [
    ('task_serializer', 'jsonx', ['task_serializer', "'jsonx'", 'json', 'pickle']),
    ('result_serializer', 'nope', ['result_serializer', "'nope'", 'json']),
    ('worker_prefetch_multiplier', 'a', ['worker_prefetch_multiplier', "'a'", 'int']),
    ('worker_pool', 'nope', ['worker_pool', "'nope'", 'prefork', 'threads']),
    ('accept_content', ['json', 'bogus'], ['accept_content', "'bogus'", 'application/json']),
    ('task_compression', 'zipzap', ['task_compression', 'gzip']),
    ('task_protocol', 3, ['task_protocol', '1, 2']),
    ('worker_concurrency', -1, ['worker_concurrency', 'at least 0']),
    ('enable_utc', 'maybe', ['enable_utc', 'boolean']),
    ('timezone', 'Mars/Olympus', ['timezone', 'IANA']),
    ('task_default_queue_type', 'fancy', ['classic', 'quorum']),
    ('broker_transport_options', [1, 2], ['broker_transport_options', 'dict']),
])
def test_validate_names_setting_value_and_accepted(name: str, value: object,
                                                   words: list[str]) -> None:
    with pytest.raises(ImproperlyConfigured) as excinfo:
        validate({name: value})
    message = str(excinfo.value)
    for word in words:
        assert word in message


def test_validate_reports_every_problem_at_once() -> None:
    with pytest.raises(ImproperlyConfigured) as excinfo:
        validate({'task_serializer': 'x1', 'worker_pool': 'x2'})
    assert 'x1' in str(excinfo.value) and 'x2' in str(excinfo.value)


@pytest.mark.parametrize('name,value', [
    ('task_serializer', 'pickle'), ('task_serializer', 'auth'),
    ('accept_content', {'json', 'application/x-python-serialize'}),
    ('worker_pool', 'solo'), ('worker_pool', 'myproject.pools:MyPool'),
    ('worker_pool', object), ('result_expires', timedelta(hours=1)),
    ('result_expires', 3600), ('broker_use_ssl', {'cert_reqs': 0}),
    ('task_queues', []), ('task_compression', 'gzip'), ('timezone', 'Europe/Oslo'),
    ('worker_redirect_stdouts_level', 'info'), ('broker_url', ['amqp://a//', 'amqp://b//']),
    ('task_default_priority', 5), ('worker_concurrency', None),
])
def test_validate_accepts_valid_values(name: str, value: object) -> None:
    assert validate({name: value}) == {}


def test_validate_converts_text_numbers_and_booleans() -> None:
    converted = validate({'worker_prefetch_multiplier': '8', 'task_acks_late': 'true',
                          'imports': 'a.tasks, b.tasks', 'unknown_custom': 'x'})
    assert converted == {'worker_prefetch_multiplier': 8, 'task_acks_late': True,
                         'imports': ('a.tasks', 'b.tasks')}
