"""The chord-unlock counter of key/value backends (in-memory cache backend)."""
from __future__ import annotations

from types import SimpleNamespace
from typing import ClassVar

from celery import states


class FakeBody(dict):
    """Stands in for the chord body signature: records delay() calls."""

    calls: ClassVar[list] = []

    def delay(self, value):
        self.calls.append(value)


def test_last_header_task_calls_body(app, unique, monkeypatch) -> None:
    backend = app.backend
    body = FakeBody(task='body', options={}, chord_size=3)
    body.calls = []
    monkeypatch.setattr('celery.canvas.maybe_signature', lambda sig, app=None: sig,
                        raising=False)
    ids = [f'{unique}-{i}' for i in range(3)]
    header = (unique, [app.AsyncResult(i) for i in ids])
    backend.apply_chord(header, body)
    for i, task_id in enumerate(ids):
        backend.store_result(task_id, i * 10, states.SUCCESS)
        request = SimpleNamespace(id=task_id, group=unique, chord=body,
                                  group_index=i)
        backend.on_chord_part_return(request, states.SUCCESS, i * 10)
        assert body.calls == ([] if i < 2 else [[0, 10, 20]])
    assert backend.restore_group(unique) is None
