"""More of Celery's public names in ``celery.utils``: sysinfo's CPU budget, collections, graph, threads."""
from __future__ import annotations

import pytest

from celery.utils import collections, sysinfo


def test_auto_concurrency():
    assert sysinfo.AUTO_CONCURRENCY == 'auto'
    assert sysinfo.is_auto_concurrency('auto') and sysinfo.is_auto_concurrency(' AUTO ')
    assert not sysinfo.is_auto_concurrency(4) and not sysinfo.is_auto_concurrency('4')


def test_cpu_budget_without_quota(monkeypatch):
    monkeypatch.setattr(sysinfo, 'cgroup_cpu_quota', lambda: None)
    budget = sysinfo.cpu_budget()
    assert budget == sysinfo.CpuBudget(sysinfo.available_cpu_count(),
                                       sysinfo.available_cpu_count(), None)
    assert budget.count >= 1


def test_cpu_budget_caps_by_the_rounded_up_quota(monkeypatch):
    monkeypatch.setattr(sysinfo, 'available_cpu_count', lambda: 8)
    monkeypatch.setattr(sysinfo, 'cgroup_cpu_quota', lambda: 1.5)
    assert sysinfo.cpu_budget() == (2, 8, 1.5)
    assert sysinfo.cpu_budget(use_cgroup_quota=False) == (8, 8, None)
    monkeypatch.setattr(sysinfo, 'cgroup_cpu_quota', lambda: 0.2)
    assert sysinfo.cpu_budget().count == 1


@pytest.mark.parametrize('files,expected', [
    ({'cgroup': '0::/app\n', 'app/cpu.max': '150000 100000\n'}, 1.5),
    ({'cgroup': '0::/app\n', 'app/cpu.max': 'max 100000\n'}, None),
    ({'cgroup': '0::/\n', 'cpu.max': '50000 100000\n'}, 0.5),
    ({'cgroup': '4:cpu,cpuacct:/docker/x\n', 'cpu,cpuacct/docker/x/cpu.cfs_quota_us': '200000',
      'cpu,cpuacct/docker/x/cpu.cfs_period_us': '100000'}, 2.0),
    ({'cgroup': '4:cpu,cpuacct:/docker/x\n', 'cpu,cpuacct/cpu.cfs_quota_us': '-1',
      'cpu,cpuacct/cpu.cfs_period_us': '100000'}, None),
    ({}, None),
])
def test_cgroup_cpu_quota(tmp_path, monkeypatch, files, expected):
    root = tmp_path / 'cgroup-root'
    for name, text in files.items():
        path = tmp_path / 'proc-cgroup' if name == 'cgroup' else root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    monkeypatch.setattr(sysinfo, 'PROC_SELF_CGROUP', str(tmp_path / 'proc-cgroup'))
    monkeypatch.setattr(sysinfo, 'CGROUP_ROOT', str(root))
    assert sysinfo.cgroup_cpu_quota() == expected


def test_chain_map_class_attributes_and_fromkeys():
    cls = collections.ChainMap
    assert (cls.changes, cls.defaults, cls.maps, cls.key_t) == (None, None, None, None)
    chain = cls.fromkeys(['a', 'b'], 1)
    assert chain['a'] == 1 and chain.maps == [{'a': 1, 'b': 1}]
    assert cls.fromkeys(['x'])['x'] is None
    chain.add_defaults({'c': 3})
    assert sorted(chain.iterkeys()) == ['a', 'b', 'c']
    assert sorted(chain.itervalues()) == [1, 1, 3]
    assert dict(chain.iteritems()) == {'a': 1, 'b': 1, 'c': 3}


def test_dict_attribute_iter_methods():
    class Obj:
        x = 1
    view = collections.DictAttribute(Obj())
    assert list(view.iterkeys()) == ['x'] and list(view.itervalues()) == [1]
    assert list(view.iteritems()) == [('x', 1)]


def test_evictable_evict_drops_the_oldest():
    buf = collections.Messagebuffer(maxsize=2)
    buf.data.extend([1, 2, 3, 4])
    buf.evict()
    assert list(buf.data) == [3, 4]


def test_limited_set_repr_and_contains():
    limited = collections.LimitedSet(maxlen=3)
    limited.add('k')
    assert limited.__contains__(key='k')
    assert repr(limited) == collections.REPR_LIMITED_SET.format(
        limited, name='LimitedSet', size=1)


def test_lazy_django_settings_are_unwrapped():
    assert collections.LazySettings is not None and collections.LazyObject is not None
    django_functional = pytest.importorskip('django.utils.functional')

    class Settings:
        answer = 42

    class Lazy(django_functional.LazyObject):
        def _setup(self):
            self._wrapped = Settings()
    mapping = collections.force_mapping(Lazy())
    assert isinstance(mapping, collections.DictAttribute)
    assert mapping['answer'] == 42 and isinstance(mapping.obj, Settings)
    assert collections.LazyObject is django_functional.LazyObject


def test_dot_templates_drive_the_formatter():
    from celery.utils.graph import DOT, DependencyGraph, GraphFormatter
    assert DOT.DIRS == {'graph': '--', 'digraph': '->'} and DOT.ATTRSEP == ', '
    fmt = GraphFormatter(indent=1)
    assert fmt.FMT(DOT.TAIL) == '    }'
    assert fmt.FMT(DOT.NODE, 'a', attrs='x=1') == '        "a" [x=1]'
    assert GraphFormatter(type='graph').edge('a', 'b').split('"')[2].strip() == '--'
    graph = DependencyGraph()
    graph.add_edge(A='a', B='b')
    graph.add_edge('b', 'c')
    assert dict(graph.iteritems()) == {'a': ['b'], 'b': ['c'], 'c': []}
    assert graph.repr_node('a') == 'a(2)\n    b(1)\n        c(0)'  # valency counts all reachable nodes


def test_local_iterates_calls_and_inits():
    from celery.utils.threads import Local
    local = Local()
    local.x = 1
    assert list(local) == [('x', 1)]
    proxy = local('x')
    assert proxy + 1 == 2
    local.x = 5
    assert proxy == 5


def test_bound_open_broker_sockets_sets_and_restores_timeouts():
    import socket
    from types import SimpleNamespace

    from celery.utils.threads import bound_open_broker_sockets
    a, b = socket.socketpair()
    try:
        conn = SimpleNamespace(transport=SimpleNamespace(sock=a))
        with bound_open_broker_sockets(conn, 2.5) as bound:
            assert bound is conn and a.gettimeout() == 2.5
        assert a.gettimeout() is None
        with bound_open_broker_sockets(SimpleNamespace(), 1):
            pass  # nothing open: nothing to bound
    finally:
        a.close()
        b.close()


def test_timer_next_applies_due_entries():
    from celery.utils.timer2 import TIMER_DEBUG, Timer
    import os
    assert TIMER_DEBUG == (os.environ.get('TIMER_DEBUG') or None)
    timer = Timer()
    ran = []
    timer.schedule.call_after(0, ran.append, ('now',))
    assert timer.next() is None and ran == ['now']
    timer.schedule.call_after(30, ran.append, ('later',))
    delay = timer.next()
    assert 0 < delay <= 30 and ran == ['now']
    entry = timer.enter_after(60, timer.Entry(ran.append, ('x',)))
    entry.cancel()
    timer.stop()


def test_renamed_parameters_and_wrapper_defaults():
    import logging

    from celery.utils import serialization, text
    from celery.utils.log import logger_isa
    assert text.abbrtask(S='proj.tasks.add', max=40) == 'proj.tasks.add'
    assert serialization.b64decode(s=serialization.b64encode(s=b'x')) == b'x'
    child = logging.getLogger('celery.test.child')
    assert logger_isa(l=child, p=logging.getLogger('celery.test'))
    cls = serialization.UnpickleableExceptionWrapper
    assert (cls.exc_module, cls.exc_cls_name, cls.exc_args) == (None, None, None)
