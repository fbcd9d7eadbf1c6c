"""Celery's public names of the curses monitor, exercised without a terminal."""
from __future__ import annotations

import curses
import threading

import pytest

from celery import VERSION_BANNER
from celery.events import cursesmon
from celery.events.cursesmon import CursesMonitor, DisplayThread
from celery.events.state import State
from t.unit.events.test_cursesmon import FakeApp, ScriptedWindow, run
from t.unit.events.test_cursesmon import state as state  # noqa: F401 - the fixture


@pytest.fixture
def no_terminal(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Replace the curses calls that need a real terminal; record which ran."""
    calls: list[str] = []
    for name in ('noecho', 'cbreak', 'nocbreak', 'echo', 'endwin'):
        monkeypatch.setattr(curses, name, lambda name=name: calls.append(name))
    monkeypatch.setattr(curses, 'napms', lambda ms: calls.append(f'napms {ms}'))
    return calls


def monitor_in(state: State, **window: object) -> tuple[CursesMonitor, ScriptedWindow]:
    monitor = CursesMonitor(state, FakeApp())
    monitor.win = ScriptedWindow(**window)
    return monitor, monitor.win


def test_layout_constants() -> None:
    assert (cursesmon.BORDER_SPACING, cursesmon.LEFT_BORDER_OFFSET) == (4, 3)
    assert (cursesmon.MIN_TASK_WIDTH, cursesmon.MIN_WORKER_WIDTH) == (16, 15)
    assert (cursesmon.UUID_WIDTH, cursesmon.STATE_WIDTH, cursesmon.TIMESTAMP_WIDTH) == (36, 8, 8)
    assert cursesmon.STATUS_SCREEN.format(events=1, tasks=2, alive=3, workers=4) == \
        'Events: 1 tasks:2 workers:3/4'


def test_class_attributes() -> None:
    assert CursesMonitor.greet == f'celery events {VERSION_BANNER}'
    assert (CursesMonitor.foreground, CursesMonitor.background) == (
        curses.COLOR_BLACK, curses.COLOR_WHITE)
    assert CursesMonitor.screen_delay == 10 and CursesMonitor.selected_position == 0
    assert CursesMonitor.win is None and CursesMonitor.selected_task is None
    assert (CursesMonitor.help_title, CursesMonitor.info_str, CursesMonitor.online_str) == (
        'Keys: ', 'Info: ', 'Workers online: ')
    assert CursesMonitor.keymap == {}
    assert CursesMonitor.keyalias[curses.KEY_DOWN] == 'J'
    assert 'c:revoke' in CursesMonitor.help


def test_screen_shows_greet_labels_and_status(state: State) -> None:
    _, window = run(state, [])
    screen = window.snapshots[-1]
    assert screen.splitlines()[0] == f'celery events {VERSION_BANNER}'
    assert f'Keys: {CursesMonitor.help}' in screen
    assert 'Info: Events: 7 tasks:2 workers:2/2' in screen


def test_subclass_attributes_change_the_screen(state: State) -> None:
    class Quiet(CursesMonitor):
        greet = 'my cluster'
        help = 'q: leave'
        online_str = 'Up: '
    monitor = Quiet(state, FakeApp())
    monitor.win = window = ScriptedWindow()
    monitor.draw()
    assert window.text().startswith('my cluster')
    assert 'Keys: q: leave' in window.text() and 'Up: w1@x, w2@x' in window.text()


def test_class_keymap_adds_keys_and_the_argument_overrides(state: State) -> None:
    pressed: list[str] = []

    class WithKeys(CursesMonitor):
        keymap = {'X': lambda: pressed.append('class x'), 'Z': lambda: pressed.append('z')}
        keyalias = {**CursesMonitor.keyalias, curses.KEY_F1: 'Z'}
    monitor = WithKeys(state, FakeApp(), keymap={'X': lambda: pressed.append('arg x')})
    monitor.win = ScriptedWindow(['x', curses.KEY_F1, 'j'])
    for _ in range(3):
        monitor.handle_keypress()
    assert pressed == ['arg x', 'z'] and monitor.selected_task == 'bad-2'
    assert CursesMonitor(state, FakeApp()).keymap['J'].__name__ == 'move_selection_down'


def test_display_height_limit_and_tasks(state: State) -> None:
    monitor, window = monitor_in(state, height=30)
    assert monitor.display_height == monitor.limit == 30 - 3 - 6
    assert [uuid for uuid, _ in monitor.tasks] == ['bad-2', 'ok-1']
    window.height = 10
    assert monitor.display_height == 1 and [uuid for uuid, _ in monitor.tasks] == ['bad-2']
    assert [w.hostname for w in monitor.workers] == ['w1@x', 'w2@x']


def test_find_position_follows_the_selection(state: State) -> None:
    monitor, _ = monitor_in(state)
    assert monitor.find_position() == 0
    monitor.move_selection()
    monitor.move_selection()
    assert monitor.selected_task == 'ok-1' and monitor.selected_position == 1
    monitor.move_selection(-1)
    assert monitor.selected_position == monitor.find_position() == 0
    monitor.selected_task = 'gone'
    assert monitor.find_position() == 0


def test_format_row_pads_and_shortens_columns(state: State) -> None:
    monitor, _ = monitor_in(state, width=140)
    row = monitor.format_row('u' * 36, 'proj.tasks.add', 'w1@x', '12:00:00', 'SUCCESS')
    assert row.startswith('u' * 36 + ' proj.tasks.add ')
    assert row.endswith(' 12:00:00 SUCCESS ')
    narrow, _ = monitor_in(state, width=60)
    row = narrow.format_row('u', 'a.very.long.module.path.task_name', 'x' * 40, '', 'S')
    task_col, worker_col = row.split()[1], row.split()[2]
    assert len(task_col) <= 16 and task_col.endswith('task_name')
    assert len(worker_col) == 15 and worker_col.endswith('...')


def test_display_task_row_draws_one_task(state: State) -> None:
    monitor, window = monitor_in(state)
    monitor.selected_task = 'ok-1'
    monitor.display_task_row(7, state.tasks['ok-1'])
    line = window.rows[7]
    assert line.startswith('ok-1 ') and 'proj.add' in line and 'w1@x' in line
    assert line.rstrip().endswith('SUCCESS')


def test_safe_add_str_cuts_to_the_screen(state: State) -> None:
    monitor, window = monitor_in(state, width=20, height=5)
    monitor.safe_add_str(1, 5, 'x' * 50, curses.A_BOLD)
    assert window.rows[1] == ' ' * 5 + 'x' * 14
    monitor.safe_add_str(5, 0, 'below the screen')
    monitor.safe_add_str(-1, 0, 'above the screen')
    monitor.safe_add_str(0, 30, 'right of the screen')
    assert set(window.rows) == {1}

    def fails(*args: object) -> None:
        raise curses.error('addwstr() returned ERR')
    window.addstr = fails
    monitor.safe_add_str(0, 0, 'ignored')


def test_nap_sleeps_screen_delay(state: State, no_terminal: list[str]) -> None:
    monitor, _ = monitor_in(state)
    monitor.nap()
    monitor.screen_delay = 250
    monitor.nap()
    assert no_terminal == ['napms 10', 'napms 250']


def test_alert_shows_the_callback_lines_until_a_key(state: State) -> None:
    monitor, window = monitor_in(state, keys=['x'])
    monitor.alert(lambda: ['first', 'second'], 'A title')
    lines = window.snapshots[-1].splitlines()
    assert lines[0] == 'A title' and lines[2:4] == ['   first', '   second']
    monitor.win.keys = [ord('x')]
    monitor.alert(lambda: iter(['untitled']))
    assert window.snapshots[-1].splitlines()[2] == '   untitled'


def test_alert_remote_control_reply(state: State) -> None:
    monitor, window = monitor_in(state, keys=['x', 'x'])
    monitor.alert_remote_control_reply([{'w1@x': {'ok': 'pong'}}, {'w2@x': {'error': 'no'}}])
    screen = window.snapshots[-1]
    assert screen.startswith('Remote control replies')
    assert 'w1@x: pong' in screen and 'w2@x: ERROR: no' in screen
    monitor.last_command = 'Ping'
    monitor.alert_remote_control_reply(None)
    assert window.snapshots[-1].startswith('Ping')
    assert 'No replies received within 1.0s.' in window.snapshots[-1]


def test_readline_reads_at_x_y(state: State) -> None:
    monitor, window = monitor_in(state, lines=['  10/s  '])
    positions: list[tuple[int, int]] = []
    getstr = window.getstr
    window.getstr = lambda y, x: positions.append((y, x)) or getstr(y, x)
    assert monitor.readline(7, 3) == '10/s'
    assert positions == [(3, 7)]


def test_init_screen_takes_the_terminal_and_resetscreen_gives_it_back(
        state: State, no_terminal: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    window = ScriptedWindow()
    monkeypatch.setattr(curses, 'initscr', lambda: window)
    monitor = CursesMonitor(state, FakeApp())
    monitor.init_screen()
    assert monitor.win is window and no_terminal == ['noecho', 'cbreak']
    monitor.resetscreen()
    assert no_terminal[2:] == ['nocbreak', 'echo', 'endwin']


def test_init_screen_keeps_a_window_already_set(
        state: State, no_terminal: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(curses, 'initscr', lambda: pytest.fail('initscr called'))
    monitor, window = monitor_in(state)
    monitor.init_screen()
    assert monitor.win is window and no_terminal == []


def test_display_thread_draws_until_q(state: State, no_terminal: list[str]) -> None:
    monitor, window = monitor_in(state, keys=['j'])
    window.keys.append(ord('q'))
    thread = DisplayThread(monitor)
    assert thread.daemon and thread.display is monitor and thread.shutdown is False
    thread.start()
    thread.join(5)
    assert not thread.is_alive() and thread.exception is None
    assert monitor.selected_task == 'bad-2' and not monitor.keep_going
    assert 'napms 10' in no_terminal and 'bad-2' in window.snapshots[-1]


def test_display_thread_stops_on_shutdown(state: State, no_terminal: list[str]) -> None:
    monitor, _ = monitor_in(state)
    thread = DisplayThread(monitor)
    thread.start()
    thread.shutdown = True
    thread.join(5)
    assert not thread.is_alive() and monitor.keep_going


def test_display_thread_keeps_the_error_and_stops_the_display(
        state: State, no_terminal: list[str]) -> None:
    monitor, window = monitor_in(state)
    window.erase = lambda: 1 / 0
    thread = DisplayThread(monitor)
    thread.run()
    assert isinstance(thread.exception, ZeroDivisionError) and not monitor.keep_going


class EvtopApp(FakeApp):
    class events:
        State = State


def test_evtop_runs_until_q_and_restores_the_terminal(
        no_terminal: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    captured = threading.Event()
    monkeypatch.setattr(cursesmon, 'capture_events', lambda app, state, display: captured.set())
    monkeypatch.setattr(curses, 'initscr', lambda: ScriptedWindow(['q']))
    cursesmon.evtop(EvtopApp())
    assert captured.wait(5)
    assert no_terminal[:2] == ['noecho', 'cbreak'] and no_terminal[-1] == 'endwin'


def test_evtop_raises_the_display_error_after_restoring_the_terminal(
        no_terminal: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    window = ScriptedWindow()
    window.erase = lambda: 1 / 0
    monkeypatch.setattr(cursesmon, 'capture_events', lambda app, state, display: None)
    monkeypatch.setattr(curses, 'initscr', lambda: window)
    with pytest.raises(ZeroDivisionError):
        cursesmon.evtop(EvtopApp())
    assert no_terminal[-1] == 'endwin'
