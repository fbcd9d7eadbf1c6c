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
