"""Sub-commands from other packages (entry-point group ``celery.commands``)."""
from __future__ import annotations

import importlib.metadata

import click
from click.testing import CliRunner

from celery.bin.celery import celery


@click.command()
def hello() -> None:
    """Say hello."""
    click.echo('hello from a plug-in')


class FakeEntryPoint:
    def __init__(self, name: str, target: object, fail: bool = False) -> None:
        self.name, self.value, self._target, self._fail = name, 'pkg.mod:cmd', target, fail

    def load(self) -> object:
        if self._fail:
            raise ImportError('no module named pkg')
        return self._target


def install(monkeypatch, *eps: FakeEntryPoint) -> None:
    def entry_points(group: str):
        assert group == 'celery.commands'
        return list(eps)
    monkeypatch.setattr(importlib.metadata, 'entry_points', entry_points)
    monkeypatch.setattr(celery, '_plugin_entry_points', None)
    monkeypatch.setattr(celery, 'commands', dict(celery.commands))


def test_plugin_command_runs(monkeypatch):
    install(monkeypatch, FakeEntryPoint('hello', hello))
    result = CliRunner().invoke(celery, ['hello'])
    assert result.exit_code == 0, result.output
    assert 'hello from a plug-in' in result.output


def test_plugin_listed_in_help(monkeypatch):
    install(monkeypatch, FakeEntryPoint('hello', hello))
    assert 'hello' in CliRunner().invoke(celery, ['--help']).output


def test_broken_plugin_says_why_and_cli_still_works(monkeypatch):
    install(monkeypatch, FakeEntryPoint('broken', hello, fail=True))
    result = CliRunner().invoke(celery, ['broken'])
    assert result.exit_code != 0
    assert "could not be loaded" in result.output and 'no module named pkg' in result.output
    assert CliRunner().invoke(celery, ['report', '--help']).exit_code == 0
