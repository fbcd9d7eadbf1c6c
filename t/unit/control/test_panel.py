"""Worker-side commands, the Panel registry, the client and CLI argument mapping."""
from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import click
import pytest

from celery.app.control import flatten_reply
from celery.bin.control import _compile_arguments
from celery.exceptions import DuplicateNodenameWarning, WorkerShutdown
from celery.worker import control, state as worker_state
from celery.worker.control import Panel, control_command, inspect_command


@pytest.fixture
def panel_state(app):
    app.task(name='ctltest.add', rate_limit='5/s')(lambda x, y: x + y)
    consumer = SimpleNamespace(reset_rate_limits=lambda: None, event_dispatcher=None,
                               controller=SimpleNamespace(autoscaler=None),
                               task_consumer=None, timer=None)
    yield SimpleNamespace(app=app, hostname='w1@x', consumer=consumer)
    worker_state.reset_state()


def call(name: str, state: Any, **kwargs: Any) -> Any:
    return Panel.data[name](state, **kwargs)


def test_every_surface_command_is_registered() -> None:
    inspect = {'report', 'conf', 'query_task', 'clock', 'hello', 'ping', 'stats',
               'scheduled', 'reserved', 'active', 'revoked', 'registered', 'objgraph',
               'memsample', 'memdump', 'active_queues'}
    controls = {'revoke', 'revoke_by_stamped_headers', 'terminate', 'rate_limit',
                'time_limit', 'election', 'enable_events', 'disable_events', 'heartbeat',
                'pool_grow', 'pool_shrink', 'pool_restart', 'autoscale', 'shutdown',
                'add_consumer', 'cancel_consumer'}
    assert {n for n, m in Panel.meta.items() if m.type == 'inspect'} >= inspect
    assert {n for n, m in Panel.meta.items() if m.type == 'control'} >= controls
    for alias in ('dump_conf', 'dump_schedule', 'dump_reserved', 'dump_active',
                  'dump_revoked', 'dump_tasks'):
        assert alias in Panel.data
    assert not Panel.meta['hello'].visible and Panel.meta['ping'].default_timeout == 0.2


def test_user_defined_commands_register_with_typed_args() -> None:
    @control_command(args=[('n', int)], signature='[N=1]')
    def bump_for_test(state: Any, n: int = 1) -> dict:
        """Bump something."""
        return {'ok': n}

    @inspect_command()
    def look_for_test(state: Any) -> dict:
        return {'ok': 'looked'}

    meta = Panel.meta['bump_for_test']
    assert meta.type == 'control' and meta.help == 'Bump something.' and meta.args == [('n', int)]
    assert Panel.meta['look_for_test'].type == 'inspect'
    assert _compile_arguments(meta, 'bump_for_test', ['3']) == {'n': 3}
    assert Panel.data['bump_for_test'](None, n=3) == {'ok': 3}


def test_cli_argument_mapping() -> None:
    assert _compile_arguments(Panel.meta['rate_limit'], 'rate_limit', ['ctltest.add', '5/s']) == {
        'task_name': 'ctltest.add', 'rate_limit': '5/s'}
    assert _compile_arguments(Panel.meta['revoke'], 'revoke', ['a', 'b']) == {
        'task_id': ['a', 'b']}
    assert _compile_arguments(Panel.meta['terminate'], 'terminate', ['KILL', 'a']) == {
        'signal': 'KILL', 'task_id': ['a']}
    with pytest.raises(click.UsageError, match='takes arguments'):
        _compile_arguments(Panel.meta['ping'], 'ping', ['extra'])
    with pytest.raises(click.UsageError, match='Bad value'):
        _compile_arguments(Panel.meta['pool_grow'], 'pool_grow', ['many'])


def test_revoke_adds_to_revoked(panel_state) -> None:
    reply = call('revoke', panel_state, task_id=['a', 'b'])
    assert 'flagged as revoked' in reply['ok']
    assert {'a', 'b'} <= set(worker_state.revoked)
    assert call('revoke', panel_state, task_id='c', terminate=True) == {
        'ok': 'terminate: tasks unknown'}
    assert set(call('revoked', panel_state)) >= {'a', 'b', 'c'}


def test_revoke_by_stamped_headers(panel_state) -> None:
    reply = call('revoke_by_stamped_headers', panel_state, headers=['stamp=v1'])
    assert 'flagged as revoked' in reply['ok']
    assert worker_state.revoked_stamps['stamp'] == ['v1']


def test_rate_and_time_limits(panel_state) -> None:
    assert call('rate_limit', panel_state, task_name='ctltest.add', rate_limit='1/m') == {
        'ok': 'new rate limit set successfully'}
    assert panel_state.app.tasks['ctltest.add'].rate_limit == '1/m'
    assert call('rate_limit', panel_state, task_name='nope', rate_limit='1/m') == {
        'error': 'unknown task'}
    assert 'Invalid rate limit' in call('rate_limit', panel_state, task_name='ctltest.add',
                                        rate_limit='1/fortnight')['error']
    assert call('time_limit', panel_state, task_name='ctltest.add', soft=1, hard=2)['ok']
    assert panel_state.app.tasks['ctltest.add'].time_limit == 2


def test_events_toggle(panel_state) -> None:
    dispatcher = SimpleNamespace(groups={'worker'}, sent=[])
    dispatcher.send = lambda type_, **fields: dispatcher.sent.append((type_, fields))
    panel_state.consumer.event_dispatcher = dispatcher
    assert call('enable_events', panel_state) == {'ok': 'task events enabled'}
    assert dispatcher.groups == {'worker', 'task'}
    assert call('disable_events', panel_state) == {'ok': 'task events disabled'}
    assert call('disable_events', panel_state) == {'ok': 'task events already disabled'}
    dispatcher.groups = set()  # -E: every group
    assert call('disable_events', panel_state) == {'ok': 'task events disabled'}
    assert dispatcher.groups == {'worker'}
    call('heartbeat', panel_state)
    assert dispatcher.sent[0][0] == 'worker-heartbeat' and dispatcher.sent[0][1]['freq'] == 5


def test_inspect_replies(panel_state) -> None:
    assert call('ping', panel_state) == {'ok': 'pong'}
    assert isinstance(call('clock', panel_state)['clock'], int)
    assert 'ctltest.add [rate_limit=5/s]' in call('registered', panel_state)
    assert 'ctltest.add [name=ctltest.add]' in call('registered', panel_state, taskinfoitems=['name'])
    conf = call('conf', panel_state)
    assert not any(key.startswith('__') for key in conf)
    assert call('active', panel_state) == [] and call('reserved', panel_state) == []
    assert call('query_task', panel_state, ids=['x']) == {}
    assert call('active_queues', panel_state) == []
    assert call('hello', panel_state, from_node='w1@x') is None
    hello = call('hello', panel_state, from_node='w2@x', revoked={'r': [1.0, 'r']})
    assert 'r' in hello['revoked'] and hello['clock'] > 0


def test_refusals_are_errors_not_crashes(panel_state) -> None:
    panel_state.app.conf.worker_pool_restarts = False
    assert 'not enabled' in call('pool_restart', panel_state)['error']
    assert 'Autoscale not enabled' in call('autoscale', panel_state, max=2, min=1)['error']
    panel_state.consumer.controller.autoscaler = object()
    assert 'autoscale' in call('pool_grow', panel_state)['error']
    with pytest.raises(WorkerShutdown):
        call('shutdown', panel_state)


def test_flatten_reply_warns_on_duplicate_nodes() -> None:
    assert flatten_reply([{'a': 1}, {'b': 2}]) == {'a': 1, 'b': 2}
    with pytest.warns(DuplicateNodenameWarning):
        flatten_reply([{'a': 1}, {'a': 2}])


def test_control_client_builds_broadcasts(app) -> None:
    sent = []
    app.control.broadcast = lambda command, **kw: sent.append((command, kw))
    app.control.revoke('id', terminate=True, signal='KILL')
    app.control.rate_limit('ctltest.add', '1/s', destination=['w1'])
    app.control.add_consumer('q', options={'queue_arguments': {'x': 1}})
    app.control.pool_grow(2)
    app.control.autoscale(4, 1)
    assert sent[0] == ('revoke', {'destination': None, 'arguments': {
        'task_id': 'id', 'terminate': True, 'signal': 'KILL'}})
    assert sent[1][1]['destination'] == ['w1']
    assert sent[2][1]['arguments']['queue_arguments'] == {'x': 1}
    assert sent[3][1]['arguments'] == {'n': 2}
    assert sent[4][1]['arguments'] == {'max': 4, 'min': 1}


def test_inspect_flattens_and_single_destination(app) -> None:
    app.control.broadcast = lambda command, **kw: [{'w1': {'ok': 'pong'}}]
    assert app.control.inspect().ping() == {'w1': {'ok': 'pong'}}
    assert app.control.inspect(destination='w1').ping() == {'ok': 'pong'}
    app.control.broadcast = lambda command, **kw: []
    assert app.control.inspect().ping() is None
    _ = control  # module imported for registration
