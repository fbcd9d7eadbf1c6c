"""Exact texts of the deprecation warnings, and the memory-debugging number helpers."""
from __future__ import annotations

import warnings

import pytest

from celery.exceptions import CDeprecationWarning, CPendingDeprecationWarning
from celery.utils import deprecated
from celery.utils.debug import UNITS, hfloat, humanbytes, sample


def _only_warning(**kwargs) -> warnings.WarningMessage:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        deprecated.warn(**kwargs)
    assert len(caught) == 1
    return caught[0]


def test_pending_deprecation_text():
    caught = _only_warning(description='old()', deprecation='5.0', removal='6.0',
                           alternative='Use new().')
    assert caught.category is CPendingDeprecationWarning
    assert str(caught.message) == (
        '\n    old() is scheduled for deprecation in     version 5.0 and removal in '
        'version v6.0.     Use new().\n')


def test_deprecation_text():
    caught = _only_warning(description='old()', removal='6.0')
    assert caught.category is CDeprecationWarning
    assert str(caught.message) == (
        '\n    old() is deprecated and scheduled for removal in\n    version 6.0. \n')
    assert deprecated.PENDING_DEPRECATION_FMT.startswith('\n    {description}')
    assert deprecated.DEPRECATION_FMT.endswith('{alternative}\n')


def test_deprecated_callable_names_the_function_and_passes_through():
    @deprecated.Callable(removal='6.0')
    def old(x):
        return x * 2

    with pytest.warns(CDeprecationWarning, match=r'test_debug_and_deprecated\..*old'):
        assert old(2) == 4


def test_deprecated_property_get_set_delete():
    class Thing:
        _value = 1

        @deprecated.Property(removal='6.0', alternative='Use .value.')
        def old(self):
            """The old value."""
            return self._value

        @old.setter
        def old(self, value):
            self._value = value

    thing = Thing()
    assert Thing.old.__doc__ == 'The old value.'
    with pytest.warns(CDeprecationWarning, match='old is deprecated'):
        assert thing.old == 1
    with pytest.warns(CDeprecationWarning):
        thing.old = 5
    assert thing._value == 5
    with pytest.raises(AttributeError, match='cannot delete attribute'):
        del thing.old


def test_humanbytes_and_hfloat():
    assert UNITS[0] == (2 ** 40.0, 'TB') and UNITS[-1] == (0.0, 'b')
    assert [humanbytes(n) for n in (0, 10, 1024, 1536 * 1024, 3 * 2 ** 30, 2 ** 41)] == [
        '0b', '10b', '1KB', '1.5MB', '3GB', '2TB']
    assert hfloat(2.0) == '2' and hfloat(1 / 3) == '0.33333' and hfloat(1 / 3, 2) == '0.33'


def test_sample_spreads_evenly():
    assert list(sample(list(range(10)), 5)) == [0, 2, 4, 6, 8]
    assert list(sample(list(range(10)), 3, k=1)) == [1, 4, 7]
    assert list(sample([7, 8], 3)) == [7, 7, 7]


def test_blockdetection_uses_the_platform_signals():
    import signal as stdlib_signal
    import time

    from celery.platforms import signals as platform_signals
    from celery.utils.debug import blockdetection, signals
    assert signals is platform_signals
    before = stdlib_signal.getsignal(stdlib_signal.SIGALRM)
    with pytest.raises(RuntimeError, match='Blocking detection timed-out'):
        with blockdetection(0.05):
            time.sleep(2)
    assert stdlib_signal.getsignal(stdlib_signal.SIGALRM) == before
    with blockdetection(1):
        assert signals['ALRM'] is not before
    assert signals['ALRM'] == before


def test_blockdetection_refuses_other_threads():
    import threading

    from celery.utils.debug import blockdetection
    errors = []

    def detect():
        try:
            with blockdetection(1):
                pass
        except ValueError as exc:
            errors.append(exc)
    thread = threading.Thread(target=detect)
    thread.start()
    thread.join()
    assert len(errors) == 1
