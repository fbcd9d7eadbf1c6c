"""The remote debugger serves pdb over TCP and lets the program continue."""
from __future__ import annotations

import io
import re
import socket
import threading
import time

import pytest

from celery.contrib import rdb
from celery.exceptions import CeleryError

TIMEOUT = 10


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


class Session:
    """A debugged function in a thread plus a socket client talking to it."""

    def __init__(self, target, monkeypatch) -> None:
        self.out = io.StringIO()
        self.result: dict = {}
        port = free_port()
        monkeypatch.setenv('CELERY_RDB_HOST', '127.0.0.1')
        monkeypatch.setenv('CELERY_RDB_PORT', str(port))
        monkeypatch.setattr(rdb, '_current', [None])
        original = rdb.Rdb.__init__

        def init(debugger, *args, **kwargs):
            kwargs.setdefault('out', self.out)
            original(debugger, *args, **kwargs)
        monkeypatch.setattr(rdb.Rdb, '__init__', init)
        self.thread = threading.Thread(target=lambda: self.result.update(value=target()),
                                       daemon=True)
        self.thread.start()
        self.port = self._wait_for_port()
        self.sock = socket.create_connection(('127.0.0.1', self.port), timeout=TIMEOUT)
        self.buffer = b''

    def _wait_for_port(self) -> int:
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline:
            found = re.search(r'telnet 127\.0\.0\.1 (\d+)', self.out.getvalue())
            if found:
                return int(found.group(1))
            time.sleep(0.01)
        raise AssertionError(f'no banner: {self.out.getvalue()!r}')

    def read_until_prompt(self) -> str:
        while b'(Pdb) ' not in self.buffer:
            chunk = self.sock.recv(4096)
            if not chunk:
                break
            self.buffer += chunk
        text, _, self.buffer = self.buffer.partition(b'(Pdb) ')
        return text.decode()

    def send(self, line: str) -> None:
        self.sock.sendall(line.encode() + b'\n')

    def finish(self) -> object:
        self.thread.join(TIMEOUT)
        assert not self.thread.is_alive()
        self.sock.close()
        return self.result['value']


def add(x, y):
    result = x + y
    rdb.set_trace()  # noqa: T100 - the breakpoint under test
    return result


def test_client_inspects_changes_and_continues(monkeypatch):
    session = Session(lambda: add(2, 2), monkeypatch)
    shown = session.read_until_prompt()
    assert 'return result' in shown
    session.send('p result')
    assert '4' in session.read_until_prompt()
    session.send("result = 'hello from rdb'")
    session.read_until_prompt()
    session.send('continue')
    assert session.finish() == 'hello from rdb'
    output = session.out.getvalue()
    assert f'Remote Debugger:{session.port}: Please telnet 127.0.0.1 {session.port}.' in output
    assert 'Waiting for client...' in output
    assert 'Now in session with 127.0.0.1:' in output
    assert 'ended.' in output


@pytest.mark.parametrize('command', ['exit', 'quit', 'c'])
def test_exit_commands_let_the_program_run_on(monkeypatch, command):
    session = Session(lambda: add(1, 2), monkeypatch)
    session.read_until_prompt()
    session.send(command)
    assert session.finish() == 3


def test_client_hanging_up_does_not_break_the_program(monkeypatch):
    session = Session(lambda: add(3, 4), monkeypatch)
    session.read_until_prompt()
    session.sock.close()
    assert session.finish() == 7


def test_print_goes_to_the_client(monkeypatch):
    session = Session(lambda: add(5, 5), monkeypatch)
    session.read_until_prompt()
    session.send("print('to the client')")
    assert 'to the client' in session.read_until_prompt()
    session.send('continue')
    assert session.finish() == 10


def test_busy_port_moves_the_search_upward():
    blocker = socket.socket()
    blocker.bind(('127.0.0.1', 0))
    busy = blocker.getsockname()[1]
    try:
        debugger = rdb.Rdb.__new__(rdb.Rdb)
        sock, port = debugger.get_avail_port('127.0.0.1', busy, search_limit=50)
        sock.close()
        assert busy < port < busy + 50
    finally:
        blocker.close()


def test_no_free_port_is_a_clear_error():
    blocker = socket.socket()
    blocker.bind(('127.0.0.1', 0))
    busy = blocker.getsockname()[1]
    try:
        debugger = rdb.Rdb.__new__(rdb.Rdb)
        with pytest.raises(CeleryError, match='CELERY_RDB_PORT'):
            debugger.get_avail_port('127.0.0.1', busy, search_limit=1)
    finally:
        blocker.close()


def test_defaults():
    assert rdb.DEFAULT_PORT == 6899
    assert issubclass(rdb.Rdb, __import__('pdb').Pdb)
