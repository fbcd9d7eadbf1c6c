"""The documentation builds without reStructuredText errors."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[2] / 'docs'


def test_docs_build_without_errors(tmp_path):
    pytest.importorskip('sphinx')
    proc = subprocess.run(
        [sys.executable, '-m', 'sphinx', '-q', '-b', 'html', str(DOCS), str(tmp_path)],
        capture_output=True, text=True, timeout=600)
    errors = [line for line in proc.stderr.splitlines() if 'ERROR' in line or 'CRITICAL' in line]
    assert proc.returncode == 0 and not errors, '\n'.join(errors) or proc.stderr[-3000:]
