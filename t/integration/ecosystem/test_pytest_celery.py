"""pytest-celery, installed next to this project, loads as a pytest plugin."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip('pytest_celery')

ROOT = Path(__file__).resolve().parents[3]

PLUGIN_TEST = f'''
import celery

def test_plugin_registered(request):
    plugin = request.config.pluginmanager.get_plugin('celery')
    assert plugin is not None and plugin.__name__ == 'pytest_celery.plugin'
    assert celery.__file__.startswith({str(ROOT)!r})
'''


def test_pytest_celery_registers_its_plugin(tmp_path: Path) -> None:
    (tmp_path / 'test_plugin.py').write_text(PLUGIN_TEST)
    proc = subprocess.run([sys.executable, '-m', 'pytest', '-q', '-p', 'no:cacheprovider',
                           'test_plugin.py'], cwd=tmp_path, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
