"""Signal dispatch: connecting, disconnecting, sender filtering and error handling."""
from __future__ import annotations

import gc
import logging

import pytest

from celery import signals
from celery.utils.dispatch import Signal


@pytest.fixture
def signal() -> Signal:
    return Signal(name='test_signal', providing_args={'value'})


def test_receiver_gets_signal_sender_and_arguments(signal):
    calls = []

    def receiver(**kwargs):
        calls.append(kwargs)
        return 'reply'

    signal.connect(receiver)
    responses = signal.send(sender='me', value=1)
    assert calls == [{'signal': signal, 'sender': 'me', 'value': 1}]
    assert responses == [(receiver, 'reply')]


def test_send_without_receivers_returns_empty_list(signal):
    assert signal.send(sender=None) == []
    assert not signal.has_listeners()


def test_decorator_without_arguments(signal):
    @signal.connect
    def receiver(**kwargs):
        return 1

    assert receiver.__name__ == 'receiver'
    assert signal.send(None) == [(receiver, 1)]


def test_decorator_with_sender_filters_by_sender(signal):
    @signal.connect(sender='proj.tasks.add')
    def receiver(sender, **kwargs):
        return sender

    assert signal.send(sender='proj.tasks.add') == [(receiver, 'proj.tasks.add')]
    assert signal.send(sender='proj.tasks.mul') == []
    assert signal.has_listeners('proj.tasks.add')
    assert not signal.has_listeners('other')


def test_string_senders_match_by_equality(signal):
    calls = []
    name = ''.join(['proj.', 'tasks.add'])  # noqa: FLY002 - a different str object, same value
    signal.connect(lambda **kw: calls.append(kw['sender']), sender=name, weak=False)
    signal.send(sender='proj.tasks.add')
    assert calls == ['proj.tasks.add']


def test_object_senders_match_by_identity(signal):
    class Sender:
        def __eq__(self, other):
            return True

        __hash__ = object.__hash__

    first, second = Sender(), Sender()
    calls = []
    signal.connect(lambda sender, **kw: calls.append(sender), sender=first, weak=False)
    signal.send(sender=second)
    signal.send(sender=first)
    assert calls == [first]


def test_connect_same_receiver_twice_only_registers_once(signal):
    def receiver(**kwargs):
        return 1

    signal.connect(receiver)
    signal.connect(receiver)
    assert len(signal.send(None)) == 1


def test_dispatch_uid_deduplicates_and_disconnects(signal):
    signal.connect(lambda **kw: 1, dispatch_uid='uid', weak=False)
    signal.connect(lambda **kw: 2, dispatch_uid='uid', weak=False)
    assert [r for _, r in signal.send(None)] == [1]
    assert signal.disconnect(dispatch_uid='uid')
    assert signal.send(None) == []


def test_disconnect(signal):
    def receiver(**kwargs):
        return 1

    signal.connect(receiver)
    assert signal.disconnect(receiver)
    assert not signal.disconnect(receiver)
    assert signal.send(None) == []


def test_weak_function_receiver_is_dropped_when_collected(signal):
    def receiver(**kwargs):
        return 1

    signal.connect(receiver)
    del receiver
    gc.collect()
    assert signal.send(None) == []
    assert signal.receivers == []


def test_bound_method_receiver_is_weak(signal):
    class Handler:
        def on_signal(self, **kwargs):
            return 'bound'

    handler = Handler()
    signal.connect(handler.on_signal)
    assert [r for _, r in signal.send(None)] == ['bound']
    del handler
    gc.collect()
    assert signal.send(None) == []


def test_strong_receiver_survives_collection(signal):
    signal.connect(lambda **kw: 'kept', weak=False)
    gc.collect()
    assert [r for _, r in signal.send(None)] == ['kept']


def test_receiver_exception_is_logged_and_returned(signal, caplog):
    def broken(**kwargs):
        raise ValueError('boom')

    def fine(**kwargs):
        return 'ok'

    signal.connect(broken)
    signal.connect(fine)
    with caplog.at_level(logging.ERROR, logger='celery.utils.dispatch.signal'):
        responses = signal.send(None)
    assert isinstance(responses[0][1], ValueError)
    assert responses[1] == (fine, 'ok')
    assert 'boom' in caplog.text


def test_send_robust_is_send(signal):
    assert Signal.send_robust is Signal.send


def test_retry_receiver_retries_until_success(signal, monkeypatch):
    attempts = []

    def flaky(**kwargs):
        attempts.append(1)
        if len(attempts) < 3:
            raise ConnectionError('not yet')
        return 'done'

    monkeypatch.setattr('kombu.utils.functional.sleep', lambda s: None, raising=False)
    signal.connect(flaky, retry=True)
    assert [r for _, r in signal.send(None)] == ['done']
    assert len(attempts) == 3


def test_use_caching_is_invalidated_on_connect(signal):
    cached = Signal(use_caching=True)
    cached.connect(lambda **kw: 1, weak=False)
    assert len(cached.send('x')) == 1
    cached.connect(lambda **kw: 2, weak=False)
    assert len(cached.send('x')) == 2


def test_repr_names_signal(signal):
    assert 'test_signal' in repr(signal)


def test_signals_module_defines_all_signals():
    all_signals = {name for name, value in vars(signals).items() if isinstance(value, Signal)}
    assert len(all_signals) == 34
    assert set(signals.__all__) == all_signals - {'task_sent', 'import_modules', 'user_preload_options'}
    assert signals.task_prerun.name == 'task_prerun'


def test_lazy_proxy_sender_matches_the_object_behind_it(signal):
    class Task:
        pass

    class LazyProxy:
        def __init__(self, target):
            self._target = target

        def _get_current_object(self):
            return self._target

    task = Task()
    calls = []
    signal.connect(lambda sender, **kw: calls.append(sender), sender=LazyProxy(task), weak=False)
    signal.send(sender=task)
    assert calls == [task]


def test_builtin_receiver_is_kept(signal):
    signal.connect(dict)
    assert signal.send(None) == [(dict, {'signal': signal, 'sender': None})]


def test_receivers_is_a_class_default_and_per_instance():
    assert Signal.receivers is None
    first, second = Signal(name='a'), Signal(name='b')
    first.connect(lambda **kw: None, weak=False)
    assert len(first.receivers) == 1 and second.receivers == []


def test_connect_takes_any_arguments_of_the_receiver_form(signal):
    calls = []

    def receiver(sender, **kwargs):
        calls.append(sender)
    signal.connect(receiver, 'only-me', False, 'uid-1')
    signal.send(sender='other')
    signal.send(sender='only-me')
    assert calls == ['only-me']
    assert signal.disconnect(sender='only-me', dispatch_uid='uid-1')
    with pytest.raises(TypeError):
        signal.connect(receiver, bogus=True)


def test_no_receivers_is_cached_for_quiet_senders():
    from celery.utils.dispatch.signal import NO_RECEIVERS, _make_id
    cached = Signal(name='cached', use_caching=True)

    def receiver(sender, **kwargs):
        return sender
    cached.connect(receiver, sender='loud', weak=False)
    assert cached.send(sender='quiet') == []
    assert cached.sender_receivers_cache[_make_id('quiet')] is NO_RECEIVERS
    assert cached.send(sender='quiet') == []
    assert cached.send(sender='loud') == [(receiver, 'loud')]
    cached.connect(receiver, sender='quiet', weak=False)
    assert cached.send(sender='quiet') == [(receiver, 'quiet')]
