"""``celery upgrade settings``: rename pre-4.0 setting names to the current ones."""
from __future__ import annotations

import io
import re
import shutil
import sys
import tokenize
from collections.abc import Callable, Mapping

import click

from celery.bin.base import CeleryCommand, CeleryOption, handle_preload_options

__all__ = ('upgrade', 'settings', 'upgrade_lines')


def _compat_key(key: str, namespace: str = 'CELERY') -> str:
    """Return ``key`` in Django style: uppercase with a ``CELERY_`` prefix."""
    key = key.upper()
    return key if key.startswith(namespace) else f'{namespace}_{key}'


def _keep(key: str) -> str:
    return key


def _old_key_pattern(source: Mapping[str, str]) -> re.Pattern[str]:
    # Longest first so BROKER_TRANSPORT_OPTIONS isn't matched as BROKER_TRANSPORT.
    names = sorted(source, key=len, reverse=True)
    return re.compile(r'\b(' + '|'.join(map(re.escape, names)) + r')\b')


def upgrade_lines(lines: list[str], keyfilter: Callable[[str], str] = _keep,
                  source: Mapping[str, str] | None = None) -> tuple[bool, list[str]]:
    """Rename old setting names in ``lines``; return ``(changed, new_lines)``."""
    if source is None:
        from celery.app.defaults import _TO_NEW_KEY as source
    pattern = _old_key_pattern(source)
    changed = False
    out = []
    for line in lines:
        new_line = pattern.sub(lambda m: keyfilter(source[m.group(1)]), line)
        changed = changed or new_line != line
        out.append(new_line)
    return changed, out


def _decode_source(filename: str, raw: bytes) -> tuple[str, list[str]]:
    """The file's encoding (BOM or coding cookie) and its lines, line endings kept."""
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(raw).readline)
        text = raw.decode(encoding)
    except (SyntaxError, LookupError, UnicodeDecodeError) as exc:
        raise click.FileError(filename, hint=f'cannot decode it: {exc}') from exc
    return encoding, text.splitlines(keepends=True)


@click.group()
@click.pass_context
@handle_preload_options
def upgrade(ctx: click.Context) -> None:
    """Perform upgrade between versions."""


@upgrade.command(cls=CeleryCommand)
@click.argument('filename')
@click.option('--django', cls=CeleryOption, is_flag=True, help_group='Upgrading Options',
              help='Upgrade Django project.')
@click.option('--compat', cls=CeleryOption, is_flag=True, help_group='Upgrading Options',
              help='Maintain backwards compatibility.')
@click.option('--no-backup', cls=CeleryOption, is_flag=True, help_group='Upgrading Options',
              help="Don't backup original files.")
def settings(filename: str, django: bool, compat: bool, no_backup: bool) -> None:
    """Migrate settings from Celery 3.x to Celery 4.x."""
    try:
        with open(filename, 'rb') as fh:
            raw = fh.read()
    except OSError as exc:
        raise click.FileError(filename, hint=exc.strerror) from exc
    encoding, lines = _decode_source(filename, raw)
    print(f'processing {filename}...', file=sys.stderr)
    changed, new_lines = upgrade_lines(lines, _compat_key if django or compat else _keep)
    if not changed:
        print('Does not seem to require any changes :-)')
        return
    if not no_backup:
        print(f'writing backup to {filename}.orig...', file=sys.stderr)
        shutil.copyfile(filename, f'{filename}.orig')
    # Bytes out, as they came in: CRLF stays CRLF, the encoding (and BOM) stay.
    with open(filename, 'wb') as fh:
        fh.write(''.join(new_lines).encode(encoding))
    print('Changes to your setting have been made!')
