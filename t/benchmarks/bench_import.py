"""Import and app-construction cost.

Prints: ``python -X importtime -c 'import celery'`` total, the wall time of
``from celery import Celery; Celery('x')`` in a fresh interpreter (median of
several runs, interpreter start-up subtracted), and how many modules it loads.
Target: ``Celery('x')`` under 70 ms.
"""
from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ENV = {**os.environ, 'PYTHONPATH': ROOT}
RUNS = 15


def importtime_total(statement: str) -> float:
    """Cumulative import time of ``statement``'s top-level imports, in ms.

    Interpreter start-up imports (``site``, encodings) are excluded by
    subtracting the same figure for an empty statement.
    """
    def total(stmt: str) -> int:
        proc = subprocess.run([sys.executable, '-X', 'importtime', '-c', stmt],
                              capture_output=True, text=True, env=ENV, check=True)
        micros = 0
        for line in proc.stderr.splitlines():
            parts = line[len('import time:'):].split('|')
            if len(parts) == 3 and parts[1].strip().isdigit() and not parts[2].startswith('  '):
                micros += int(parts[1])
        return micros
    return (total(statement) - total('pass')) / 1000


def wall_ms(statement: str) -> float:
    """Median wall time of running ``statement`` in a fresh interpreter, in ms."""
    samples = []
    for _ in range(RUNS):
        start = time.perf_counter()
        subprocess.run([sys.executable, '-c', statement], env=ENV, check=True)
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


def module_count(statement: str) -> int:
    """Modules loaded by ``statement`` beyond a bare interpreter."""
    code = f'import sys; before = len(sys.modules); {statement}; print(len(sys.modules) - before)'
    out = subprocess.run([sys.executable, '-c', code], env=ENV, check=True,
                         capture_output=True, text=True)
    return int(out.stdout.strip())


def main() -> None:
    """Print the figures."""
    baseline = wall_ms('pass')
    construct = "from celery import Celery; Celery('x')"
    print(f'importtime total, import celery:       {importtime_total("import celery"):7.1f} ms')
    print(f'importtime total, Celery("x"):         {importtime_total(construct):7.1f} ms')
    print(f'wall, import celery (minus start-up):  {wall_ms("import celery") - baseline:7.1f} ms')
    print(f'wall, Celery("x") (minus start-up):    {wall_ms(construct) - baseline:7.1f} ms'
          '   (target < 70 ms; Celery 5.7: ~140 ms)')
    print(f'modules loaded by Celery("x"):         {module_count(construct):7d}'
          '      (Celery 5.7: 313)')


if __name__ == '__main__':
    main()
