"""``celery beat`` as a program: its banner and start-up summary."""
from __future__ import annotations

import logging
import re

from celery import Celery
from celery.apps.beat import Beat


class FakeScheduler:
    info = '    . db -> /tmp/schedule'
    max_interval = 300


class FakeService:
    def get_scheduler(self, lazy: bool = False) -> FakeScheduler:
        assert lazy
        return FakeScheduler()


def make_beat(**kwargs) -> Beat:
    app = Celery('proj', broker='amqp://guest:secret@broker.example:5672//', set_as_current=False)
    return Beat(app=app, no_color=True, **kwargs)


def test_startup_info_summarises_the_configuration():
    beat = make_beat(loglevel='INFO', logfile='/var/log/beat.log')
    lines = beat.startup_info(FakeService()).splitlines()
    assert re.fullmatch(r'LocalTime -> \d{4}-\d\d-\d\d \d\d:\d\d:\d\d', lines[0])
    assert lines[1:] == [
        'Configuration ->',
        '    . broker -> amqp://guest:**@broker.example:5672//',
        '    . loader -> celery.loaders.app.AppLoader',
        f'    . scheduler -> {__name__}.FakeScheduler',
        '    . db -> /tmp/schedule',
        '    . logfile -> /var/log/beat.log@%INFO',
        '    . maxinterval -> 5.00 minutes (300s)',
    ]


def test_startup_info_defaults_to_stderr_and_names_the_level():
    beat = make_beat(loglevel=logging.DEBUG)
    info = beat.startup_info(FakeService())
    assert '    . logfile -> [stderr]@%DEBUG' in info


def test_banner_ends_with_the_startup_info():
    beat = make_beat()
    banner = beat.banner(FakeService())
    assert banner.startswith('__    -    ... __   -        _\n')
    assert banner.endswith('    . maxinterval -> 5.00 minutes (300s)')


def test_loglevel_names_become_numbers():
    assert make_beat(loglevel='warning').loglevel == logging.WARNING
