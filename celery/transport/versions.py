"""The dependency versions the fast path is tested on, and the check against them.

The owned transports, the owned pool and the few owned modules that extend a
dependency class (each says so at its top) rely on internals of kombu,
py-amqp and billiard that no release promises to keep.  They are tested on
the ranges below: the lowest of each by ``make test-lowest``
(``requirements/lowest.txt``), the highest by ``make test``.  Outside them
the project falls back to the stock kombu transports
(:func:`celery.transport.fast_path_enabled` asks :func:`supported`) and logs
one warning per process, which the worker brings forward to its start
(:meth:`celery.worker.WorkController.setup_instance`).

The install ranges in ``requirements/default.txt`` are wider (up to the next
major release): the stock path uses only the public API.
"""
from __future__ import annotations

import importlib.metadata
from typing import NamedTuple

from celery.utils.log import get_logger

__all__ = ('TESTED', 'OutOfRange', 'VersionRange', 'check_installed_versions',
           'out_of_range', 'parse_version', 'supported')

logger = get_logger(__name__)

Version = tuple[int, ...]


class VersionRange(NamedTuple):
    """A tested range: ``low <= version < high``, less the versions in ``excluded``."""

    low: Version
    high: Version
    excluded: tuple[Version, ...] = ()

    def __contains__(self, version: object) -> bool:
        return (isinstance(version, tuple) and self.low <= version < self.high
                and version not in self.excluded)

    def __str__(self) -> str:
        text = f'>={_dotted(self.low)},<{_dotted(self.high)}'
        return ''.join([text, *(f',!={_dotted(v)}' for v in self.excluded)])


class OutOfRange(NamedTuple):
    """An installed distribution outside its tested range."""

    name: str
    version: str
    tested: VersionRange

    def __str__(self) -> str:
        return f'{self.name} {self.version} (tested: {self.tested})'


#: Distribution name -> the range the fast path is tested on.  Raising a high
#: bound goes with a `make test` run on that release; lowering a low bound
#: with the same pin in requirements/lowest.txt and a `make test-lowest` run.
TESTED: dict[str, VersionRange] = {
    'kombu': VersionRange((5, 7, 0), (5, 8)),
    'amqp': VersionRange((5, 4, 2), (5, 5)),
    'billiard': VersionRange((4, 3, 1), (4, 4)),
    'vine': VersionRange((5, 1, 0), (5, 2)),
    'redis': VersionRange((6, 4, 0), (8, 3)),
}


def _dotted(version: Version) -> str:
    return '.'.join(map(str, version))


def parse_version(text: str) -> Version | None:
    """The release numbers of a version string (``'5.7.0rc1'`` -> ``(5, 7, 0)``), None if none.

    A pre-release counts as its release: close enough for a range of
    tested minor versions.
    """
    parts: list[int] = []
    for piece in text.split('.'):
        digits = ''
        for char in piece:
            if not char.isdigit():
                break
            digits += char
        if not digits:
            break
        parts.append(int(digits))
        if len(digits) != len(piece):
            break   # '0rc1': the release number ends here
    return tuple(parts) or None


def _installed(name: str) -> str | None:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def out_of_range(tested: dict[str, VersionRange] | None = None) -> list[OutOfRange]:
    """The installed distributions outside their ``tested`` range (not installed ones are fine)."""
    found = []
    for name, versions in (TESTED if tested is None else tested).items():
        installed = _installed(name)
        if installed is None:
            continue   # redis-py is optional: the fast path does not need it
        version = parse_version(installed)
        if version is None or version not in versions:
            found.append(OutOfRange(name, installed, versions))
    return found


_checked: list[OutOfRange] | None = None


def check_installed_versions() -> list[OutOfRange]:
    """Check the installed versions once per process; warn once if any is outside its range."""
    global _checked
    if _checked is None:
        _checked = out_of_range()
        if _checked:
            logger.warning(
                'Untested dependency versions: %s. The fast path is off: '
                'kombu\'s stock transports are used (see "Supported versions" '
                'in the user guide).', ', '.join(map(str, _checked)))
    return _checked


def supported() -> bool:
    """Whether every installed dependency is in its tested range (the check runs once)."""
    return not check_installed_versions()
