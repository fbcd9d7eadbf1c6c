"""The error and warning classes: hierarchy, texts and pickling."""
from __future__ import annotations

import pickle
from datetime import datetime

import pytest

from celery import exceptions
from celery.exceptions import (AlwaysEagerIgnored, BackendError, BackendGetMetaError,
                               BackendStoreError, CDeprecationWarning, CeleryError,
                               CeleryWarning, ChordError, CPendingDeprecationWarning,
                               Ignore, ImproperlyConfigured, MaxRetriesExceededError,
                               NotRegistered, QueueNotFound, Reject, Retry, TaskError,
                               TaskPredicate, TimeoutError, WorkerShutdown, WorkerTerminate,
                               reraise)


@pytest.mark.parametrize(('cls', 'bases'), [
    (AlwaysEagerIgnored, (CeleryWarning, UserWarning)),
    (CPendingDeprecationWarning, (PendingDeprecationWarning,)),
    (CDeprecationWarning, (DeprecationWarning,)),
    (Retry, (TaskPredicate, CeleryError)),
    (Ignore, (TaskPredicate,)),
    (Reject, (TaskPredicate,)),
    (ImproperlyConfigured, (CeleryError,)),
    (QueueNotFound, (KeyError, TaskError)),
    (NotRegistered, (KeyError, TaskError)),
    (TimeoutError, (TaskError,)),
    (ChordError, (TaskError,)),
    (WorkerShutdown, (SystemExit,)),
    (WorkerTerminate, (SystemExit,)),
    (BackendGetMetaError, (BackendError, Exception)),
])
def test_hierarchy(cls, bases):
    assert all(issubclass(cls, base) for base in bases)


def test_aliases():
    assert exceptions.RetryTaskError is Retry
    assert exceptions.SystemTerminate is WorkerTerminate
    assert not issubclass(BackendError, CeleryError)


def test_every_listed_name_resolves():
    for name in exceptions.__all__:
        assert getattr(exceptions, name) is not None


def test_lazy_reexports_come_from_their_packages():
    from billiard.exceptions import SoftTimeLimitExceeded
    from kombu.exceptions import OperationalError
    assert exceptions.SoftTimeLimitExceeded is SoftTimeLimitExceeded
    assert exceptions.OperationalError is OperationalError
    with pytest.raises(AttributeError):
        exceptions.NoSuchError  # noqa: B018


def test_command_exception_keeps_exit_code():
    exc = exceptions.CeleryCommandException('bad', exit_code=3)
    assert exc.exit_code == 3 and exc.message == 'bad'
    assert type(exc).__module__ == 'celery.exceptions'


def test_retry_text_and_fields():
    cause = KeyError('k')
    retry = Retry(exc=cause, when=10)
    assert retry.exc is cause and retry.excs == repr(cause)
    assert str(retry) == f'Retry in 10s: {cause!r}'
    assert retry.humanize() == 'in 10s'
    assert str(Retry(when=5)) == 'Retry in 5s'
    when = datetime(2024, 1, 2, 3, 4, 5)
    assert str(Retry(when=when)) == f'Retry at {when}'
    assert str(Retry('custom text', exc=cause)) == 'custom text'
    described = Retry(exc='only a description')
    assert described.exc is None and described.excs == 'only a description'
    assert Retry().excs is None
    flagged = Retry(is_eager=True, sig='sig')
    assert flagged.is_eager and flagged.sig == 'sig'


def test_retry_survives_a_broken_repr():
    class Unprintable(Exception):
        def __repr__(self):
            raise ValueError('no')
    assert Retry(exc=Unprintable()).excs == '<unrepresentable Unprintable>'


def test_retry_pickles():
    retry = pickle.loads(pickle.dumps(Retry('msg', KeyError('k'), 3)))
    assert (retry.message, retry.when) == ('msg', 3)
    assert isinstance(retry.exc, KeyError)


def test_reject():
    reject = Reject('bad input', requeue=True)
    assert (reject.reason, reject.requeue) == ('bad input', True)
    assert repr(reject) == 'reject requeue=True: bad input'


def test_not_registered_repr():
    assert repr(NotRegistered('t.x')) == (
        "Task of kind 't.x' never registered, please make sure it's imported.")


def test_max_retries_exceeded_keeps_task_arguments():
    exc = MaxRetriesExceededError('too many', task_args=[1], task_kwargs={'a': 2})
    assert (exc.task_args, exc.task_kwargs, exc.args) == ([1], {'a': 2}, ('too many',))
    plain = MaxRetriesExceededError()
    assert (plain.task_args, plain.task_kwargs) == ([], {})


def test_backend_errors_report_task_and_state():
    meta = BackendGetMetaError('oops', task_id='t1')
    assert meta.task_id == 't1'
    assert repr(meta).endswith(' task_id:t1')
    store = BackendStoreError('oops', state='FAILURE', task_id='t2')
    assert repr(store).endswith(' state:FAILURE task_id:t2')
    assert BackendStoreError().task_id == '' and BackendStoreError().state == ''


def test_reraise_uses_the_given_traceback():
    try:
        raise KeyError('first')
    except KeyError as exc:
        error, tb = exc, exc.__traceback__
    with pytest.raises(KeyError) as info:
        reraise(KeyError, error, tb)
    assert info.value is error
    fresh = ValueError('x')
    with pytest.raises(ValueError):
        reraise(ValueError, fresh, None)
