"""Blueprint ordering, inclusion and lifecycle."""
from __future__ import annotations

import io

import pytest

from celery import bootsteps
from celery.exceptions import ImproperlyConfigured, WorkerTerminate
from celery.utils.graph import CycleError

calls: list[str] = []


class Timer(bootsteps.StartStopStep):
    def start(self, parent):
        calls.append('start Timer')

    def stop(self, parent):
        calls.append('stop Timer')


class Hub(bootsteps.StartStopStep):
    requires = (Timer,)

    def start(self, parent):
        calls.append('start Hub')

    def stop(self, parent):
        calls.append('stop Hub')

    def info(self, parent):
        return {'hub': 'yes'}


class Pool(bootsteps.StartStopStep):
    requires = (f'{__name__}:Hub',)

    def create(self, parent):
        return parent.pool_obj


class Optional(bootsteps.StartStopStep):
    conditional = True

    def include_if(self, parent):
        return parent.want_optional


class Consumer(bootsteps.StartStopStep):
    last = True

    def start(self, parent):
        calls.append('start Consumer')


class InfoStep(bootsteps.Step):
    def __init__(self, parent, **kwargs):
        parent.seen_kwargs = kwargs


class Worker:
    """A minimal blueprint parent."""

    def __init__(self, steps=(), want_optional=False):
        self.steps = []
        self.want_optional = want_optional
        self.pool_obj = PoolObj()
        self.app = type('App', (), {'steps': {'worker': set(steps), 'consumer': set()}})()


class PoolObj:
    def __init__(self):
        self.state = 'new'

    def start(self):
        self.state = 'started'
        calls.append('start Pool')

    def stop(self):
        self.state = 'stopped'

    def terminate(self):
        self.state = 'terminated'


class WorkerBlueprint(bootsteps.Blueprint):
    name = 'Worker'
    default_steps = (Consumer, Pool, Optional)


@pytest.fixture(autouse=True)
def reset_calls():
    calls.clear()


def aliases(blueprint):
    return [step.alias for step in blueprint.order]


def test_step_names_are_module_qualified():
    assert Hub.name == f'{__name__}.Hub'
    assert str(Hub) == Hub.name
    assert Hub(Worker()).alias == 'Hub'


def test_order_follows_requires_and_last_goes_last():
    worker = Worker()
    blueprint = WorkerBlueprint().apply(worker)
    assert aliases(blueprint) == ['Timer', 'Hub', 'Pool', 'Optional', 'Consumer']


def test_include_if_skips_disabled_steps():
    worker = Worker(want_optional=False)
    WorkerBlueprint().apply(worker)
    assert 'Optional' not in [s.alias for s in worker.steps]
    worker = Worker(want_optional=True)
    WorkerBlueprint().apply(worker)
    assert 'Optional' in [s.alias for s in worker.steps]


def test_app_steps_are_collected_and_get_constructor_kwargs():
    worker = Worker(steps=[InfoStep])
    blueprint = WorkerBlueprint().apply(worker, hostname='w1')
    assert 'InfoStep' in aliases(blueprint)
    assert aliases(blueprint)[-1] == 'Consumer'
    assert worker.seen_kwargs == {'hostname': 'w1'}


def test_start_stop_terminate_and_state():
    worker = Worker()
    blueprint = WorkerBlueprint().apply(worker)
    assert blueprint.human_state() == 'initializing'
    blueprint.start(worker)
    assert calls == ['start Timer', 'start Hub', 'start Pool', 'start Consumer']
    assert worker.pool_obj.state == 'started'
    assert blueprint.human_state() == 'running'
    assert blueprint.info(worker) == {'hub': 'yes'}
    calls.clear()
    blueprint.stop(worker)
    assert calls == ['stop Hub', 'stop Timer']
    assert worker.pool_obj.state == 'stopped'
    assert blueprint.state == bootsteps.TERMINATE
    assert blueprint.join(0)


def test_terminate_uses_obj_terminate():
    worker = Worker()
    blueprint = WorkerBlueprint().apply(worker)
    blueprint.start(worker)
    blueprint.stop(worker, terminate=True)
    assert worker.pool_obj.state == 'terminated'


def test_terminate_during_a_stop_terminates_the_steps():
    # A cold shutdown (WorkerTerminate from the signal handler) interrupting
    # a warm one that waits for the pool: the terminate that follows must
    # terminate the pool and complete, not return because a stop began.
    class WaitingPool(PoolObj):
        def stop(self):
            raise WorkerTerminate(1)

    worker = Worker()
    worker.pool_obj = WaitingPool()
    blueprint = WorkerBlueprint().apply(worker)
    blueprint.start(worker)
    with pytest.raises(WorkerTerminate):
        blueprint.stop(worker)
    assert blueprint.state == bootsteps.CLOSE
    blueprint.stop(worker, terminate=True)
    assert worker.pool_obj.state == 'terminated'
    assert blueprint.state == bootsteps.TERMINATE
    assert blueprint.join(0)
    # A second warm stop after that does nothing.
    blueprint.stop(worker)


def test_stop_before_start_completes_at_once():
    worker = Worker()
    blueprint = WorkerBlueprint().apply(worker)
    blueprint.stop(worker)
    assert blueprint.state == bootsteps.TERMINATE
    assert worker.pool_obj.state == 'new'


def test_stop_after_a_failed_start_stops_nothing():
    class Failing(bootsteps.StartStopStep):
        requires = (Hub,)

        def start(self, parent):
            raise RuntimeError('cannot start')

    class BP(bootsteps.Blueprint):
        default_steps = (Failing, Consumer)

    worker = Worker()
    blueprint = BP().apply(worker)
    with pytest.raises(RuntimeError):
        blueprint.start(worker)
    assert blueprint.started == 3  # Timer, Hub, and the step that failed
    calls.clear()
    blueprint.stop(worker)
    assert calls == []
    assert blueprint.state == bootsteps.TERMINATE and blueprint.join(0)


def test_started_counts_again_on_each_start():
    worker = Worker()
    blueprint = WorkerBlueprint().apply(worker)
    blueprint.start(worker)
    blueprint.start(worker)
    assert blueprint.started == len(worker.steps)


def test_send_all_logs_errors_unless_propagating():
    class Broken(bootsteps.StartStopStep):
        def close(self, parent):
            raise RuntimeError('close failed')

    class BP(bootsteps.Blueprint):
        default_steps = (Broken,)

    worker = Worker()
    blueprint = BP().apply(worker)
    blueprint.send_all(worker, 'close', propagate=False)
    with pytest.raises(RuntimeError):
        blueprint.send_all(worker, 'close')


def test_unknown_requirement_is_a_clear_error():
    class Needy(bootsteps.Step):
        requires = ('no.such.module:Step',)

    class BP(bootsteps.Blueprint):
        default_steps = (Needy,)

    with pytest.raises(ImproperlyConfigured, match='no.such.module:Step'):
        BP().apply(Worker())


def test_cycles_are_reported():
    class A(bootsteps.Step):
        pass

    class B(bootsteps.Step):
        requires = (A,)

    A.requires = (B,)

    class BP(bootsteps.Blueprint):
        default_steps = (A, B)

    with pytest.raises(CycleError):
        BP().apply(Worker())


def test_graph_and_connect_with_render_dot():
    worker = Worker()
    blueprint = WorkerBlueprint().apply(worker)
    other = WorkerBlueprint().apply(Worker())
    blueprint.connect_with(other)
    out = io.StringIO()
    blueprint.graph.to_dot(out)
    assert '"Hub" -> "Timer"' in out.getvalue()


class FakeConsumer:
    def __init__(self, channel):
        self.channel = channel
        self.consuming = False
        self.cancelled = False

    def consume(self):
        self.consuming = True

    def cancel(self):
        self.cancelled = True


class FakeChannel:
    closed = False

    def close(self):
        self.closed = True


class FakeConnection:
    connection_errors = (ConnectionError,)
    channel_errors = ()

    def channel(self):
        return FakeChannel()


def test_consumer_step_starts_and_stops_consumers():
    class Mine(bootsteps.ConsumerStep):
        def get_consumers(self, channel):
            return [FakeConsumer(channel)]

    c = type('C', (), {'connection': FakeConnection()})()
    step = Mine(c)
    step.start(c)
    consumer = step.consumers[0]
    assert consumer.consuming
    step.stop(c)
    assert consumer.cancelled and consumer.channel.closed
    assert step.consumers is None


class ManualInfoStep(bootsteps.Step):
    """The user guide's example: a plain Step with lifecycle hooks."""

    def __init__(self, parent, **kwargs):
        calls.append('init')

    def start(self, parent):
        calls.append('starting')

    def stop(self, parent):
        calls.append('stopping')

    def shutdown(self, parent):
        calls.append('shutting down')


def test_user_guide_info_step_hooks_run():
    worker = Worker(steps=[ManualInfoStep])
    blueprint = WorkerBlueprint().apply(worker)
    blueprint.start(worker)
    blueprint.stop(worker)
    blueprint.send_all(worker, 'shutdown')
    assert [c for c in calls if c in ('init', 'starting', 'stopping', 'shutting down')] == [
        'init', 'starting', 'stopping', 'shutting down']


def test_state_to_name_is_read_from_the_class():
    assert bootsteps.Blueprint.state_to_name == {
        0: 'initializing', bootsteps.RUN: 'running', bootsteps.CLOSE: 'closing',
        bootsteps.TERMINATE: 'terminating'}

    class Worded(WorkerBlueprint):
        state_to_name = {**bootsteps.Blueprint.state_to_name, bootsteps.RUN: 'up'}
    blueprint = Worded().apply(Worker())
    blueprint.start(Worker())
    assert blueprint.human_state() == 'up'


def test_claim_steps_imports_the_blueprint_types():
    blueprint = bootsteps.Blueprint([f'{__name__}:Pool', Timer])
    assert blueprint.claim_steps() == {Pool.name: Pool, Timer.name: Timer}
    assert blueprint.load_step(f'{__name__}:Hub') == (Hub.name, Hub)


def test_apply_adds_the_app_steps_to_types_once():
    blueprint = WorkerBlueprint()
    blueprint.apply(Worker(steps=[InfoStep]))
    blueprint.apply(Worker(steps=[InfoStep]))
    assert blueprint.types.count(InfoStep) == 1
    assert InfoStep.name in blueprint.claim_steps()


def test_step_type_defaults():
    assert bootsteps.StepType.name is None and bootsteps.StepType.requires is None

    class Bare(metaclass=bootsteps.StepType):
        pass
    assert Bare.name == f'{__name__}.Bare' and Bare.requires is None


@pytest.mark.parametrize('error', bootsteps.IGNORE_ERRORS)
def test_consumer_step_ignores_shutdown_errors(error):
    from greenlet import GreenletExit
    assert GreenletExit in bootsteps.IGNORE_ERRORS and OSError in bootsteps.IGNORE_ERRORS

    class Failing(FakeChannel):
        def close(self):
            raise error()

    class Mine(bootsteps.ConsumerStep):
        def get_consumers(self, channel):
            return [FakeConsumer(Failing())]

    c = type('C', (), {'connection': FakeConnection()})()
    step = Mine(c)
    step.start(c)
    step.shutdown(c)
    assert step.consumers is None
