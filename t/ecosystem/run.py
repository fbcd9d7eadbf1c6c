"""Run the test suites of packages built on Celery against this project (`make test-ecosystem`).

Each package's sdist is downloaded (pip, from PyPI) into ``.ecosystem/``
and unpacked; its own tests then run with the interpreter running this
script, in which the packages are installed with ``--no-deps`` so the
``celery`` they import is ours.  The run fails when fewer tests pass than
with Celery 5.7 in the same setting, or when a test fails that is not
listed below with the reason it fails.
"""
from __future__ import annotations

import subprocess
import sys
import tarfile
import tempfile
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
WORK = ROOT / '.ecosystem'

# Celery 5.7 fails 13 of django-celery-results' 50 tests in this setting too.
_SQLITE = ('the suite falls back to SQLite without psycopg2cffi, and this test needs '
           'PostgreSQL with separate database aliases')
_PROTOCOL_1 = ('converts a protocol 1 message (hybrid_to_proto2) and expects no '
               'argument repr to be stored (None); one is stored')


@dataclass
class Suite:
    """A package's own test suite and what it gives with Celery 5.7."""

    package: str
    version: str
    args: list[str]
    celery_57_passes: int
    celery_57_total: int
    known_failures: dict[str, str] = field(default_factory=dict)

    @property
    def directory(self) -> Path:
        return WORK / f'{self.package.replace("-", "_")}-{self.version}'


SUITES = [
    Suite('django-celery-results', '2.6.0', [], 37, 50, {
        'test_backend__pickle_serialization__dict_result__protocol_1': _PROTOCOL_1,
        'test_backend__pickle_serialization__str_result__protocol_1': _PROTOCOL_1,
        'test_backend__pickle_serialization__bytes_result__protocol_1': _PROTOCOL_1,
        'test_backend__json_serialization__dict_result__protocol_1': _PROTOCOL_1,
        'test_backend__json_serialization__str_result__protocol_1': _PROTOCOL_1,
        'test_backend__task_result_meta_injection': _PROTOCOL_1,
        'test_secrets__pickle_serialization__protocol_1': _PROTOCOL_1,
        'test_secrets__json_serialization__protocol_1': _PROTOCOL_1,
        'test_retry_store_result_fails': _SQLITE + ' (a read-only mirror)',
        'test_retry_store_result_succeeds': _SQLITE + ' (a read-only mirror)',
        'test_store_group_result': _SQLITE + ' ("secondary")',
        'test_store_result': _SQLITE + ' ("secondary")',
        'test_on_chord_part_return_multiple_databases': _SQLITE,
    }),
    Suite('django-celery-beat', '2.9.0', [], 127, 128, {
        'test_heap_always_return_the_first_item': (
            "asserts Celery's behaviour of a disabled entry at the head of the heap blocking "
            'the due entries behind it; this beat re-times a head that is not due, so the '
            'due entry runs'),
    }),
    Suite('celery-redbeat', '2.4.2', ['tests'], 82, 85, {
        'test_generate_key': ("the suite's base case sets redbeat_key_prefix='rb-tests' and this "
                              "test expects the default 'redbeat:'; fails with Celery 5.7 too"),
    }),
]


def fetch(suite: Suite) -> None:
    """Download and unpack the package's sdist (once)."""
    if suite.directory.exists():
        return
    sdists = WORK / 'sdists'
    subprocess.run([sys.executable, '-m', 'pip', 'download', '-q', '--no-binary', ':all:',
                    '--no-deps', f'{suite.package}=={suite.version}', '-d', str(sdists)],
                   check=True)
    prefix = suite.directory.name
    archive = next(p for p in sdists.glob('*.tar.gz')
                   if p.name.replace('-', '_').startswith(prefix.replace('-', '_')))
    with tarfile.open(archive) as tar:
        tar.extractall(WORK, filter='data')


def run(suite: Suite) -> bool:
    """Run one suite; print its outcome with each failure explained; True if it is as good."""
    fetch(suite)
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / 'report.xml'
        subprocess.run([sys.executable, '-m', 'pytest', '-q', '-p', 'no:cacheprovider',
                        f'--junitxml={report}', *suite.args],
                       cwd=suite.directory, stdout=subprocess.DEVNULL, check=False)
        passed, failed, skipped = outcomes(report)
    total = passed + len(failed) + skipped
    print(f'== {suite.package} {suite.version}: {passed} of {total} pass '
          f'({len(failed)} failed, {skipped} skipped); Celery 5.7: '
          f'{suite.celery_57_passes} of {suite.celery_57_total}')
    unexplained = []
    for name in failed:
        reason = suite.known_failures.get(name.rpartition('::')[2])
        print(f'   FAILED {name}: {reason or "UNEXPECTED"}')
        if reason is None:
            unexplained.append(name)
    return passed >= suite.celery_57_passes and not unexplained


def outcomes(report: Path) -> tuple[int, list[str], int]:
    """Passed count, failed test ids and skipped count from a JUnit XML report."""
    passed, failed, skipped = 0, [], 0
    for case in ET.parse(report).iter('testcase'):
        name = f'{case.get("classname")}::{case.get("name")}'
        if case.find('failure') is not None or case.find('error') is not None:
            failed.append(name)
        elif case.find('skipped') is not None:
            skipped += 1
        else:
            passed += 1
    return passed, failed, skipped


def check_pytest_celery() -> bool:
    """pytest-celery ships no tests: it must import and register its plugin."""
    with tempfile.TemporaryDirectory() as tmp:
        test = Path(tmp) / 'test_plugin.py'
        test.write_text(
            'import celery, pytest_celery\n\n'
            'def test_plugin_registered(request):\n'
            "    plugin = request.config.pluginmanager.get_plugin('celery')\n"
            "    assert plugin is not None and plugin.__name__ == 'pytest_celery.plugin'\n"
            f'    assert celery.__file__.startswith({str(ROOT)!r})\n')
        proc = subprocess.run([sys.executable, '-m', 'pytest', '-q', '-p', 'no:cacheprovider',
                               str(test)], cwd=tmp, capture_output=True, text=True, check=False)
    ok = proc.returncode == 0
    print(f'== pytest-celery: plugin {"registered" if ok else "NOT registered"}')
    if not ok:
        print(proc.stdout[-3000:], proc.stderr[-3000:])
    return ok


def check_integration() -> bool:
    """Our own tests that use these packages as a user does, on the real servers."""
    # -rfEs: each failure, error and skip listed with its reason at the end.
    proc = subprocess.run([sys.executable, '-m', 'pytest', '-q', '-rfEs', '-p',
                           'no:cacheprovider', 't/integration/ecosystem'],
                          cwd=ROOT, check=False)
    print(f'== t/integration/ecosystem: {"passed" if proc.returncode == 0 else "FAILED"}')
    return proc.returncode == 0


def main(names: list[str]) -> int:
    WORK.mkdir(exist_ok=True)
    results = [run(suite) for suite in SUITES if not names or suite.package in names]
    if not names or 'pytest-celery' in names:
        results.append(check_pytest_celery())
    if not names or 'integration' in names:
        results.append(check_integration())
    return 0 if all(results) else 1


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
