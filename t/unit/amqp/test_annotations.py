"""Task annotations from task_annotations."""
from __future__ import annotations

from celery.app.annotations import MapAnnotation, prepare, resolve_all


class FakeTask:
    name = 'proj.add'


class RateAnnotation:
    def annotate(self, task):
        if task.name.startswith('proj.'):
            return {'rate_limit': '10/s'}


def test_prepare_none():
    assert prepare(None) == []


def test_dict_by_name():
    annotations = prepare({'proj.add': {'rate_limit': '10/m'}})
    assert isinstance(annotations[0], MapAnnotation)
    assert list(resolve_all(annotations, FakeTask())) == [{'rate_limit': '10/m'}]


def test_star_matches_every_task_after_name():
    annotations = prepare({'proj.add': {'a': 1}, '*': {'b': 2}})
    assert list(resolve_all(annotations, FakeTask())) == [{'a': 1}, {'b': 2}]


def test_no_match():
    assert list(resolve_all(prepare({'other': {'a': 1}}), FakeTask())) == []


def test_object_with_annotate():
    annotations = prepare([RateAnnotation()])
    assert list(resolve_all(annotations, FakeTask())) == [{'rate_limit': '10/s'}]


def test_class_by_path_is_instantiated():
    annotations = prepare('t.unit.amqp.test_annotations.RateAnnotation')
    assert list(resolve_all(annotations, FakeTask())) == [{'rate_limit': '10/s'}]


def test_plain_function():
    annotations = prepare(lambda task: {'name_len': len(task.name)})
    assert list(resolve_all(annotations, FakeTask())) == [{'name_len': 8}]


def test_first_matching_annotation_wins():
    annotations = prepare([{'proj.add': {'a': 1}}, {'proj.add': {'a': 2}}])
    assert list(resolve_all(annotations, FakeTask())) == [{'a': 1}]


def test_returned_dict_is_a_copy():
    annotations = prepare({'proj.add': {'a': 1}})
    next(resolve_all(annotations, FakeTask()))['a'] = 99
    assert list(resolve_all(annotations, FakeTask())) == [{'a': 1}]
