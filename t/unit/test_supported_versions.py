"""Supported versions: outside the tested ranges, one warning and the stock path."""
from __future__ import annotations

import importlib.metadata
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from celery import Celery
from celery.transport import fast_path_enabled, versions
from celery.transport.versions import TESTED, VersionRange, out_of_range, parse_version

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def untested_kombu(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The installed kombu taken for an untested release (the check made afresh)."""
    installed = importlib.metadata.version('kombu')
    monkeypatch.setitem(TESTED, 'kombu', VersionRange((0, 1), (0, 2)))
    monkeypatch.setattr(versions, '_checked', None)
    yield installed
    # The next check (in this process) sees the real ranges again.
    monkeypatch.setattr(versions, '_checked', None)


@pytest.mark.parametrize('text, expected', [
    ('5.7.0', (5, 7, 0)), ('4.5.5', (4, 5, 5)), ('5.7.0rc1', (5, 7, 0)),
    ('8.2', (8, 2)), ('5.4.2.post1', (5, 4, 2)), ('dev', None),
])
def test_a_version_is_its_release_numbers(text: str, expected: tuple[int, ...] | None) -> None:
    assert parse_version(text) == expected


def test_a_range_holds_its_low_bound_not_its_high_one_nor_an_excluded_release() -> None:
    tested = VersionRange((4, 5, 2), (8, 3), excluded=((4, 5, 5),))
    assert (4, 5, 2) in tested and (8, 2, 9) in tested
    assert (4, 5, 1) not in tested and (8, 3) not in tested and (8, 3, 0) not in tested
    assert (4, 5, 5) not in tested
    assert str(tested) == '>=4.5.2,<8.3,!=4.5.5'


def test_the_installed_versions_are_tested_ones() -> None:
    assert out_of_range() == []
    assert versions.supported()


def test_a_package_outside_its_range_is_named_with_version_and_range() -> None:
    installed = importlib.metadata.version('kombu')
    found = out_of_range({'kombu': VersionRange((0, 1), (0, 2)),
                          'amqp': TESTED['amqp'],
                          'not-installed-distribution': VersionRange((1,), (2,))})
    assert [str(f) for f in found] == [f'kombu {installed} (tested: >=0.1,<0.2)']


def _requirements(path: str, operator: str) -> dict[str, tuple[int, ...] | None]:
    found = {}
    for line in (ROOT / path).read_text().splitlines():
        if operator in line and not line.startswith(('#', '-')):
            name, rest = line.split(operator, 1)
            found[name.split('[')[0].strip()] = parse_version(rest)
    return found


def test_the_lowest_pins_are_the_low_bounds_of_the_tested_and_declared_ranges() -> None:
    pins = _requirements('requirements/lowest.txt', '==')
    declared = {**_requirements('requirements/default.txt', '>='),
                **_requirements('requirements/extras/redis.txt', '>=')}
    assert pins == {name: tested.low for name, tested in TESTED.items()}
    assert {name: declared[name] for name in pins} == pins


def test_outside_the_ranges_one_warning_and_the_stock_path(
        untested_kombu: str, caplog: pytest.LogCaptureFixture, app: Celery) -> None:
    from celery.app.broker_connection import BrokerConnection
    app.conf.broker_url = 'amqp://guest@127.0.0.1//'
    with caplog.at_level(logging.WARNING, logger='celery.transport.versions'):
        assert not fast_path_enabled(app)
        assert not fast_path_enabled(app)
        connection = app.connection_for_write()
    assert type(connection) is BrokerConnection   # kombu's stock transport
    connection.release()
    warnings = [r.getMessage() for r in caplog.records if r.name == 'celery.transport.versions']
    assert len(warnings) == 1
    assert f'kombu {untested_kombu} (tested: >=0.1,<0.2)' in warnings[0]
    assert 'stock transports' in warnings[0]


def test_the_worker_warns_at_start(untested_kombu: str, caplog: pytest.LogCaptureFixture,
                                   app: Celery) -> None:
    with caplog.at_level(logging.WARNING, logger='celery.transport.versions'):
        app.WorkController(hostname='versions@localhost', pool='solo',
                           without_mingle=True, without_gossip=True)
    assert [r.getMessage() for r in caplog.records
            if r.name == 'celery.transport.versions' and untested_kombu in r.getMessage()]


def test_inside_the_ranges_the_fast_path_is_on_unless_switched_off(app: Celery) -> None:
    assert fast_path_enabled(app)
    app.conf.broker_transport_options = {'fast_path': False}
    assert not fast_path_enabled(app)
