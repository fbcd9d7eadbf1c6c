"""``app.conf``: old/new/namespaced names, env overrides, fallbacks, censoring."""
from __future__ import annotations

import pytest

from celery import Celery
from celery.app.utils import (
    Settings,
    appstr,
    bugreport,
    detect_settings,
    filter_hidden_settings,
    validate_settings,
)
from celery.exceptions import CDeprecationWarning, ImproperlyConfigured


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ('CELERY_BROKER_URL', 'CELERY_RESULT_BACKEND', 'CELERY_BROKER_READ_URL',
                 'CELERY_BROKER_WRITE_URL', 'CELERY_CONFIG_MODULE'):
        monkeypatch.delenv(name, raising=False)


class ConfigNew:
    task_serializer = 'pickle'
    worker_prefetch_multiplier = 2


class ConfigOld:
    CELERY_TASK_SERIALIZER = 'pickle'
    CELERYD_PREFETCH_MULTIPLIER = 2
    BROKER_URL = 'redis://localhost/3'


class ConfigMixedMostlyNew:
    task_serializer = 'pickle'
    result_serializer = 'json'
    CELERYD_PREFETCH_MULTIPLIER = 2


class ConfigMixedMostlyOld:
    CELERY_TASK_SERIALIZER = 'pickle'
    CELERY_RESULT_SERIALIZER = 'json'
    worker_prefetch_multiplier = 2


class ConfigDjango:
    CELERY_BROKER_URL = 'amqp://django//'
    CELERY_TASK_SERIALIZER = 'pickle'
    CELERY_TASK_DEFAULT_QUEUE = 'dj'
    TIME_ZONE = 'Europe/Oslo'
    INSTALLED_APPS = ('a', 'b')


def make_app(unique: str, **kwargs: object) -> Celery:
    return Celery(f'conf-{unique}', set_as_current=False, **kwargs)


def test_new_names(unique: str) -> None:
    app = make_app(unique)
    app.config_from_object(ConfigNew)
    assert app.conf.task_serializer == 'pickle'
    assert app.conf['worker_prefetch_multiplier'] == 2
    assert app.conf.CELERY_TASK_SERIALIZER == 'pickle'  # old alias reads too
    assert app.conf.result_serializer == 'json'
    assert not app.conf.maybe_warn_deprecated_settings()


def test_old_names(unique: str) -> None:
    app = make_app(unique)
    app.config_from_object(ConfigOld)
    assert app.conf.task_serializer == 'pickle'
    assert app.conf.worker_prefetch_multiplier == 2
    assert app.conf.broker_url == 'redis://localhost/3'
    assert app.conf.CELERYD_CONCURRENCY is None
    assert app.conf.worker_concurrency is None
    with pytest.warns(CDeprecationWarning) as record:
        assert app.conf.maybe_warn_deprecated_settings()
    assert any('CELERYD_PREFETCH_MULTIPLIER' in str(w.message) for w in record)


def test_write_under_either_name_is_seen_under_both(unique: str) -> None:
    app = make_app(unique)
    app.config_from_object(ConfigOld)
    app.conf.task_serializer = 'json'
    assert app.conf.CELERY_TASK_SERIALIZER == 'json'
    app.conf['CELERY_TASK_SERIALIZER'] = 'yaml'
    assert app.conf.task_serializer == 'yaml'


@pytest.mark.parametrize('config,offending,suggestion', [
    (ConfigMixedMostlyNew, 'CELERYD_PREFETCH_MULTIPLIER', 'worker_prefetch_multiplier'),
    (ConfigMixedMostlyOld, 'worker_prefetch_multiplier', 'CELERYD_PREFETCH_MULTIPLIER'),
])
def test_mixing_old_and_new_names_is_an_error(unique: str, config: type, offending: str,
                                              suggestion: str) -> None:
    app = make_app(unique)
    app.config_from_object(config)
    with pytest.raises(ImproperlyConfigured) as excinfo:
        _ = app.conf.task_serializer
    assert offending in str(excinfo.value) and suggestion in str(excinfo.value)


def test_same_setting_under_both_names_is_not_a_mix() -> None:
    conf = detect_settings({'result_expires': 10, 'CELERY_TASK_RESULT_EXPIRES': 20})
    assert conf.result_expires == 10


def test_django_namespace(unique: str) -> None:
    app = make_app(unique)
    app.config_from_object(ConfigDjango, namespace='CELERY')
    assert app.conf.broker_url == 'amqp://django//'
    assert app.conf.task_serializer == 'pickle'
    assert app.conf.task_default_queue == 'dj'
    assert app.conf.task_default_exchange == 'dj'
    assert app.conf.timezone == 'Europe/Oslo'
    assert app.conf.result_serializer == 'json'


def test_namespace_given_to_constructor(unique: str) -> None:
    conf = detect_settings({'CELERY_WORKER_CONCURRENCY': 3}, prefix='CELERY')
    assert conf.worker_concurrency == 3


def test_preconf_from_constructor_and_old_style_config(unique: str) -> None:
    app = make_app(unique, broker='amqp://pre//')
    app.config_from_object(ConfigOld)
    assert app.conf.broker_url == 'amqp://pre//'


def test_env_overrides(unique: str, monkeypatch: pytest.MonkeyPatch) -> None:
    app = make_app(unique, broker='amqp://conf//', backend='redis://conf/1')
    monkeypatch.setenv('CELERY_BROKER_URL', 'amqp://env//')
    monkeypatch.setenv('CELERY_RESULT_BACKEND', 'redis://env/2')
    assert app.conf.broker_url == 'amqp://env//'
    assert app.conf['broker_url'] == 'amqp://env//'
    assert app.conf.get('BROKER_URL') == 'amqp://env//'
    assert app.conf.result_backend == 'redis://env/2'
    assert app.conf.broker_read_url == 'amqp://env//'
    monkeypatch.setenv('CELERY_BROKER_READ_URL', 'amqp://read//')
    monkeypatch.setenv('CELERY_BROKER_WRITE_URL', 'amqp://write//')
    assert app.conf.broker_read_url == 'amqp://read//'
    assert app.conf.broker_write_url == 'amqp://write//'


def test_computed_fallbacks() -> None:
    conf = detect_settings({'broker_url': 'amqp://x//', 'task_default_queue': 'q1'})
    assert conf.broker_read_url == conf.broker_write_url == 'amqp://x//'
    assert conf.task_default_exchange == conf.task_default_routing_key == 'q1'
    conf.task_default_routing_key = 'rk'
    assert conf.task_default_routing_key == 'rk'
    assert conf.timezone is None


def test_broker_host_fallback() -> None:
    assert detect_settings({'broker_host': 'amqp://h//'}).broker_url == 'amqp://h//'


def test_defaults_are_not_shared_between_apps() -> None:
    a, b = detect_settings({}), detect_settings({})
    a.beat_schedule['x'] = 1
    assert 'x' not in b.beat_schedule


def test_introspection_helpers() -> None:
    conf = detect_settings({'worker_concurrency': 3})
    assert conf.value_set_for('worker_concurrency')
    assert not conf.value_set_for('worker_pool')
    assert 'worker_pool' not in conf.without_defaults()
    assert conf.find_option('concurrency', 'worker')[:2] == ('worker', 'concurrency')
    assert conf.find_value_for_key('concurrency', 'worker') == 3
    assert conf.get_by_parts('worker', 'concurrency') == 3
    assert conf.finalize() is conf


def test_humanize_and_table_censor_secrets() -> None:
    conf = detect_settings({
        'broker_url': 'redis://:hunter2@redis.example:6379/0',
        'result_backend': 'db+postgresql://scott:tiger@db/celery',
        'security_key': '/etc/key.pem',
        'broker_transport_options': {'sentinel_password': 'pw', 'visibility_timeout': 10},
        'task_default_queue': 'q',
    })
    text = conf.humanize()
    assert 'hunter2' not in text and 'tiger' not in text and 'key.pem' not in text
    assert 'redis://:********@redis.example:6379/0' in text
    table = conf.table()
    assert table['broker_transport_options'] == {
        'sentinel_password': '********', 'visibility_timeout': 10}
    assert table['task_default_queue'] == 'q'
    assert conf.table(censored=False)['security_key'] == '/etc/key.pem'
    assert 'worker_pool' in conf.table(with_defaults=True)


def test_filter_hidden_settings_handles_url_lists() -> None:
    out = filter_hidden_settings({'broker_url': ['amqp://u:p@a//', 'amqp://u:p@b//'],
                                  'API_TOKEN': 'abc', 'plain': 3})
    assert out == {'broker_url': ['amqp://u:********@a//', 'amqp://u:********@b//'],
                   'API_TOKEN': '********', 'plain': 3}


def test_validate_settings_raises_at_configure_time(unique: str) -> None:
    app = make_app(unique, task_serializer='jsonx')
    with pytest.raises(ImproperlyConfigured, match="task_serializer.*'jsonx'"):
        _ = app.conf.task_serializer


def test_validate_settings_converts_text(unique: str) -> None:
    conf = detect_settings({'worker_prefetch_multiplier': '8', 'task_acks_late': 'yes'})
    validate_settings(conf)
    assert conf.worker_prefetch_multiplier == 8 and conf.task_acks_late is True


def test_settings_is_a_mapping() -> None:
    conf = Settings({'a': 1}, [{'b': 2}])
    assert dict(conf) == {'a': 1, 'b': 2} and len(conf) == 2 and 'b' in conf
    with pytest.raises(AttributeError):
        _ = conf.missing_setting


def test_appstr_and_bugreport(unique: str) -> None:
    app = make_app(unique, broker='memory://', backend='redis://:secret@localhost/0')
    assert appstr(app).startswith(f'conf-{unique} at 0x')
    report = bugreport(app)
    assert 'celery:' in report and 'kombu:' in report and 'secret' not in report
    assert 'celery.loaders.app.AppLoader' in report


def test_update_replaces_aliases() -> None:
    conf = detect_settings({'CELERY_TASK_SERIALIZER': 'pickle'})
    conf.update(task_serializer='json')
    assert conf.CELERY_TASK_SERIALIZER == 'json' and conf.task_serializer == 'json'


def test_find_deprecated_settings_warns() -> None:
    from celery.app.defaults import find_deprecated_settings
    with pytest.warns(CDeprecationWarning, match='task_acks_on_failure_or_timeout'):
        find_deprecated_settings({'task_acks_on_failure_or_timeout': False})
