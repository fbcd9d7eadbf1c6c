"""Every inspect and control command against two real workers, on RabbitMQ and Redis."""
from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest

from t.conftest import AMQP_URL, REDIS_URL
from t.integration.control.cluster import (
    HERE, WorkerProcess, environment, load_app, new_unique, wait_for,
)


class Cluster:
    """Two workers and a client app sharing unique exchange and queue names."""

    def __init__(self, broker: str) -> None:
        self.broker = broker
        self.unique = new_unique()
        self.module = load_app(broker, self.unique)
        self.app = self.module.app
        self.workers = [WorkerProcess(broker, self.unique, name) for name in ('w1', 'w2')]
        self.names = [w.hostname for w in self.workers]

    def start(self) -> Cluster:
        for worker in self.workers:
            worker.wait_ready()
        # Both nodes answer before any test runs.
        assert wait_for(lambda: len(self.app.control.ping(timeout=0.5) or []) == 2, 20)
        return self

    def inspect(self, **kwargs):
        """Inspect both nodes, returning as soon as both replied."""
        kwargs.setdefault('timeout', 3.0)
        kwargs.setdefault('limit', len(kwargs.get('destination') or self.names))
        return self.app.control.inspect(**kwargs)

    def stop(self) -> None:
        try:
            for worker in self.workers:
                worker.stop()
        finally:
            for worker in self.workers:
                if worker.proc.poll() is None:
                    worker.proc.kill()
            self.app.close()

    def cli(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, '-m', 'celery', '-A', 'ctlapp', '--no-color', *args],
            env=environment(self.broker, self.unique), cwd=str(HERE),
            capture_output=True, text=True, timeout=60)


@pytest.fixture(scope='module', params=['amqp', 'redis'])
def cluster(request: pytest.FixtureRequest):
    cluster = Cluster(AMQP_URL if request.param == 'amqp' else REDIS_URL)
    try:
        yield cluster.start()
    finally:
        cluster.stop()


def test_ping_reaches_both_workers(cluster: Cluster) -> None:
    replies = cluster.app.control.ping(timeout=3.0, limit=2)
    assert sorted(replies, key=lambda r: next(iter(r))) == [
        {name: {'ok': 'pong'}} for name in sorted(cluster.names)]
    assert cluster.inspect().ping() == {
        name: {'ok': 'pong'} for name in cluster.names}


def test_destination_filtering(cluster: Cluster) -> None:
    w1, w2 = cluster.names
    assert cluster.inspect(destination=[w1]).ping() == {w1: {'ok': 'pong'}}
    assert cluster.app.control.ping(destination=[w2]) == [{w2: {'ok': 'pong'}}]
    # A single name (not a list) returns that node's reply alone.
    assert cluster.app.control.inspect(destination=w1).clock()['clock'] > 0


def test_dead_node_times_out(cluster: Cluster) -> None:
    started = time.monotonic()
    assert cluster.app.control.inspect(destination=['ghost@nowhere'], timeout=0.3).ping() is None
    assert time.monotonic() - started < 3


def test_limit_stops_waiting(cluster: Cluster) -> None:
    started = time.monotonic()
    replies = cluster.app.control.ping(timeout=5, limit=1)
    assert len(replies) == 1
    assert time.monotonic() - started < 4


def test_every_inspect_command(cluster: Cluster) -> None:
    inspect = cluster.inspect()
    names = set(cluster.names)
    stats = inspect.stats()
    assert set(stats) == names
    for reply in stats.values():
        assert {'total', 'pid', 'clock', 'uptime', 'pool', 'broker', 'prefetch_count',
                'rusage'} <= set(reply)
        assert reply['pool']['max-concurrency'] == 2
        assert 'password' not in reply['broker']
    for reply in inspect.registered().values():
        assert 'ctl.add' in ' '.join(reply)
        assert not any(line.startswith('celery.') for line in reply)
    for reply in inspect.active_queues().values():
        assert [q['name'] for q in reply] == [f'ctlq-{cluster.unique}']
    assert set(inspect.report()) == names
    assert all('ok' in reply for reply in inspect.report().values())
    conf = inspect.conf()
    assert all(r['control_exchange'] == f'ctl-{cluster.unique}' for r in conf.values())
    assert all(isinstance(r['clock'], int) for r in inspect.clock().values())
    for method in ('scheduled', 'reserved', 'active', 'revoked'):
        assert set(getattr(inspect, method)()) == names, method
    assert all(isinstance(r, str) for r in inspect.memsample().values())
    assert set(inspect.memdump()) == names
    assert inspect.query_task('no-such-id') == {name: {} for name in names}


def test_scheduled_and_query_task(cluster: Cluster) -> None:
    result = cluster.module.add.apply_async((1, 2), countdown=30)
    inspect = cluster.inspect()
    found = wait_for(lambda: [e for r in (inspect.scheduled() or {}).values() for e in r
                              if e['request']['id'] == result.id], 10)
    assert found and found[0]['eta'] and found[0]['request']['name'] == 'ctl.add'
    queried = inspect.query_task(result.id)
    states = [r[result.id][0] for r in queried.values() if r]
    assert states == ['reserved']
    cluster.app.control.revoke(result.id)
    assert wait_for(lambda: all(result.id in r for r in inspect.revoked().values()), 5)


def test_control_commands(cluster: Cluster) -> None:
    control = cluster.app.control
    w1 = cluster.names[0]

    def ask(command: str, **kwargs):
        return control.broadcast(command, arguments=kwargs, destination=[w1],
                                 reply=True, timeout=3.0, limit=1)[0][w1]

    assert ask('rate_limit', task_name='ctl.add', rate_limit='10/s') == {
        'ok': 'new rate limit set successfully'}
    assert ask('rate_limit', task_name='ctl.add', rate_limit=None) == {
        'ok': 'rate limit disabled successfully'}
    assert ask('rate_limit', task_name='nope', rate_limit='1/s') == {'error': 'unknown task'}
    assert 'Invalid rate limit' in ask('rate_limit', task_name='ctl.add',
                                       rate_limit='x/y')['error']
    assert ask('time_limit', task_name='ctl.add', soft=10, hard=20) == {
        'ok': 'time limits set successfully'}
    assert ask('enable_events') == {'ok': 'task events enabled'}
    assert ask('enable_events') == {'ok': 'task events already enabled'}
    assert ask('disable_events') == {'ok': 'task events disabled'}
    assert ask('heartbeat') is None
    assert ask('pool_grow', n=1) == {'ok': 'pool will grow'}
    assert wait_for(lambda: cluster.inspect(destination=[w1]).stats()[w1]['pool']
                    ['max-concurrency'] == 3, 10)
    assert ask('pool_shrink', n=1) == {'ok': 'pool will shrink'}
    assert 'Autoscale not enabled' in ask('autoscale', max=4, min=1)['error']
    assert ask('pool_restart', modules=None, reload=False) == {'ok': 'reload started'}
    extra = f'extra-{cluster.unique}'
    assert ask('add_consumer', queue=extra) == {'ok': f'add consumer {extra}'}
    queues = lambda: [q['name'] for q in cluster.inspect(destination=[w1]).active_queues()[w1]]  # noqa: E731
    assert wait_for(lambda: extra in queues(), 5)
    assert ask('cancel_consumer', queue=extra) == {'ok': f'no longer consuming from {extra}'}
    assert wait_for(lambda: extra not in queues(), 5)
    assert ask('election', id='e1', topic='none') is None


def test_revoke_variants(cluster: Cluster) -> None:
    control = cluster.app.control
    replies = control.revoke(['id-a', 'id-b'], reply=True, timeout=3.0, limit=2)
    assert len(replies) == 2
    assert all('flagged as revoked' in r[n]['ok'] for r in replies for n in r)
    replies = control.revoke_by_stamped_headers({'mystamp': 'v1'}, reply=True, timeout=3.0,
                                                limit=2)
    assert all('flagged as revoked' in r[n]['ok'] for r in replies for n in r)
    revoked = cluster.inspect().revoked()
    assert all({'id-a', 'id-b'} <= set(ids) for ids in revoked.values())


def test_revoke_terminate_running_task(cluster: Cluster) -> None:
    result = cluster.module.sleeper.delay(30)
    inspect = cluster.inspect()
    assert wait_for(lambda: any(t['id'] == result.id for r in (inspect.active() or {}).values()
                                for t in r), 15)
    replies = cluster.app.control.terminate(result.id, reply=True, timeout=3.0, limit=2)
    assert {'ok': f'terminate: {result.id}'} in [r[n] for r in replies for n in r]
    assert wait_for(lambda: result.state == 'REVOKED', 15)
    assert wait_for(lambda: not any(r for r in inspect.active().values()), 10)


def test_custom_commands(cluster: Cluster) -> None:
    control = cluster.app.control
    before = cluster.inspect()._request('current_prefetch_count')
    replies = control.broadcast('increase_prefetch_count', arguments={'n': 3}, reply=True,
                                timeout=3.0, limit=2)
    assert [r[n] for r in replies for n in r] == [{'ok': 'prefetch count incremented'}] * 2
    after = cluster.inspect()._request('current_prefetch_count')
    for name in cluster.names:
        assert after[name]['prefetch_count'] == before[name]['prefetch_count'] + 3


def test_failing_command_replies_error_and_worker_goes_on(cluster: Cluster) -> None:
    replies = cluster.app.control.broadcast('explodes', reply=True, timeout=3.0, limit=2)
    assert len(replies) == 2
    assert all('kaboom' in r[n]['error'] for r in replies for n in r)
    assert len(cluster.app.control.ping(timeout=3.0, limit=2)) == 2


def test_purge(cluster: Cluster) -> None:
    # Nothing waits in the queue: workers take everything.
    assert cluster.app.control.purge() >= 0


def test_cli_status_inspect_control(cluster: Cluster) -> None:
    w1, w2 = cluster.names
    status = cluster.cli('status')
    assert status.returncode == 0, status.stderr
    assert f'->  {w1}: OK' in status.stdout and f'->  {w2}: OK' in status.stdout
    assert '2 nodes online.' in status.stdout
    ping = cluster.cli('inspect', 'ping', '-d', w1, '-j')
    assert json.loads(ping.stdout) == {w1: {'ok': 'pong'}}
    limited = cluster.cli('control', 'rate_limit', 'ctl.add', '5/s', '-d', w2)
    assert limited.returncode == 0
    assert 'new rate limit set successfully' in limited.stdout
    assert '1 node online.' in limited.stdout
    custom = cluster.cli('control', 'increase_prefetch_count', '2', '-d', w1, '--json')
    assert json.loads(custom.stdout) == [{w1: {'ok': 'prefetch count incremented'}}]
    dead = cluster.cli('status', '-d', 'ghost@nowhere', '-t', '0.3')
    assert dead.returncode == 69
    assert 'No nodes replied' in dead.stderr
    unknown = cluster.cli('inspect', 'nonsense')
    assert unknown.returncode == 2 and 'Valid commands' in unknown.stderr


def test_a_new_worker_learns_revoked_ids_by_mingling(cluster: Cluster) -> None:
    cluster.app.control.revoke('id-mingled', reply=True, timeout=3.0, limit=2)
    late = WorkerProcess(cluster.broker, cluster.unique, 'w3')
    try:
        late.wait_ready()
        assert wait_for(lambda: 'mingle: sync with 2 nodes' in late.output(), 10), late.output()
        revoked = cluster.inspect(destination=[late.hostname]).revoked()
        assert 'id-mingled' in revoked[late.hostname]
    finally:
        late.stop()


def test_shutdown_one_worker(cluster: Cluster) -> None:
    w1, w2 = cluster.names
    cluster.app.control.shutdown(destination=[w2])
    assert wait_for(lambda: cluster.workers[1].proc.poll() is not None, 20)
    assert cluster.inspect(timeout=0.5).ping() == {w1: {'ok': 'pong'}}
