"""LimitedSet, LRUCache, buffers and the layered mapping types."""
from __future__ import annotations

import json
import pickle
from types import SimpleNamespace

import pytest

from celery.utils.collections import (
    AttributeDict,
    BufferMap,
    ChainMap,
    ConfigurationView,
    DictAttribute,
    LimitedSet,
    LRUCache,
    Messagebuffer,
    force_mapping,
    lpmerge,
)


class TestLimitedSet:

    def test_add_and_contains(self) -> None:
        s = LimitedSet(maxlen=10)
        s.add('a')
        assert 'a' in s and 'b' not in s and len(s) == 1 and s

    def test_maxlen_drops_oldest(self) -> None:
        s = LimitedSet(maxlen=3)
        for i, item in enumerate('abcde'):
            s.add(item, now=100.0 + i)
        assert list(s) == ['c', 'd', 'e']

    def test_expiry(self) -> None:
        s = LimitedSet(expires=10)
        s.add('old', now=100.0)
        s.add('new', now=105.0)
        s.purge(now=111.0)
        assert 'old' not in s and 'new' in s

    def test_minlen_keeps_items_past_expiry(self) -> None:
        s = LimitedSet(maxlen=10, expires=1, minlen=2)
        for i, item in enumerate('abc'):
            s.add(item, now=100.0 + i)
        s.purge(now=1000.0)
        assert set(s) == {'b', 'c'}

    def test_readding_resets_insertion_time(self) -> None:
        s = LimitedSet(expires=10)
        s.add('a', now=100.0)
        s.add('a', now=108.0)
        s.purge(now=112.0)
        assert 'a' in s  # the stale heap entry for t=100 must not evict it

    def test_discard_and_pop(self) -> None:
        s = LimitedSet()
        s.add('a', now=1.0)
        s.add('b', now=2.0)
        s.discard('a')
        s.discard('missing')
        assert s.pop() == 'b'
        assert s.pop() is None and s.pop('x') == 'x'

    def test_update_from_limited_set_and_dict_forms(self) -> None:
        source = LimitedSet(maxlen=100)
        for i in range(5):
            source.add(f'id{i}', now=10.0 + i)
        for form in (source, source.as_dict(), source._data,
                     json.loads(json.dumps(source._data)),
                     {'_heap': [], '_data': source.as_dict()}):
            target = LimitedSet(maxlen=100)
            target.update(form)
            assert target == source

    def test_update_from_iterable(self) -> None:
        s = LimitedSet()
        s.update(['a', 'b'])
        assert set(s) == {'a', 'b'}

    def test_update_rejects_bad_timestamps(self) -> None:
        with pytest.raises(ValueError, match='timestamp'):
            LimitedSet().update({'a': 'not-a-time'})

    def test_merge_respects_maxlen(self) -> None:
        a, b = LimitedSet(maxlen=3), LimitedSet(maxlen=10)
        for i in range(6):
            b.add(i, now=float(i + 1))
        a.update(b)
        assert sorted(a) == [3, 4, 5]

    def test_pickle_roundtrip(self) -> None:
        s = LimitedSet(maxlen=5, expires=60, minlen=1)
        s.add('x', now=5.0)
        copy = pickle.loads(pickle.dumps(s))
        assert copy == s and (copy.maxlen, copy.expires, copy.minlen) == (5, 60, 1)

    def test_invalid_arguments(self) -> None:
        with pytest.raises(ValueError):
            LimitedSet(maxlen=2, minlen=3)
        with pytest.raises(ValueError):
            LimitedSet(expires=-1)

    def test_heap_stays_bounded_when_readding(self) -> None:
        s = LimitedSet(maxlen=1000)
        for i in range(5000):
            s.add(i % 10)
        assert len(s) == 10 and len(s._heap) < 20

    def test_repr_and_as_dict(self) -> None:
        s = LimitedSet(maxlen=2)
        s.add('a', now=3.0)
        assert s.as_dict() == {'a': 3.0}
        assert 'LimitedSet(1)' in repr(s)


class TestLRUCache:

    def test_evicts_least_recently_used(self) -> None:
        cache = LRUCache(limit=2)
        cache['a'], cache['b'] = 1, 2
        _ = cache['a']  # touch: b is now the oldest
        cache['c'] = 3
        assert set(cache.keys()) == {'a', 'c'}

    def test_update_trims_and_incr(self) -> None:
        cache = LRUCache(limit=3)
        cache.update({str(i): i for i in range(10)})
        assert len(cache) == 3
        cache['n'] = '1'
        assert cache.incr('n', 2) == 3

    def test_pickle(self) -> None:
        cache = LRUCache(limit=3)
        cache['a'] = 1
        copy = pickle.loads(pickle.dumps(cache))
        assert copy['a'] == 1 and copy.limit == 3


class TestBuffers:

    def test_messagebuffer_is_bounded_fifo(self) -> None:
        buf = Messagebuffer(maxsize=2)
        for i in range(4):
            buf.put(i)
        assert buf.take() == 2 and buf.take() == 3
        assert buf.take(None) is None
        with pytest.raises(IndexError):
            buf.take()

    def test_buffermap_total_bound(self) -> None:
        bufs = BufferMap(maxsize=3)
        bufs.put('a', 1)
        bufs.put('a', 2)
        bufs.extend('b', [3, 4])
        assert bufs.total == 3
        assert bufs.take('b') == 3
        assert bufs.take('zz', 'default') == 'default'
        with pytest.raises(KeyError):
            bufs.take('zz')


class TestMappings:

    def test_attribute_dict(self) -> None:
        d = AttributeDict(a=1)
        d.b = 2
        assert d.a == 1 and d['b'] == 2
        with pytest.raises(AttributeError):
            _ = d.missing

    def test_dict_attribute(self) -> None:
        obj = SimpleNamespace(x=1)
        d = DictAttribute(obj)
        d['y'] = 2
        assert d['x'] == 1 and obj.y == 2 and 'x' in d and d.get('zz', 3) == 3
        assert set(d.keys()) == {'x', 'y'}
        with pytest.raises(KeyError):
            d['zz']

    def test_force_mapping(self) -> None:
        assert force_mapping({'a': 1}) == {'a': 1}
        assert force_mapping(SimpleNamespace(a=1))['a'] == 1

    def test_lpmerge_skips_none(self) -> None:
        assert lpmerge({'a': 1, 'b': 2}, {'a': None, 'b': 3}) == {'a': 1, 'b': 3}

    def test_chainmap_layers(self) -> None:
        m = ChainMap({}, {'a': 1}, {'a': 0, 'b': 2})
        m['c'] = 3
        assert (m['a'], m['b'], m['c']) == (1, 2, 3)
        assert sorted(m) == ['a', 'b', 'c'] and len(m) == 3
        m.add_defaults({'d': 4})
        assert m['d'] == 4 and m.first('x', 'd') == 4
        seen = []
        m.bind_to(lambda *a, **kw: seen.append(kw))
        m.update(e=5)
        assert seen == [{'e': 5}]

    def test_configuration_view_aliases_and_prefix(self) -> None:
        view = ConfigurationView({}, [{'CELERY_BROKER_URL': 'amqp://'}, {'broker_url': None}],
                                 keys=(lambda k: k.upper(),), prefix='CELERY')
        assert view.broker_url == 'amqp://'
        view.broker_url = 'redis://'
        assert view['broker_url'] == 'redis://'
        assert 'broker_url' in view

    def test_configuration_view_swap_and_copy(self) -> None:
        a = ConfigurationView({'x': 1}, [{'y': 2}])
        b = ConfigurationView({'x': 10}, [{'y': 20}])
        a.swap_with(b)
        assert (a.x, a.y) == (10, 20)
        c = a.copy()
        c.x = 99
        assert a.x == 10 and pickle.loads(pickle.dumps(c)).x == 99
