"""tick() with a schedule that hands back new entry objects on each read (database schedulers)."""
from __future__ import annotations

import copy
from collections.abc import Iterator

from celery.schedules import schedule

from .conftest import RecordingScheduler


class FreshEntriesScheduler(RecordingScheduler):
    """Keeps entries in a store and returns copies of them on every read, like django-celery-beat."""

    def setup_schedule(self) -> None:
        self.store = {}
        super().setup_schedule()

    def get_schedule(self):
        return {name: copy.copy(entry) for name, entry in self.store.items()}

    def set_schedule(self, schedule):
        self.store = dict(schedule)

    schedule = property(get_schedule, set_schedule)

    def update_from_dict(self, dict_):
        self.store.update(self._valid_entries(dict_))
        self._heap = None

    def merge_inplace(self, b):
        self.update_from_dict(b)

    def reserve(self, entry):
        new_entry = self.store[entry.name] = next(entry)
        return new_entry


def make(app, clock, count=5):
    app.conf.beat_schedule = {
        f'e{i}': {'task': f'proj.e{i}', 'schedule': schedule(10 + i, nowfun=clock)}
        for i in range(count)
    }
    return FreshEntriesScheduler(app)


def test_no_entry_is_dropped_and_the_heap_keeps_its_size(app, clock):
    s = make(app, clock)
    for _ in range(6):
        s.tick()
        assert len(s._heap) == 5
        clock.advance(10)
    s.tick()
    assert {name for name, *_ in s.sent} == {f'proj.e{i}' for i in range(5)}
    assert len(s._heap) == 5


def test_each_entry_runs_once_per_due_time(app, clock):
    s = make(app, clock, count=1)
    s.tick()
    clock.advance(10)
    s.tick()
    s.tick()
    assert len(s.sent) == 1
    assert s.store['e0'].total_run_count == 1


def test_a_heap_of_fresh_equal_entries_is_not_rebuilt_every_tick(app, clock):
    s = make(app, clock)
    s.tick()
    heap = s._heap
    s.tick()
    assert s._heap is heap


def test_an_edited_entry_is_picked_up(app, clock):
    s = make(app, clock, count=1)
    s.tick()
    s.store['e0'] = s.Entry(name='e0', task='proj.edited', schedule=schedule(1, nowfun=clock),
                            app=app)
    clock.advance(1)
    s.tick()
    assert [name for name, *_ in s.sent] == ['proj.edited']


class ChangingDuringIteration(dict):
    """A mapping whose iteration fails while another thread is refreshing it."""

    failures = 3

    def __iter__(self) -> Iterator:
        if ChangingDuringIteration.failures:
            ChangingDuringIteration.failures -= 1
            raise RuntimeError('dictionary changed size during iteration')
        return super().__iter__()

    def keys(self):
        return list(iter(self))

    def items(self):
        return [(key, self[key]) for key in iter(self)]

    def values(self):
        return [self[key] for key in iter(self)]


def test_dictionary_changed_size_during_iteration_never_escapes(app, clock):
    s = make(app, clock)
    s.tick()
    store = s.store

    class Racing(FreshEntriesScheduler):
        pass

    s.__class__ = Racing
    Racing.schedule = property(lambda self: ChangingDuringIteration(
        {name: copy.copy(entry) for name, entry in store.items()}))
    for _ in range(8):
        ChangingDuringIteration.failures = 3
        clock.advance(5)
        s.tick()
    assert len(s._heap) == 5
    assert {name for name, *_ in s.sent} == {f'proj.e{i}' for i in range(5)}
