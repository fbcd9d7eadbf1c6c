"""``app.control.inspect(...)``: its options reach every broadcast unchanged."""
from __future__ import annotations


def test_options_are_passed_to_broadcast(app) -> None:
    seen = []

    def broadcast(command, **kwargs):
        seen.append((command, kwargs))
        return [{'w1': {'ok': 1}}]

    def callback(reply):
        return None

    app.control.broadcast = broadcast
    connection = object()
    inspect = app.control.inspect(destination=['w1'], timeout=2.5, callback=callback,
                                  connection=connection, limit=1, pattern='w*',
                                  matcher='glob')
    assert inspect.active(safe=True) == {'w1': {'ok': 1}}
    assert seen == [('active', {
        'arguments': {'safe': True}, 'destination': ['w1'], 'callback': callback,
        'connection': connection, 'limit': 1, 'timeout': 2.5, 'reply': True,
        'pattern': 'w*', 'matcher': 'glob'})]
    assert (inspect.destination, inspect.timeout, inspect.limit) == (['w1'], 2.5, 1)
    assert (inspect.pattern, inspect.matcher, inspect.callback) == ('w*', 'glob', callback)
    assert inspect.connection is connection and inspect.app is app


def test_defaults(app) -> None:
    inspect = app.control.inspect()
    assert inspect.app is app and inspect.timeout == 1.0
    assert (inspect.destination, inspect.callback, inspect.connection) == (None, None, None)
    assert (inspect.limit, inspect.pattern, inspect.matcher) == (None, None, None)


def test_explicit_app_wins(app) -> None:
    from celery.app.control import Inspect
    assert Inspect(app=app).app is app
    assert Inspect().app is None
