"""``celery events`` (the curses monitor) driven in a real terminal through tmux."""
from __future__ import annotations

import shlex
import shutil
import subprocess
import sys

import pytest

from t.conftest import AMQP_URL, REDIS_URL
from t.integration.events.evcluster import (
    HERE,
    WorkerProcess,
    environment,
    load_app,
    new_unique,
    wait_for,
)

pytestmark = pytest.mark.skipif(shutil.which('tmux') is None,
                                reason='tmux is needed (apt-get install -y tmux)')


def tmux(*args: str) -> str:
    return subprocess.run(['tmux', *args], capture_output=True, text=True,
                          timeout=10, check=False).stdout


class Terminal:
    """A tmux session running one command, read back through capture-pane."""

    def __init__(self, name: str, command: str) -> None:
        self.name = name
        tmux('new-session', '-d', '-s', name, '-x', '160', '-y', '40', command)

    def screen(self) -> str:
        return tmux('capture-pane', '-p', '-t', self.name)

    def keys(self, *keys: str) -> None:
        for key in keys:
            tmux('send-keys', '-t', self.name, key)

    def type(self, text: str) -> None:
        tmux('send-keys', '-t', self.name, '-l', text)
        tmux('send-keys', '-t', self.name, 'Enter')

    def shows(self, *texts: str, timeout: float = 15.0) -> None:
        shown = wait_for(lambda: all(text in self.screen() for text in texts), timeout)
        assert shown, f'expected {texts} on screen:\n{self.screen()}'

    def alive(self) -> bool:
        return self.name in tmux('ls')

    def close(self) -> None:
        tmux('kill-session', '-t', self.name)


def start_monitor(broker: str, unique: str) -> Terminal:
    env = environment(broker, unique)
    exports = ' '.join(f'{k}={shlex.quote(env[k])}' for k in
                       ('EV_UNIQUE', 'EV_BROKER', 'PYTHONPATH'))
    # The pane's shell may export LINES/COLUMNS of tmux's default size, which
    # curses would trust over the real size of the pane.
    command = (f'cd {shlex.quote(str(HERE))} && env -u LINES -u COLUMNS {exports} TERM=xterm '
               f'{shlex.quote(sys.executable)} -m celery -A evapp events')
    return Terminal(f'evtop-{unique}', command)


@pytest.mark.parametrize('broker', [AMQP_URL, REDIS_URL], ids=['amqp', 'redis'])
def test_monitor_task_and_worker_screens(broker: str) -> None:
    unique = new_unique()
    module = load_app(broker, unique)
    worker = WorkerProcess(broker, unique, 'top')
    term = start_monitor(broker, unique)
    try:
        worker.wait_ready()
        term.shows('celery events', 'j:down', 'c:revoke')
        term.shows(f'Workers online: {worker.hostname}')

        result = module.add.delay(20, 22)
        assert result.get(timeout=10) == 42
        term.shows(result.id, 'ev.add', 'SUCCESS')
        term.keys('j', 'i')
        term.shows(f'Task info: {result.id}', 'result: 42', f'worker: {worker.hostname}')
        term.keys('x')
        term.keys('r')
        term.shows(f'Task result: {result.id}', 'SUCCESS: 42')
        term.keys('x')

        term.keys('l')
        term.shows('New rate limit for ev.add')
        term.type('10/m')
        term.shows(f'{worker.hostname}: new rate limit set successfully')
        term.keys('x')

        term.keys('w')
        term.shows('STATUS', 'PROCESSED', 's:shutdown')
        term.keys('i')
        term.shows(f'Worker info: {worker.hostname}', 'status: ONLINE',
                   f'{result.id} ev.add SUCCESS')
        term.keys('x', 'w')
        term.shows('c:revoke')

        term.keys('q')
        assert wait_for(lambda: not term.alive(), 10), term.screen()
    finally:
        term.close()
        worker.stop()
        module.app.close()


def test_monitor_revokes_the_selected_task() -> None:
    unique = new_unique()
    module = load_app(AMQP_URL, unique)
    worker = WorkerProcess(AMQP_URL, unique, 'rev')
    term = start_monitor(AMQP_URL, unique)
    try:
        worker.wait_ready()
        term.shows(f'Workers online: {worker.hostname}')
        later = module.sleeper.apply_async((0,), countdown=4)
        term.shows(later.id, 'RECEIVED')
        term.keys('j', 'c')
        term.shows(f'Revoke {later.id}', f'{worker.hostname}: tasks', 'flagged as revoked')
        term.keys('x')
        # When the countdown ends the worker skips the task and says so.
        term.shows(later.id, 'REVOKED', timeout=15)
        assert module.app.AsyncResult(later.id).state == 'REVOKED'
        term.keys('q')
        assert wait_for(lambda: not term.alive(), 10), term.screen()
    finally:
        term.close()
        worker.stop()
        module.app.close()
