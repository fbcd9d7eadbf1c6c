"""The curses monitor driven through a scripted stand-in for a curses window."""
from __future__ import annotations

import curses
import time

import pytest

from celery.events.cursesmon import CursesMonitor, format_reply, key_name
from celery.events.state import State


class ScriptedWindow:
    """A curses window: keeps the text drawn on it and answers keys from a script."""

    def __init__(self, keys: list = (), lines: list[str] = (), height: int = 30,
                 width: int = 140) -> None:
        self.height, self.width = height, width
        self.keys = [ord(k) if isinstance(k, str) else k for k in keys]
        self.lines = list(lines)
        self.rows: dict[int, str] = {}
        self.snapshots: list[str] = []

    def getmaxyx(self) -> tuple[int, int]:
        return self.height, self.width

    def erase(self) -> None:
        self.rows = {}

    def addstr(self, y: int, x: int, text: str, attr: int = 0) -> None:
        assert 0 <= y < self.height and x + len(text) <= self.width, (y, x, text)
        row = self.rows.get(y, '').ljust(x)
        self.rows[y] = row[:x] + text + row[x + len(text):]

    def refresh(self) -> None:
        self.snapshots.append(self.text())

    def text(self) -> str:
        return '\n'.join(self.rows.get(y, '') for y in range(self.height))

    def getch(self) -> int:
        return self.keys.pop(0) if self.keys else -1

    def getstr(self, y: int, x: int) -> bytes:
        return self.lines.pop(0).encode()

    def move(self, y: int, x: int) -> None:
        pass

    def clrtoeol(self) -> None:
        pass

    def nodelay(self, flag: bool) -> None:
        pass

    def timeout(self, ms: int) -> None:
        pass

    def keypad(self, flag: bool) -> None:
        pass


class RecordingControl:
    """Remote control that records calls and answers like one worker."""

    def __init__(self) -> None:
        self.calls: list[tuple] = []

    def revoke(self, task_id, **kwargs):
        self.calls.append(('revoke', task_id, kwargs))
        return [{'w1@x': {'ok': f'tasks flagged as revoked: {task_id}'}}]

    def rate_limit(self, name, rate, **kwargs):
        self.calls.append(('rate_limit', name, rate, kwargs))
        return [{'w1@x': {'ok': 'new rate limit set successfully'}}]

    def shutdown(self, **kwargs):
        self.calls.append(('shutdown', kwargs))
        return [{kwargs['destination'][0]: {'ok': 'shutting down'}}]


class FakeApp:
    def __init__(self) -> None:
        self.control = RecordingControl()


def ev(type_: str, clock: int, **fields) -> dict:
    now = time.time()
    return dict(type=type_, hostname=fields.pop('hostname', 'w1@x'), timestamp=now,
                local_received=now, clock=clock, **fields)


@pytest.fixture
def state() -> State:
    state = State()
    state.event(ev('worker-online', 1, freq=2.0, pid=10, active=0, processed=3,
                   loadavg=[0.1, 0.2, 0.3], sw_ident='py-celery', sw_ver='5.0'))
    state.event(ev('worker-online', 1, hostname='w2@x', freq=2.0, pid=11))
    state.event(ev('task-received', 2, uuid='ok-1', name='proj.add', args='(1, 2)',
                   kwargs='{}', retries=0))
    state.event(ev('task-succeeded', 3, uuid='ok-1', result='3', runtime=0.01))
    state.event(ev('task-received', 4, uuid='bad-2', name='proj.fail', args='()',
                   kwargs='{}', retries=0))
    state.event(ev('task-progress', 5, uuid='bad-2', current=1, total=10))
    state.event(ev('task-failed', 6, uuid='bad-2', exception="KeyError('boom')",
                   traceback='Traceback (most recent call last):\nKeyError: boom'))
    return state


def run(state: State, keys: list, lines: list[str] = ()) -> tuple[CursesMonitor, ScriptedWindow]:
    monitor = CursesMonitor(state, FakeApp())
    window = ScriptedWindow([*keys, 'q'], lines)
    monitor.win = window
    while monitor.keep_going:
        monitor.draw()
        monitor.handle_keypress()
    return monitor, window


def test_task_screen_lists_tasks_workers_and_keys(state: State) -> None:
    _, window = run(state, [])
    screen = window.snapshots[-1]
    assert 'ok-1' in screen and 'proj.add' in screen and 'SUCCESS' in screen
    assert 'bad-2' in screen and 'FAILURE' in screen
    assert 'Workers online: w1@x, w2@x' in screen
    assert 'i:info' in screen and 'c:revoke' in screen and 'w:workers' in screen


def test_j_and_k_move_the_selection_newest_first(state: State) -> None:
    monitor, _ = run(state, ['j'])
    assert monitor.selected_task == 'bad-2'
    monitor, _ = run(state, ['j', 'j', 'j', 'k'])
    assert monitor.selected_task == 'bad-2'
    monitor, _ = run(state, [curses.KEY_DOWN, curses.KEY_DOWN])
    assert monitor.selected_task == 'ok-1'


def test_info_shows_every_field_including_custom_event_fields(state: State) -> None:
    _, window = run(state, ['j', 'i', 'x'])
    detail = next(s for s in window.snapshots if 'Task info: bad-2' in s)
    assert 'name: proj.fail' in detail and "exception: KeyError('boom')" in detail
    assert 'current: 1' in detail and 'total: 10' in detail and 'worker: w1@x' in detail


def test_enter_is_info(state: State) -> None:
    _, window = run(state, ['j', '\n', 'x'])
    assert any('Task info: bad-2' in s for s in window.snapshots)


def test_traceback_and_result_screens(state: State) -> None:
    _, window = run(state, ['j', 't', 'x', 'j', 'r', 'x'])
    assert any('Task traceback: bad-2' in s and 'KeyError: boom' in s
               for s in window.snapshots)
    assert any('Task result: ok-1' in s and 'SUCCESS: 3' in s for s in window.snapshots)


def test_traceback_of_a_successful_task_is_refused_with_a_message(state: State) -> None:
    monitor, window = run(state, ['j', 'j', 't'])
    assert 'has no traceback' in monitor.message
    assert not any('Task traceback' in s for s in window.snapshots)


def test_actions_without_selection_say_what_to_do(state: State) -> None:
    monitor, _ = run(state, ['c'])
    assert 'move the selection with j/k' in monitor.message
    assert monitor.app.control.calls == []


def test_revoke_sends_the_command_and_shows_the_replies(state: State) -> None:
    monitor, window = run(state, ['j', 'c', 'x'])
    assert monitor.app.control.calls[0][:2] == ('revoke', 'bad-2')
    assert any('w1@x: tasks flagged as revoked: bad-2' in s for s in window.snapshots)


def test_rate_limit_prompts_and_applies_to_the_task_type(state: State) -> None:
    monitor, window = run(state, ['j', 'l', 'x'], lines=['10/m'])
    assert monitor.app.control.calls[0][:3] == ('rate_limit', 'proj.fail', '10/m')
    assert any('new rate limit set successfully' in s for s in window.snapshots)


def test_empty_rate_limit_cancels(state: State) -> None:
    monitor, _ = run(state, ['j', 'l'], lines=[''])
    assert monitor.app.control.calls == []
    assert monitor.message == 'Rate limit unchanged.'


def test_worker_screen_navigation_detail_and_back(state: State) -> None:
    monitor, window = run(state, ['w', 'i', 'x', 'j'])
    worker_screen = next(s for s in window.snapshots if 'STATUS' in s)
    assert 'w1@x' in worker_screen and 'ONLINE' in worker_screen and 's:shutdown' in worker_screen
    detail = next(s for s in window.snapshots if 'Worker info: w1@x' in s)
    assert 'processed: 3' in detail and 'sw_ident: py-celery' in detail
    assert 'bad-2 proj.fail FAILURE' in detail and 'ok-1 proj.add SUCCESS' in detail
    assert monitor.selected_worker == 'w2@x'
    monitor, window = run(state, ['w', 'w'])
    assert monitor.screen == 'tasks'


def test_shutdown_asks_for_confirmation(state: State) -> None:
    monitor, _ = run(state, ['w', 's'], lines=['n'])
    assert monitor.app.control.calls == [] and 'left running' in monitor.message
    monitor, window = run(state, ['w', 's', 'x'], lines=['y'])
    assert monitor.app.control.calls[0][1]['destination'] == ['w1@x']
    assert any('w1@x: shutting down' in s for s in window.snapshots)


def test_long_detail_scrolls(state: State) -> None:
    monitor = CursesMonitor(state, FakeApp())
    monitor.win = window = ScriptedWindow(['j', 'j', 'k', 'x'], height=10)
    monitor.show_detail('Long', [f'line {n}' for n in range(30)])
    firsts = [s.splitlines()[2].strip() for s in window.snapshots]
    assert firsts == ['line 0', 'line 1', 'line 2', 'line 1']


def test_small_terminal_never_writes_outside_the_window(state: State) -> None:
    monitor = CursesMonitor(state, FakeApp())
    monitor.win = ScriptedWindow(width=60, height=12)
    monitor.draw()
    monitor.show_workers()
    monitor.draw()


def test_format_reply() -> None:
    assert format_reply([{'a': {'ok': 'done'}}, {'b': {'error': 'nope'}}], 1.0) == [
        'a: done', 'b: ERROR: nope']
    assert format_reply([], 1.0) == ['No replies received within 1.0s.']


def test_key_names() -> None:
    assert key_name(ord('j')) == 'J' and key_name(curses.KEY_UP) == 'K'
    assert key_name(curses.KEY_RESIZE) is None
