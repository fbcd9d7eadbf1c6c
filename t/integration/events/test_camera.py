"""``celery events --camera`` against a real ``-E`` worker: pictures, frequency, maxrate."""
from __future__ import annotations

import json
import signal
import statistics
from itertools import pairwise
from pathlib import Path

import pytest

from t.conftest import AMQP_URL, REDIS_URL
from t.integration.events.evcluster import (
    CeleryProcess,
    WorkerProcess,
    load_app,
    new_unique,
    wait_for,
)


def pictures(path: Path) -> list[dict]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def start_camera(broker: str, unique: str, path: Path, *options: str) -> CeleryProcess:
    return CeleryProcess(broker, unique, 'cam', 'events', '--camera', 'evapp.FileCamera',
                         *options, EV_CAMERA_FILE=str(path))


@pytest.mark.parametrize('broker', [AMQP_URL, REDIS_URL], ids=['amqp', 'redis'])
def test_camera_photographs_worker_and_tasks_at_the_frequency(broker: str,
                                                              tmp_path: Path) -> None:
    unique = new_unique()
    module = load_app(broker, unique)
    path = tmp_path / 'pictures.jsonl'
    camera = start_camera(broker, unique, path, '--frequency', '0.5')
    worker = WorkerProcess(broker, unique, 'cam')
    try:
        worker.wait_ready()
        assert wait_for(lambda: pictures(path), 15), camera.output()
        results = [module.add.delay(i, i) for i in range(3)]
        assert [r.get(timeout=10) for r in results] == [0, 2, 4]

        def shows_everything() -> bool:
            last = pictures(path)[-1]
            return worker.hostname in last['workers'] and all(
                last['tasks'].get(r.id) == ['ev.add', 'SUCCESS'] for r in results)
        assert wait_for(shows_everything, 15), pictures(path)[-1]

        assert wait_for(lambda: len(pictures(path)) >= 5, 10)
        times = [p['time'] for p in pictures(path)]
        gaps = [b - a for a, b in pairwise(times)]
        assert len(gaps) >= 3 and 0.35 < statistics.median(gaps) < 0.8, gaps
        count = len(pictures(path))
        camera.proc.send_signal(signal.SIGTERM)
        assert camera.proc.wait(30) == 0, camera.output()
        assert len(pictures(path)) == count + 1, 'a last picture is taken on exit'
    finally:
        camera.stop()
        worker.stop()
        module.app.close()


def test_camera_maxrate_limits_the_pictures(tmp_path: Path) -> None:
    unique = new_unique()
    path = tmp_path / 'pictures.jsonl'
    camera = start_camera(AMQP_URL, unique, path, '--frequency', '0.05', '--maxrate', '2/s')
    try:
        assert wait_for(lambda: pictures(path), 15), camera.output()
        first = pictures(path)[0]['time']
        assert wait_for(lambda: pictures(path)[-1]['time'] - first > 3, 10)
        window = [p for p in pictures(path) if p['time'] - first <= 3]
        # 60 shutters in 3s, but at most 2 pictures a second (plus the full bucket).
        assert 3 <= len(window) <= 9, len(window)
    finally:
        camera.stop()


def test_unknown_camera_is_a_usage_error(tmp_path: Path) -> None:
    unique = new_unique()
    camera = CeleryProcess(AMQP_URL, unique, 'badcam', 'events', '--camera',
                           'evapp.NoSuchCamera')
    try:
        assert camera.proc.wait(30) == 2
        assert "Cannot load the camera 'evapp.NoSuchCamera'" in camera.output()
    finally:
        camera.stop()
