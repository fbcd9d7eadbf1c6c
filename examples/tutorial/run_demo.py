"""Run the tutorial end to end with no server: ``make demo``.

Messages go through kombu's filesystem transport and results into the file
result backend (one file per result), both in a temporary directory: nothing
beyond the package and the standard library is needed.  A real ``celery -A tasks worker`` process
executes the tasks and is stopped with SIGTERM (warm shutdown) at the end.
"""
from __future__ import annotations

import os
import queue
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
READY_TIMEOUT = 60.0
RESULT_TIMEOUT = 30.0
STOP_TIMEOUT = 30.0

CONFIG_TEMPLATE = """\
broker_url = 'filesystem://'
broker_transport_options = {{
    'data_folder_in': {data!r},
    'data_folder_out': {data!r},
    'processed_folder': {data!r},
    'control_folder': {data!r},
    'polling_interval': 0.1,
}}
result_backend = 'file://{results}'
task_serializer = 'json'
accept_content = ['json']
"""


def write_config(workdir: Path) -> None:
    """Write ``demo_config.py`` pointing the broker and backend into ``workdir``."""
    data = workdir / 'messages'
    data.mkdir()
    results = workdir / 'results'
    results.mkdir()
    config = CONFIG_TEMPLATE.format(data=str(data), results=results)
    (workdir / 'demo_config.py').write_text(config)


def demo_env(workdir: Path) -> dict[str, str]:
    """Return the environment under which both this process and the worker find the config."""
    env = dict(os.environ)
    paths = [str(HERE), str(workdir), str(REPO), env.get('PYTHONPATH', '')]
    env['PYTHONPATH'] = os.pathsep.join(p for p in paths if p)
    env['CELERY_CONFIG_MODULE'] = 'demo_config'
    env.pop('CELERY_BROKER_URL', None)
    env.pop('CELERY_RESULT_BACKEND', None)
    return env


def start_worker(env: dict[str, str]) -> tuple[subprocess.Popen[str], queue.Queue[str]]:
    """Start ``celery -A tasks worker -l INFO -c 2``; its output lines go to a queue."""
    cmd = [sys.executable, '-m', 'celery', '-A', 'tasks', 'worker', '-l', 'INFO', '-c', '2']
    print('$', ' '.join(['celery', *cmd[3:]]), flush=True)
    proc = subprocess.Popen(cmd, cwd=HERE, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    lines: queue.Queue[str] = queue.Queue()

    def pump() -> None:
        for line in proc.stdout:  # type: ignore[union-attr]
            lines.put(line)
            print(f'  worker | {line}', end='', flush=True)
    threading.Thread(target=pump, daemon=True).start()
    return proc, lines


def wait_until_ready(proc: subprocess.Popen[str], lines: queue.Queue[str]) -> bool:
    """Wait for the worker's ``ready.`` line; False if it exited or timed out."""
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=0.2)
        except queue.Empty:
            if proc.poll() is not None:
                return False
            continue
        if line.rstrip().endswith('ready.'):
            return True
    return False


def run_tasks() -> None:
    """Send a few tasks and print their results."""
    from tasks import add, mul, xsum
    calls = [(add, (2, 2)), (mul, (6, 7)), (xsum, ([1, 2, 3, 4],)), (add, (0.5, 0.25))]
    pending = [(task, args, task.delay(*args)) for task, args in calls]
    for task, args, result in pending:
        value = result.get(timeout=RESULT_TIMEOUT)
        shown = ', '.join(repr(arg) for arg in args)
        print(f'{task.name}({shown}) -> {value!r}', flush=True)


def stop_worker(proc: subprocess.Popen[str]) -> int:
    """Send SIGTERM (warm shutdown) and return the worker's exit code."""
    proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(timeout=STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        print('worker did not stop within the timeout: killed it', file=sys.stderr)
        return 1


def main() -> int:
    """Run the demo; return the process exit code."""
    workdir = Path(tempfile.mkdtemp(prefix='celery-demo-'))
    try:
        write_config(workdir)
        env = demo_env(workdir)
        os.environ.update(env)
        sys.path[:0] = [str(HERE), str(workdir), str(REPO)]
        proc, lines = start_worker(env)
        try:
            if not wait_until_ready(proc, lines):
                print('the worker did not become ready; see its output above', file=sys.stderr)
                return 1
            run_tasks()
        finally:
            if proc.poll() is None:
                code = stop_worker(proc)
            else:
                code = proc.returncode
        print(f'worker exited with code {code}', flush=True)
        return code
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == '__main__':
    sys.exit(main())
