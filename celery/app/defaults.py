"""Every configuration setting: default value, declared type and old name."""
from __future__ import annotations

import numbers
from collections import namedtuple
from collections.abc import Callable, Iterator, Mapping
from datetime import timedelta
from functools import cache, partial
from typing import Any, TypeVar

# The option class and its converters live in celery.app.option; they are
# importable from here too, where Celery keeps them.
from celery.app.option import (  # noqa: F401
    OLD_NS,
    OLD_NS_BEAT,
    OLD_NS_WORKER,
    Namespace,
    Option,
    compression_names,
    old_ns,
    parse_bool,
    serializer_names,
    timezone_name,
)

__all__ = (
    'DEFAULTS', 'DEFAULT_ACCEPT_CONTENT', 'DEFAULT_LOG_FMT', 'DEFAULT_POOL',
    'DEFAULT_PROCESS_LOG_FMT', 'DEFAULT_SECURITY_DIGEST', 'DEFAULT_TASK_LOG_FMT',
    'NAMESPACES', 'SETTING_KEYS', 'Namespace', 'Option', 'find',
    'find_deprecated_settings', 'flatten', 'validate',
)

DEFAULT_POOL = 'prefork'
DEFAULT_ACCEPT_CONTENT = ('json',)
DEFAULT_PROCESS_LOG_FMT = '[%(asctime)s: %(levelname)s/%(processName)s] %(message)s'
DEFAULT_TASK_LOG_FMT = ('[%(asctime)s: %(levelname)s/%(processName)s] '
                        '%(task_name)s[%(task_id)s]: %(message)s')
DEFAULT_LOG_FMT = '[%(asctime)s: %(levelname)s] %(message)s'
DEFAULT_SECURITY_DIGEST = 'sha256'

#: Built-in ``worker_pool`` aliases; a ``module:Class`` path selects a custom pool.
POOL_NAMES = ('prefork', 'eventlet', 'gevent', 'solo', 'processes', 'threads', 'custom')
QUEUE_TYPES = ('classic', 'quorum')
LOG_LEVELS = ('DEBUG', 'INFO', 'WARNING', 'WARN', 'ERROR', 'CRITICAL', 'FATAL')

_LOG_LEVEL_CHOICES = (*LOG_LEVELS, *(level.lower() for level in LOG_LEVELS), 10, 20, 30, 40, 50)

searchresult = namedtuple('searchresult', ('namespace', 'key', 'type'))

_SERIALIZER_HINT = (' (register custom serializers with kombu.serialization.register '
                    'before the app is configured)')
_serializer = {'choices': serializer_names, 'hint': _SERIALIZER_HINT}
_compression = {'choices': compression_names}

# The setting names, defaults and old names below are Celery's, kept for
# compatibility: configuration modules and environments written for Celery
# must keep working.  Types, checks and hints are ours.
NAMESPACES: dict[str, Any] = Namespace(
    accept_content=Option(DEFAULT_ACCEPT_CONTENT, type='list', old={'celery_accept_content'},
                          choices=lambda: serializer_names(content_types=True),
                          hint=_SERIALIZER_HINT),
    result_accept_content=Option(None, type='list', hint=_SERIALIZER_HINT,
                                 choices=lambda: serializer_names(content_types=True)),
    enable_utc=Option(True, type='bool'),
    imports=Option((), type='tuple', old={'celery_imports'}),
    include=Option((), type='tuple', old={'celery_include'}),
    timezone=Option(type='string', old={'celery_timezone'}, check=timezone_name),
    beat=Namespace(
        __old__={'celerybeat_{0}'},
        max_loop_interval=Option(0, type='float'),
        schedule=Option({}, type='dict'),
        scheduler=Option('celery.beat:PersistentScheduler'),
        schedule_filename=Option('celerybeat-schedule'),
        sync_every=Option(0, type='int'),
        cron_starting_deadline=Option(None, type='int'),
        enable_remote_control=Option(False, type='bool'),
        remote_control_max_tick_age=Option(None, type='float'),
    ),
    # Celery's setting names and defaults, kept for compatibility.
    broker=Namespace(
        url=Option(None, type='string', accepts=(list, tuple)),
        read_url=Option(None, type='string'),
        write_url=Option(None, type='string'),
        transport=Option(type='string'),
        transport_options=Option({}, type='dict'),
        connection_timeout=Option(4, type='float'),
        connection_retry=Option(True, type='bool'),
        connection_retry_on_startup=Option(None, type='bool'),
        connection_max_retries=Option(100, type='int'),
        channel_error_retry=Option(False, type='bool'),
        failover_strategy=Option(None, type='string'),
        heartbeat=Option(120, type='int'),
        heartbeat_checkrate=Option(3.0, type='int'),
        login_method=Option(None, type='string'),
        native_delayed_delivery_queue_type=Option('quorum', type='string', choices=QUEUE_TYPES),
        pool_limit=Option(10, type='int', minimum=0),
        pool_acquire_timeout=Option(None, type='float'),
        use_ssl=Option(False, type='bool', accepts=(Mapping,)),
        host=Option(type='string'),
        port=Option(type='int'),
        user=Option(type='string'),
        password=Option(type='string'),
        vhost=Option(type='string'),
    ),
    # Celery's setting names and defaults (cache through control), kept for compatibility.
    cache=Namespace(
        __old__={'celery_cache_{0}'},
        backend=Option(),
        backend_options=Option({}, type='dict'),
    ),
    cassandra=Namespace(
        entry_ttl=Option(type='float'),
        keyspace=Option(type='string'),
        port=Option(type='string'),
        read_consistency=Option(type='string'),
        servers=Option(type='list'),
        bundle_path=Option(type='string'),
        table=Option(type='string'),
        write_consistency=Option(type='string'),
        auth_provider=Option(type='string'),
        auth_kwargs=Option(type='string'),
        options=Option({}, type='dict'),
    ),
    s3=Namespace(
        access_key_id=Option(type='string'),
        secret_access_key=Option(type='string'),
        bucket=Option(type='string'),
        base_path=Option(type='string'),
        endpoint_url=Option(type='string'),
        region=Option(type='string'),
    ),
    azureblockblob=Namespace(
        container_name=Option('celery', type='string'),
        retry_initial_backoff_sec=Option(2, type='int'),
        retry_increment_base=Option(2, type='int'),
        retry_max_attempts=Option(3, type='int'),
        base_path=Option('', type='string'),
        connection_timeout=Option(20, type='int'),
        read_timeout=Option(120, type='int'),
    ),
    gcs=Namespace(
        bucket=Option(type='string'),
        project=Option(type='string'),
        base_path=Option('', type='string'),
        ttl=Option(0, type='float'),
    ),
    control=Namespace(
        queue_ttl=Option(300.0, type='float'),
        queue_expires=Option(10.0, type='float'),
        queue_exclusive=Option(True, type='bool'),
        queue_durable=Option(False, type='bool'),
        exchange=Option('celery', type='string'),
    ),
    couchbase=Namespace(
        backend_settings=Option(None, type='dict', old={'celery_couchbase_backend_settings'}),
    ),
    arangodb=Namespace(
        backend_settings=Option(None, type='dict', old={'celery_arangodb_backend_settings'}),
    ),
    # Celery's setting names and defaults (mongodb, cosmosdbsql), kept for compatibility.
    mongodb=Namespace(
        backend_settings=Option(type='dict', old={'celery_mongodb_backend_settings'}),
    ),
    cosmosdbsql=Namespace(
        database_name=Option('celerydb', type='string'),
        collection_name=Option('celerycol', type='string'),
        consistency_level=Option('Session', type='string'),
        max_retry_attempts=Option(9, type='int'),
        max_retry_wait_time=Option(30, type='int'),
    ),
    event=Namespace(
        __old__={'celery_event_{0}'},
        queue_expires=Option(60.0, type='float'),
        queue_ttl=Option(5.0, type='float'),
        queue_prefix=Option('celeryev'),
        queue_exclusive=Option(True, type='bool'),
        queue_durable=Option(False, type='bool'),
        serializer=Option('json', **_serializer),
        exchange=Option('celeryev', type='string'),
    ),
    # Celery's setting names and defaults, kept for compatibility.
    redis=Namespace(
        __old__={'celery_redis_{0}'},
        backend_use_ssl=Option(type='dict', accepts=(bool,)),
        db=Option(type='int'),
        host=Option(type='string'),
        max_connections=Option(type='int'),
        username=Option(type='string'),
        password=Option(type='string'),
        port=Option(type='int'),
        socket_timeout=Option(120.0, type='float'),
        socket_connect_timeout=Option(None, type='float'),
        retry_on_timeout=Option(False, type='bool'),
        socket_keepalive=Option(False, type='bool'),
    ),
    result=Namespace(
        __old__={'celery_result_{0}'},
        backend=Option(type='string'),
        cache_max=Option(-1, type='int', old={'celery_max_cached_results'}),
        compression=Option(type='str', **_compression),
        exchange=Option('celeryresults'),
        exchange_type=Option('direct'),
        expires=Option(timedelta(days=1), type='float', old={'celery_task_result_expires'}),
        persistent=Option(None, type='bool'),
        extended=Option(False, type='bool'),
        serializer=Option('json', **_serializer),
        backend_transport_options=Option({}, type='dict'),
        chord_retry_interval=Option(1.0, type='float'),
        chord_join_timeout=Option(3.0, type='float'),
        chord_expires=Option(None, type='float'),
        failure_expires=Option(None, type='float'),
        backend_max_sleep_between_retries_ms=Option(10000, type='int'),
        backend_max_retries=Option(float('inf'), type='float'),
        backend_base_sleep_between_retries_ms=Option(10, type='int'),
        backend_always_retry=Option(False, type='bool'),
    ),
    elasticsearch=Namespace(
        __old__={'celery_elasticsearch_{0}'},
        retry_on_timeout=Option(type='bool'),
        max_retries=Option(type='int'),
        timeout=Option(type='float'),
        save_meta_as_text=Option(True, type='bool'),
    ),
    # Celery's setting names and defaults, kept for compatibility.
    security=Namespace(
        __old__={'celery_security_{0}'},
        certificate=Option(type='string'),
        cert_store=Option(type='string'),
        key=Option(type='string'),
        key_password=Option(type='bytes'),
        digest=Option(DEFAULT_SECURITY_DIGEST, type='string'),
    ),
    database=Namespace(
        url=Option(old={'celery_result_dburi'}),
        engine_options=Option({'pool_pre_ping': True, 'pool_recycle': 3600}, type='dict',
                              old={'celery_result_engine_options'}),
        engine_callback=Option(None, type='any'),
        short_lived_sessions=Option(False, type='bool',
                                    old={'celery_result_db_short_lived_sessions'}),
        table_schemas=Option(type='dict'),
        table_names=Option(type='dict', old={'celery_result_db_tablenames'}),
        create_tables_at_setup=Option(True, type='bool'),
    ),
    task=Namespace(
        __old__={'celery_{0}'},
        acks_late=Option(False, type='bool'),
        acks_on_failure_or_timeout=Option(
            True, type='bool', deprecate_by='6.0', remove_by='7.0',
            alt='task_acks_on_failure and task_acks_on_timeout'),
        acks_on_failure=Option(None, type='bool'),
        acks_on_timeout=Option(None, type='bool'),
        always_eager=Option(False, type='bool'),
        annotations=Option(type='any'),
        compression=Option(type='string', old={'celery_message_compression'}, **_compression),
        create_missing_queues=Option(True, type='bool'),
        dead_letter_queue=Option(None, type='string'),
        dead_letter_exchange=Option(False, type='bool'),
        create_missing_queue_type=Option('classic', type='string', choices=QUEUE_TYPES),
        create_missing_queue_exchange_type=Option(None, type='string'),
        inherit_parent_priority=Option(False, type='bool'),
        max_redeliveries=Option(None, type='int', minimum=0),
        default_delivery_mode=Option(2, type='string'),
        default_queue=Option('celery'),
        default_queue_type=Option('classic', type='string', choices=QUEUE_TYPES),
        default_exchange=Option(None, type='string'),
        default_exchange_type=Option('direct'),
        default_routing_key=Option(None, type='string'),
        default_rate_limit=Option(type='string'),
        default_priority=Option(None, type='string'),
        eager_propagates=Option(False, type='bool',
                                old={'celery_eager_propagates_exceptions'}),
        ignore_result=Option(False, type='bool'),
        store_eager_result=Option(False, type='bool'),
        protocol=Option(2, type='int', old={'celery_task_protocol'}, choices=(1, 2)),
        publish_retry=Option(True, type='bool', old={'celery_task_publish_retry'}),
        publish_retry_policy=Option(
            {'max_retries': 3, 'interval_start': 0, 'interval_max': 1, 'interval_step': 0.2},
            type='dict', old={'celery_task_publish_retry_policy'}),
        queues=Option(type='dict', accepts=(list, tuple, set, frozenset)),
        queue_max_priority=Option(None, type='int'),
        reject_on_worker_lost=Option(type='bool'),
        remote_tracebacks=Option(False, type='bool'),
        repr_maxlevels=Option(3, type='int', minimum=0),
        retry_on_worker_lost=Option(False, type='bool'),
        routes=Option(type='any'),
        send_sent_event=Option(False, type='bool', old={'celery_send_task_sent_event'}),
        serializer=Option('json', old={'celery_task_serializer'}, **_serializer),
        soft_time_limit=Option(type='float', old={'celeryd_task_soft_time_limit'}),
        time_limit=Option(type='float', old={'celeryd_task_time_limit'}),
        store_errors_even_if_ignored=Option(False, type='bool'),
        track_started=Option(False, type='bool'),
        allow_error_cb_on_chord_header=Option(False, type='bool'),
    ),
    worker=Namespace(
        __old__={'celeryd_{0}'},
        agent=Option(None, type='string'),
        autoscaler=Option('celery.worker.autoscale:Autoscaler'),
        cancel_long_running_tasks_on_connection_loss=Option(False, type='bool'),
        soft_shutdown_timeout=Option(0.0, type='float', minimum=0),
        enable_soft_shutdown_on_idle=Option(False, type='bool'),
        concurrency=Option(None, type='int', minimum=0),
        consumer=Option('celery.worker.consumer:Consumer', type='string'),
        direct=Option(False, type='bool', old={'celery_worker_direct'}),
        disable_rate_limits=Option(False, type='bool', old={'celery_disable_rate_limits'}),
        deduplicate_successful_tasks=Option(False, type='bool'),
        enable_remote_control=Option(True, type='bool', old={'celery_enable_remote_control'}),
        hijack_root_logger=Option(True, type='bool'),
        health_port=Option(None, type='int', minimum=0),
        log_color=Option(type='bool'),
        log_format=Option(DEFAULT_PROCESS_LOG_FMT),
        log_datefmt=Option(None, type='string'),
        lost_wait=Option(10.0, type='float', old={'celeryd_worker_lost_wait'}),
        max_memory_per_child=Option(type='int', minimum=0),
        max_tasks_per_child=Option(type='int', minimum=0),
        metrics_address=Option('127.0.0.1', type='string'),
        metrics_port=Option(None, type='int', minimum=0),
        pool=Option(DEFAULT_POOL, choices=POOL_NAMES, allow_path=True,
                    hint=" or a 'module:Class' path to a custom pool"),
        pool_putlocks=Option(True, type='bool'),
        pool_restarts=Option(False, type='bool'),
        pool_start_method=Option('fork', type='string',
                                 choices=('fork', 'spawn', 'forkserver')),
        proc_alive_timeout=Option(4.0, type='float'),
        prefetch_multiplier=Option(4, type='int', minimum=0),
        eta_task_limit=Option(None, type='int', minimum=0),
        enable_prefetch_count_reduction=Option(True, type='bool'),
        disable_prefetch=Option(False, type='bool'),
        redirect_stdouts=Option(True, type='bool', old={'celery_redirect_stdouts'}),
        redirect_stdouts_level=Option('WARNING', old={'celery_redirect_stdouts_level'},
                                      choices=_LOG_LEVEL_CHOICES),
        send_task_events=Option(False, type='bool', old={'celery_send_events'}),
        state_db=Option(),
        revokes_backend=Option(None, type='string'),
        task_log_format=Option(DEFAULT_TASK_LOG_FMT),
        task_log_datefmt=Option(None, type='string'),
        timer=Option(type='string'),
        timer_precision=Option(1.0, type='float'),
        detect_quorum_queues=Option(True, type='bool'),
    ),
)


def _new_name(prefix: str, key: str, opt: Option) -> list[tuple[str, Option]]:
    return [(prefix + key, opt)]


def _old_names(prefix: str, key: str, opt: Option) -> list[tuple[str, str, Option]]:
    # ``(OLD_NAME, new_name, opt)`` per old name; without one, the old name
    # is simply the new name in capitals (``broker_url`` -> ``BROKER_URL``).
    new_name = prefix + key
    old_names = [old.format(key) for old in opt.old] or [new_name]
    return [(old_name.upper(), new_name, opt) for old_name in old_names]


def flatten(d: Mapping[str, Any], root: str = '',
            keyfilter: Callable[[str, str, Option], list[Any]] = _new_name
            ) -> Iterator[Any]:
    """Yield ``(full_name, Option)`` for every setting in the namespace tree ``d``.

    One level of the tree at a time: the settings of a namespace come before
    those of the namespaces nested in it.  ``keyfilter(prefix, key, option)``
    returns the tuples to yield for one setting.
    """
    level: list[tuple[str, Mapping[str, Any]]] = [(root, d)]
    while level:
        nested: list[tuple[str, Mapping[str, Any]]] = []
        for prefix, entries in level:
            for key, entry in entries.items():
                if isinstance(entry, dict):
                    nested.append((f'{prefix}{key}_', entry))
                else:
                    yield from keyfilter(prefix, key, entry)
        level = nested


_S = TypeVar('_S')

#: Flat ``{new_name: Option}`` for every setting.
OPTIONS: dict[str, Option] = dict(flatten(NAMESPACES))
DEFAULTS: dict[str, Any] = {key: opt.default for key, opt in OPTIONS.items()}
_COMPAT = list(flatten(NAMESPACES, keyfilter=_old_names))
_OLD_DEFAULTS: dict[str, Any] = {old: opt.default for old, _, opt in _COMPAT}
_TO_OLD_KEY: dict[str, str] = {new: old for old, new, _ in _COMPAT}
_TO_NEW_KEY: dict[str, str] = {old: new for old, new, _ in _COMPAT}
del _COMPAT

SETTING_KEYS: set[str] = set(DEFAULTS)
_OLD_SETTING_KEYS: set[str] = set(_TO_NEW_KEY)


def find_deprecated_settings(source: _S) -> _S:
    """Warn about every deprecated setting set in ``source``; return ``source``."""
    import warnings

    from celery.exceptions import CDeprecationWarning
    lookup = source.get if isinstance(source, Mapping) else partial(getattr, source)
    for name, opt in OPTIONS.items():
        if opt.deprecate_by and lookup(name, None) is not None:
            alternative = f' Use {opt.alt} instead.' if opt.alt else ''
            warnings.warn(CDeprecationWarning(
                f'The {name!r} setting is deprecated since {opt.deprecate_by} and will be '
                f'removed in {opt.remove_by}.{alternative}'), stacklevel=2)
    return source


@cache
def find(name: str, namespace: str = 'celery') -> searchresult:
    """Find the option ``name``: ``searchresult(namespace, key, Option)``.

    Looks in ``namespace`` first, then in every namespace in order, then by
    full (new or old) setting name.
    """
    key, namespace = name.lower(), namespace.lower()
    scope = NAMESPACES.get(namespace)
    if isinstance(scope, dict) and key in scope:
        return searchresult(namespace, key, scope[key])
    found = _in_any_namespace(key) or _by_full_name(key)
    if found is None:
        raise KeyError(key)
    return found


def _in_any_namespace(key: str) -> searchresult | None:
    # A namespace's own name finds the whole namespace.
    for namespace, options in NAMESPACES.items():
        if namespace == key:
            return searchresult(None, namespace, options)
        if isinstance(options, dict) and key in options:
            return searchresult(namespace, key, options[key])
    return None


def _by_full_name(key: str) -> searchresult | None:
    new_name = key if key in OPTIONS else _TO_NEW_KEY.get(key.upper())
    return None if new_name is None else searchresult(None, new_name, OPTIONS[new_name])


#: Python types a setting of each declared type may hold (text is coerced).
_ACCEPTED_TYPES: dict[str, tuple[type, ...]] = {
    'int': (numbers.Real,),
    'float': (numbers.Real, timedelta),
    'bool': (bool, int),
    'dict': (Mapping,),
    'list': (list, tuple, set, frozenset),
    'tuple': (list, tuple, set, frozenset),
    'bytes': (bytes, str),
}


def check_value(opt: Option, value: object) -> object:
    """Return ``value`` (converted when given as text) or raise ValueError saying why not."""
    if value is None:
        return None
    accepted = _ACCEPTED_TYPES.get(opt.type)
    if accepted is not None:
        if isinstance(value, str) and opt.type != 'bytes':
            try:
                value = opt.to_python(value)
            except (ValueError, TypeError) as exc:
                raise ValueError(f'expected a value of type {opt.type}: {exc}') from None
        elif not isinstance(value, accepted + opt.accepts):
            raise ValueError(f'expected a value of type {opt.type}, got {type(value).__name__}')
    if opt.minimum is not None and isinstance(value, numbers.Real) and value < opt.minimum:
        raise ValueError(f'must be at least {opt.minimum}')
    if opt.check is not None:
        opt.check(value)
    if opt.choices:
        _check_choices(opt, value)
    return value


def _check_choices(opt: Option, value: Any) -> None:
    items = value if opt.type in ('list', 'tuple') else (value,)
    choices = opt.accepted_values()
    for item in items:
        if not isinstance(item, (str, int)) or item in choices:
            continue
        if opt.allow_path and isinstance(item, str) and (':' in item or '.' in item):
            continue
        accepted = ', '.join(str(choice) for choice in choices)
        raise ValueError(f'unknown value {item!r}; accepted values: {accepted}{opt.hint}')


def validate(settings: Mapping[str, object]) -> dict[str, object]:
    """Check every known setting in ``settings`` (new names).

    Returns ``{name: converted_value}`` for the values given as text that
    were converted to their declared type; raises
    :exc:`~celery.exceptions.ImproperlyConfigured` listing every bad value.
    """
    problems: list[str] = []
    converted: dict[str, object] = {}
    for name, value in settings.items():
        opt = OPTIONS.get(name)
        if opt is None or value is opt.default:
            continue
        try:
            new_value = check_value(opt, value)
        except ValueError as exc:
            problems.append(f'  {name} = {value!r}: {exc}')
            continue
        if new_value is not value:
            converted[name] = new_value
    if problems:
        from celery.exceptions import ImproperlyConfigured
        raise ImproperlyConfigured(
            'Invalid configuration; fix these settings:\n' + '\n'.join(problems))
    return converted
