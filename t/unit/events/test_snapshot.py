"""Cameras: pictures on a timer, maxrate, a last picture on cancel, broken cameras."""
from __future__ import annotations

import logging
import time

import pytest

from celery.events.snapshot import Polaroid, load_camera
from celery.events.state import State
from celery.exceptions import ImproperlyConfigured


class Recorder(Polaroid):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.pictures: list[float] = []

    def on_shutter(self, state: State) -> None:
        self.pictures.append(time.monotonic())


def test_shutter_runs_every_freq_seconds_and_once_more_on_exit() -> None:
    with Recorder(State(), freq=0.05) as camera:
        time.sleep(0.33)
        taken = len(camera.pictures)
    assert 4 <= taken <= 8
    assert len(camera.pictures) == taken + 1


def test_maxrate_limits_pictures() -> None:
    camera = Recorder(State(), freq=0.01, maxrate='5/s')
    with camera:
        time.sleep(0.5)
    # One picture from the full bucket, then five a second.
    assert 1 <= len(camera.pictures) <= 5


def test_clear_after_forgets_the_photographed_events() -> None:
    state = State()
    state.event({'type': 'worker-online', 'hostname': 'w@x', 'timestamp': time.time(),
                 'local_received': time.time(), 'clock': 1})

    class Clearing(Recorder):
        clear_after = True
    camera = Clearing(state, freq=60)
    camera.capture()
    assert len(camera.pictures) == 1 and state.event_count == 0 and not state.workers


def test_a_failing_camera_logs_and_keeps_going(caplog: pytest.LogCaptureFixture) -> None:
    class Broken(Polaroid):
        calls = 0

        def on_shutter(self, state: State) -> None:
            type(self).calls += 1
            raise OSError('disk full')
    camera = Broken(State(), freq=60)
    with caplog.at_level(logging.ERROR, logger='celery.events.snapshot'):
        camera.shutter()
        camera.shutter()
    assert Broken.calls == 2
    assert 'Camera Broken failed to store a snapshot' in caplog.text


def test_shutter_signal_is_sent() -> None:
    seen = []

    def on_shutter(sender, **kwargs) -> None:
        seen.append(sender)
    Polaroid.shutter_signal.connect(on_shutter)
    try:
        state = State()
        Polaroid(state, freq=60).shutter()
    finally:
        Polaroid.shutter_signal.disconnect(on_shutter)
    assert seen == [state]


def test_load_camera_names_what_is_wrong() -> None:
    assert load_camera('celery.events.snapshot.Polaroid') is Polaroid
    assert load_camera('celery.events.snapshot:Polaroid') is Polaroid
    with pytest.raises(ImproperlyConfigured, match="Cannot load the camera 'nope.Cam'"):
        load_camera('nope.Cam')
    with pytest.raises(ImproperlyConfigured, match='not a class'):
        load_camera('celery.events.snapshot.evcam')
