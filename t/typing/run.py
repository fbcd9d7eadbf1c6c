"""Check the typing suite: each file here is run through mypy (and pyright, if installed).

Expectations are comments on the line they are about:

* ``# N: Revealed type is "..."``: mypy's note for a ``reveal_type()`` there;
* ``# E: <message>``: mypy must report this error there (the code in
  brackets may be left out); pyright only has to report *an* error.

Any other error or note fails the run.  Exit status 0 when every file
matches, 1 otherwise.  Usage: ``python t/typing/run.py [FILE...]``.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections import defaultdict

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))

EXPECT_RE = re.compile(r'#\s*([NE]):\s*(.*?)\s*$')
MYPY_RE = re.compile(r'^(?P<path>[^:]+):(?P<line>\d+): (?P<kind>error|note): (?P<text>.*?)'
                     r'(?:  \[[a-z0-9-]+\])?$')

Findings = dict[tuple[str, int], list[tuple[str, str]]]


def case_files() -> list[str]:
    """The suite's files: every module here but this runner."""
    return sorted(os.path.join(HERE, name) for name in os.listdir(HERE)
                  if name.endswith('.py') and name not in ('run.py', '__init__.py'))


def normalize(text: str) -> str:
    """Drop what mypy prints differently for the same type.

    ``builtins.`` prefixes vary with the version; a ``...`` parameter list
    prints as ``[*Any, **Any]`` when the type comes from mypy's cache.
    """
    return text.replace('builtins.', '').replace('[[*Any, **Any], ', '[..., ').strip()


def expectations(paths: list[str]) -> Findings:
    """``(path, line) -> [(kind, text)]`` from the files' ``# N:``/``# E:`` comments."""
    found: Findings = defaultdict(list)
    for path in paths:
        with open(path, encoding='utf-8') as source:
            for lineno, line in enumerate(source, 1):
                match = EXPECT_RE.search(line)
                if match:
                    kind = 'note' if match.group(1) == 'N' else 'error'
                    found[(os.path.abspath(path), lineno)].append((kind, normalize(match.group(2))))
    return found


def run_mypy(paths: list[str]) -> tuple[Findings, str]:
    """Mypy's errors and notes on ``paths`` (strict; the library's own errors are not shown)."""
    # The suite's own settings, not the project's (which lists the library's
    # modules that are not strict yet): these files must pass strict mode.
    cmd = [sys.executable, '-m', 'mypy', '--config-file', '', '--strict',
           '--follow-imports=silent', '--ignore-missing-imports', '--no-error-summary',
           '--hide-error-context', '--no-pretty', '--show-absolute-path',
           '--cache-dir', os.path.join(ROOT, '.mypy_cache'), *paths]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    found: Findings = defaultdict(list)
    for line in proc.stdout.splitlines():
        match = MYPY_RE.match(line)
        if match:
            key = (os.path.abspath(match.group('path')), int(match.group('line')))
            found[key].append((match.group('kind'), normalize(match.group('text'))))
    return found, proc.stdout + proc.stderr


def compare(expected: Findings, actual: Findings) -> list[str]:
    """Every difference between expected and reported findings, as readable lines."""
    problems = []
    for key in sorted(set(expected) | set(actual)):
        want, got = expected.get(key, []), actual.get(key, [])
        path, line = key
        where = f'{os.path.relpath(path, ROOT)}:{line}'
        for kind, text in want:
            # ``# E:`` may leave out the end of the message (e.g. its code).
            if not any(k == kind and (g == text or g.startswith(text)) for k, g in got):
                problems.append(f'{where}: expected {kind} {text!r}, got {got!r}')
        for kind, text in got:
            if not any(k == kind and (text == w or text.startswith(w)) for k, w in want):
                problems.append(f'{where}: unexpected {kind} {text!r}')
    return problems


def pyright_command() -> list[str] | None:
    """How to run pyright here, or None: it is optional (it needs Node.js)."""
    exe = shutil.which('pyright')
    return [exe] if exe else None


def run_pyright(cmd: list[str], paths: list[str], expected: Findings) -> list[str]:
    """Pyright must report an error on each ``# E:`` line and nowhere else."""
    proc = subprocess.run([*cmd, '--outputjson', *paths], capture_output=True, text=True,
                          cwd=ROOT)
    report = json.loads(proc.stdout or '{}')
    errors = {(os.path.abspath(d['file']), d['range']['start']['line'] + 1)
              for d in report.get('generalDiagnostics', []) if d.get('severity') == 'error'}
    wanted = {key for key, items in expected.items() if any(k == 'error' for k, _ in items)}
    problems = [f'pyright: no error at {os.path.relpath(p, ROOT)}:{n}'
                for p, n in sorted(wanted - errors)]
    problems += [f'pyright: unexpected error at {os.path.relpath(p, ROOT)}:{n}'
                 for p, n in sorted(errors - wanted)]
    return problems


def main(argv: list[str]) -> int:
    """Run the suite; print each mismatch and a summary line."""
    paths = [os.path.abspath(p) for p in argv] or case_files()
    expected = expectations(paths)
    actual, output = run_mypy(paths)
    problems = compare(expected, actual)
    if not actual and output.strip():
        problems.append(f'mypy printed nothing it could parse:\n{output}')
    pyright = pyright_command()
    if pyright is not None:
        problems += run_pyright(pyright, paths, expected)
    for problem in problems:
        print(problem)
    checked = sum(len(items) for items in expected.values())
    print(f'typing suite: {len(paths)} files, {checked} expectations, '
          f'{len(problems)} problems{"" if pyright else " (pyright not installed: skipped)"}')
    return 1 if problems else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
