"""Private redis-server / sentinel processes on free loopback ports (never 6379); a fork helper."""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

needs_redis_server = pytest.mark.skipif(shutil.which('redis-server') is None,
                                        reason='needs the redis-server program')


def in_child(fn: Callable[[], object]) -> str:
    """Run ``fn`` in a forked child and return what it returned, as text."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.write(write, str(fn()).encode())
        finally:
            os._exit(0)
    os.close(write)
    os.waitpid(pid, 0)
    with os.fdopen(read) as f:
        return f.read()


def free_port() -> int:
    """A loopback TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def wait_listening(port: int, proc: subprocess.Popen, timeout: float = 10) -> None:
    """Block until ``port`` accepts connections; kill ``proc`` and fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(('127.0.0.1', port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError(f'redis process on port {port} did not start')


def start_redis(port: int, *extra: str) -> subprocess.Popen:
    """A throwaway redis-server without persistence on ``port``."""
    proc = subprocess.Popen(['redis-server', '--port', str(port), '--bind', '127.0.0.1',
                             '--save', '', '--appendonly', 'no', *extra],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_listening(port, proc)
    return proc


def start_sentinel(port: int, workdir: Path, master_name: str, master_port: int,
                   down_after_ms: int = 400) -> subprocess.Popen:
    """A redis sentinel watching ``master_name`` (quorum 1, quick failover)."""
    config = workdir / f'sentinel-{port}.conf'
    config.write_text(
        f'port {port}\nbind 127.0.0.1\ndir {workdir}\n'
        f'sentinel monitor {master_name} 127.0.0.1 {master_port} 1\n'
        f'sentinel down-after-milliseconds {master_name} {down_after_ms}\n'
        f'sentinel failover-timeout {master_name} 3000\n'
        f'sentinel parallel-syncs {master_name} 1\n')
    proc = subprocess.Popen(['redis-server', str(config), '--sentinel'],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_listening(port, proc)
    return proc


def stop(proc: subprocess.Popen) -> None:
    """Kill a server process and reap it."""
    if proc.poll() is None:
        proc.kill()
    proc.wait(5)
