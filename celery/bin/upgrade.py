"""``celery upgrade settings``: rename pre-4.0 setting names to the current ones."""
from __future__ import annotations

import re
import shutil
import sys
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
        with open(filename, encoding='utf-8') as fh:
            lines = fh.readlines()
    except OSError as exc:
        raise click.FileError(filename, hint=exc.strerror) from exc
    print(f'processing {filename}...', file=sys.stderr)
    changed, new_lines = upgrade_lines(lines, _compat_key if django or compat else _keep)
    if not changed:
        print('Does not seem to require any changes :-)')
        return
    if not no_backup:
        print(f'writing backup to {filename}.orig...', file=sys.stderr)
        shutil.copyfile(filename, f'{filename}.orig')
    with open(filename, 'w', encoding='utf-8') as fh:
        fh.writelines(new_lines)
    print('Changes to your setting have been made!')
