"""``celery worker`` with a setting it can't start with: ``Error: ...``, exit 1, no traceback."""
from __future__ import annotations

import socket

from celery.platforms import EX_FAILURE


def test_probe_port_in_use_is_a_clean_error(run, app, unique: str) -> None:
    with socket.socket() as taken:
        taken.bind(('127.0.0.1', 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        app.conf.worker_health_port = port
        result = run('worker', '-P', 'solo', '-n', f'probe-{unique}@%h', '--without-mingle')
    assert result.exit_code == EX_FAILURE
    assert f'Error: worker_health_port: port {port} on 127.0.0.1 is already in use' in result.output
    assert 'Traceback' not in result.output


def test_bad_revokes_backend_is_a_clean_error(run, app, unique: str) -> None:
    app.conf.worker_revokes_backend = 'amqp://nowhere'
    result = run('worker', '-P', 'solo', '-n', f'revokes-{unique}@%h', '--without-mingle')
    assert result.exit_code == EX_FAILURE
    assert 'Error: worker_revokes_backend must be a Redis URL' in result.output
    assert 'Traceback' not in result.output
