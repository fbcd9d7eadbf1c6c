"""The "First steps with Django" page as files: its captioned code blocks, written out."""
from __future__ import annotations

import re
from pathlib import Path

GUIDE = Path(__file__).resolve().parents[3] / 'docs' / 'getting-started' / 'django.rst'

_BLOCK = re.compile(
    r'^\.\. code-block:: python\n    :caption: (?P<path>\S+)\n\n(?P<body>(?:    .*\n|\n)+)',
    re.MULTILINE)


def guide_files(guide: Path = GUIDE) -> dict[str, str]:
    """Map each captioned block's path (``proj/...``) to its dedented source."""
    files = {}
    for match in _BLOCK.finditer(guide.read_text()):
        lines = match['body'].rstrip('\n').split('\n')
        files[match['path']] = '\n'.join(line[4:] for line in lines) + '\n'
    return files


def write_project(root: Path, guide: Path = GUIDE) -> Path:
    """Write the guide's project under ``root``; return the directory holding manage.py."""
    for relative, source in guide_files(guide).items():
        target = root / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(source)
    # The page says so in prose: the app package's __init__ is empty.
    (root / 'proj' / 'demoapp' / '__init__.py').touch()
    return root / 'proj'
