"""Flattening the settings tree: new names in declaration order, old names for each."""
from __future__ import annotations

from celery.app.defaults import (
    _TO_NEW_KEY, _TO_OLD_KEY, NAMESPACES, OPTIONS, Namespace, Option, flatten,
)


def test_top_level_settings_come_first_then_each_namespace_in_order() -> None:
    names = [name for name, _ in flatten(NAMESPACES)]
    assert names[:7] == ['accept_content', 'result_accept_content', 'enable_utc', 'imports',
                         'include', 'timezone', 'beat_max_loop_interval']
    firsts = [f'{ns}_{next(iter(value))}' for ns, value in NAMESPACES.items()
              if isinstance(value, dict)]
    positions = [names.index(first) for first in firsts]
    assert positions == sorted(positions)
    assert list(OPTIONS) == names


def test_nested_namespaces_are_flattened_after_their_siblings() -> None:
    tree = {'a': Option(1), 'outer': {'b': Option(2), 'inner': {'c': Option(3)},
                                      'd': Option(4)}, 'e': Option(5)}
    assert [name for name, _ in flatten(tree)] == [
        'a', 'e', 'outer_b', 'outer_d', 'outer_inner_c']
    assert [name for name, _ in flatten(tree, root='x_')][:2] == ['x_a', 'x_e']


def test_custom_key_filter() -> None:
    tree = {'ns': {'key': Option(1)}}
    pairs = list(flatten(tree, keyfilter=lambda ns, key, opt: [(ns, key), (key, ns)]))
    assert pairs == [('ns_', 'key'), ('key', 'ns_')]


def test_old_names() -> None:
    assert _TO_OLD_KEY['worker_pool'] == 'CELERYD_POOL'
    assert _TO_OLD_KEY['task_serializer'] == 'CELERY_TASK_SERIALIZER'
    assert _TO_OLD_KEY['broker_url'] == 'BROKER_URL'
    assert _TO_OLD_KEY['result_expires'] == 'CELERY_TASK_RESULT_EXPIRES'
    assert _TO_OLD_KEY['beat_schedule'] == 'CELERYBEAT_SCHEDULE'
    assert _TO_NEW_KEY['CELERY_ACCEPT_CONTENT'] == 'accept_content'
    assert _TO_NEW_KEY['CELERYD_CONCURRENCY'] == 'worker_concurrency'


def test_namespace_names_old_keys_from_templates() -> None:
    explicit = Option(old={'keep_me'})
    options = Namespace(__old__={'pre_{0}', 'other_{0}'}, one=Option(), two=explicit)
    assert options['one'].old == {'pre_one', 'other_one'}
    assert options['two'].old == {'keep_me'}
    assert Namespace(three=Option())['three'].old == set()
