"""Re-sending a request: execution options, retry signatures, retry, add_to_chord."""
from __future__ import annotations

import pytest

from celery.app.context import Context
from celery.canvas import Signature
from celery.exceptions import MaxRetriesExceededError, Reject, Retry


@pytest.fixture
def sent(monkeypatch):
    """Signatures sent with ``apply_async`` (nothing reaches a broker)."""
    signatures: list[Signature] = []
    monkeypatch.setattr(Signature, 'apply_async',
                        lambda self, *args, **kwargs: signatures.append(self))
    return signatures


@pytest.fixture
def echo(app):
    @app.task(bind=True, max_retries=3, name='resend.echo')
    def echo(self, *args, **kwargs):
        return args, kwargs
    return echo


def _worker_request(task, **fields):
    defaults = {'id': 'tid-1', 'args': (1,), 'kwargs': {'k': 2}, 'called_directly': False,
                'retries': 0, 'delivery_info': {'exchange': '', 'routing_key': 'q1'}}
    task.push_request(**{**defaults, **fields})


class test_execution_options:

    def test_every_field_is_repeated(self):
        request = Context(
            id='t1', root_id='r1', parent_id='p1', group='g1', group_index=2,
            shadow='shown', chord={'task': 'c'}, chain=[{'task': 'n'}],
            callbacks=['cb'], errbacks=['eb'], expires='2030-01-01T00:00:00',
            timelimit=(10, 5), headers={'h': 1}, retries=3, reply_to='replies',
            replaced_task_nesting=1, origin='gen@host')
        assert request.as_execution_options() == {
            'task_id': 't1', 'root_id': 'r1', 'parent_id': 'p1', 'group_id': 'g1',
            'group_index': 2, 'shadow': 'shown', 'chord': {'task': 'c'},
            'chain': [{'task': 'n'}], 'link': ['cb'], 'link_error': ['eb'],
            'expires': '2030-01-01T00:00:00', 'soft_time_limit': 5, 'time_limit': 10,
            'headers': {'h': 1}, 'retries': 3, 'reply_to': 'replies',
            'replaced_task_nesting': 1, 'origin': 'gen@host'}

    def test_no_time_limits(self):
        options = Context(id='t1').as_execution_options()
        assert (options['time_limit'], options['soft_time_limit']) == (None, None)
        assert 'stamped_headers' not in options

    def test_stamps_are_repeated_as_options(self):
        options = Context(id='t1', stamped_headers=['a', 'b'],
                          stamps={'a': 1}).as_execution_options()
        assert options['stamped_headers'] == ['a', 'b']
        assert (options['a'], options['b']) == (1, None)

    def test_stamped_headers_without_stamps(self):
        options = Context(id='t1', stamped_headers=['a']).as_execution_options()
        assert options['a'] is None


class test_signature_from_request:

    def test_default_exchange_means_the_routing_key_is_the_queue(self, echo):
        request = Context(id='t1', args=(1,), kwargs={},
                          delivery_info={'exchange': '', 'routing_key': 'q1', 'priority': 4})
        sig = echo.signature_from_request(request)
        assert sig.args == (1,) and sig.task == 'resend.echo'
        assert sig.options['queue'] == 'q1' and sig.options['priority'] == 4
        assert 'exchange' not in sig.options and 'routing_key' not in sig.options

    def test_named_exchange_is_kept(self, echo):
        request = Context(id='t1', args=(), kwargs={},
                          delivery_info={'exchange': 'ex', 'routing_key': 'rk'})
        sig = echo.signature_from_request(request)
        assert (sig.options['exchange'], sig.options['routing_key']) == ('ex', 'rk')
        assert 'queue' not in sig.options and 'priority' not in sig.options

    def test_no_delivery_info(self, echo):
        sig = echo.signature_from_request(Context(id='t1', args=(), kwargs={}))
        assert sig.options['exchange'] is None and sig.options['routing_key'] is None

    def test_explicit_queue_wins(self, echo):
        request = Context(id='t1', args=(), kwargs={},
                          delivery_info={'exchange': 'ex', 'routing_key': 'rk'})
        sig = echo.signature_from_request(request, queue='other')
        assert sig.options['queue'] == 'other' and 'exchange' not in sig.options

    def test_arguments_and_extra_options_override_the_request(self, echo):
        request = Context(id='t1', args=(1,), kwargs={'a': 1}, retries=1)
        sig = echo.signature_from_request(request, (2,), {'b': 2}, countdown=5, retries=2)
        assert (sig.args, sig.kwargs) == ((2,), {'b': 2})
        assert sig.options['countdown'] == 5 and sig.options['retries'] == 2
        assert sig.options['task_id'] == 't1'

    def test_priority_of_the_delivery_unless_given(self, echo):
        request = Context(id='t1', args=(), kwargs={}, delivery_info={'priority': 7})
        assert echo.signature_from_request(request).options['priority'] == 7
        assert echo.signature_from_request(request, priority=1).options['priority'] == 1

    def test_current_request_by_default(self, echo):
        _worker_request(echo)
        try:
            sig = echo.signature_from_request()
        finally:
            echo.pop_request()
        assert sig.options['task_id'] == 'tid-1' and sig.args == (1,)


class test_retry_from_a_worker:

    def test_resends_and_raises(self, echo, sent):
        _worker_request(echo, retries=1)
        try:
            with pytest.raises(Retry) as raised:
                echo.retry(countdown=7)
        finally:
            echo.pop_request()
        [sig] = sent
        assert sig.options['retries'] == 2 and sig.options['countdown'] == 7
        assert sig.options['queue'] == 'q1' and sig.options['task_id'] == 'tid-1'
        assert raised.value.sig is sig and raised.value.when == 7
        assert not raised.value.is_eager

    def test_default_delay(self, echo, sent):
        _worker_request(echo)
        try:
            with pytest.raises(Retry):
                echo.retry()
        finally:
            echo.pop_request()
        assert sent[0].options['countdown'] == echo.default_retry_delay

    def test_eta_replaces_the_default_delay(self, echo, sent):
        _worker_request(echo)
        try:
            with pytest.raises(Retry) as raised:
                echo.retry(eta='2030-01-01T00:00:00')
        finally:
            echo.pop_request()
        assert sent[0].options['countdown'] is None
        assert raised.value.when == '2030-01-01T00:00:00'

    def test_without_throw_returns_the_retry(self, echo, sent):
        _worker_request(echo)
        try:
            retry = echo.retry(countdown=1, throw=False)
        finally:
            echo.pop_request()
        assert isinstance(retry, Retry) and retry.sig is sent[0]

    def test_publish_failure_rejects_the_message(self, echo, monkeypatch):
        def refuse(self, *args, **kwargs):
            raise OSError('broker down')
        monkeypatch.setattr(Signature, 'apply_async', refuse)
        _worker_request(echo)
        try:
            with pytest.raises(Reject) as raised:
                echo.retry(countdown=1)
        finally:
            echo.pop_request()
        assert isinstance(raised.value.reason, OSError)
        assert raised.value.requeue is False
        assert isinstance(raised.value.__cause__, OSError)

    def test_too_many_retries_names_the_call(self, echo, sent):
        _worker_request(echo, retries=3)
        try:
            with pytest.raises(MaxRetriesExceededError) as raised:
                echo.retry(countdown=1)
        finally:
            echo.pop_request()
        assert str(raised.value) == "Can't retry resend.echo[tid-1] args:(1,) kwargs:{'k': 2}"
        assert raised.value.task_args == (1,) and raised.value.task_kwargs == {'k': 2}
        assert sent == []

    def test_too_many_retries_reraises_the_cause(self, echo, sent):
        _worker_request(echo, retries=3)
        try:
            with pytest.raises(KeyError):
                echo.retry(exc=KeyError('cause'), countdown=1)
        finally:
            echo.pop_request()
        assert sent == []

    def test_max_retries_argument_wins(self, echo, sent):
        _worker_request(echo, retries=5)
        try:
            with pytest.raises(Retry):
                echo.retry(countdown=1, max_retries=10)
        finally:
            echo.pop_request()
        assert len(sent) == 1

    def test_eager_retry_is_not_sent(self, echo, sent):
        _worker_request(echo, is_eager=True)
        try:
            retry = echo.retry(countdown=1, throw=False)
        finally:
            echo.pop_request()
        assert retry.is_eager and retry.sig is not None and sent == []


class test_add_to_chord:

    def test_outside_a_chord_is_refused(self, echo):
        _worker_request(echo)
        try:
            with pytest.raises(ValueError, match='Current task is not member of any chord'):
                echo.add_to_chord(echo.s(1))
        finally:
            echo.pop_request()

    @pytest.mark.parametrize('lazy', [True, False])
    def test_joins_the_chord(self, app, echo, sent, monkeypatch, lazy):
        added = []
        monkeypatch.setattr(app.backend, 'add_to_chord',
                            lambda group_id, result: added.append((group_id, result.id)))
        sig = echo.s(1)
        _worker_request(echo, chord={'task': 'body'}, group='g1', group_index=3, root_id='r1')
        try:
            returned = echo.add_to_chord(sig, lazy=lazy)
        finally:
            echo.pop_request()
        assert sig.options['group_id'] == 'g1' and sig.options['group_index'] == 3
        assert sig.options['chord'] == {'task': 'body'} and sig.options['root_id'] == 'r1'
        assert added == [('g1', sig.id)]
        if lazy:
            assert returned is sig and sent == []
        else:
            assert sent == [sig]


def test_request_outside_execution_is_one_empty_context(echo):
    assert isinstance(echo.request, Context)
    assert echo.request is echo.request
    assert echo.request.id is None and echo.request.called_directly


def test_request_inside_execution_is_the_pushed_one(echo):
    _worker_request(echo, id='inside')
    try:
        assert echo.request.id == 'inside'
    finally:
        echo.pop_request()
    assert echo.request.id is None


def test_eager_failure_result_has_exception_and_traceback(app):
    @app.task
    def boom():
        raise KeyError('gone')

    result = boom.apply()
    assert isinstance(result.result, KeyError)
    assert 'KeyError' in result.traceback
    assert result.state == 'FAILURE'


def test_eager_success_has_no_traceback(app):
    @app.task
    def fine():
        return 3

    result = fine.apply()
    assert (result.result, result.traceback, result.state) == (3, None, 'SUCCESS')
