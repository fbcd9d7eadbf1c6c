"""``celery events``: a curses monitor of workers and tasks.

Keys on the task screen: ``j``/``k`` (or the arrow keys) move the selection,
``i`` (or Enter) shows every field of the selected task, ``t`` its traceback,
``r`` its result, ``c`` revokes it, ``l`` sets a rate limit for its task type,
``w`` switches to the worker screen, ``q`` (or Ctrl-C) quits.  On the worker
screen ``j``/``k`` select a worker, ``i`` shows its details and latest tasks,
``s`` shuts it down (after a confirmation) and ``w`` goes back to the tasks.
"""
from __future__ import annotations

import curses
import textwrap
import threading
import time
from collections.abc import Callable, Iterable
from contextlib import suppress
from datetime import datetime
from typing import TYPE_CHECKING, Any

from celery import VERSION_BANNER, states
from celery._state import app_or_default
from celery.events.cursestext import (BORDER_SPACING, DETAIL_HELP, FOOTER_HEIGHT,
                                      HEADER_HEIGHT, KEY_ALIASES, LEFT_BORDER_OFFSET, NO_TASK,
                                      REPLY_TIMEOUT, STATE_COLORS, STATE_WIDTH,
                                      STATUS_SCREEN, TASK_HELP, TIMESTAMP_WIDTH, UUID_WIDTH,
                                      column_widths, format_reply, key_name, step,
                                      task_info_lines)
# Layout names and helpers ``celery.events.cursesmon`` offers, defined with the rest
# of the monitor's text.
from celery.events.cursestext import (MIN_TASK_WIDTH, MIN_WORKER_WIDTH,  # noqa: F401
                                      seconds_ago)
from celery.events.cursesworkers import WorkerScreen
from celery.utils.log import get_logger
from celery.utils.text import abbr, abbrtask

if TYPE_CHECKING:
    from celery.app.base import Celery

__all__ = ('CursesMonitor', 'capture_events', 'evtop')

logger = get_logger(__name__)

#: Longest wait (ms) for a key before the screen is drawn again.
KEY_WAIT = 90
#: Colour pair of the column header (pairs 1-7 are the state colours).
HEADER_PAIR = 8


def _quietly(fun: Callable[..., Any], *args: Any) -> None:
    # Terminal capabilities (cursor visibility, beeps, echo) are cosmetic:
    # a terminal lacking one must not stop the monitor.
    with suppress(curses.error):
        fun(*args)


class CursesMonitor(WorkerScreen):
    """Draw the cluster state and act on the selected task or worker."""

    #: Extra keys (upper-case letter -> callable) a subclass adds or overrides.
    keymap: dict[str, Callable[[], Any]] = {}
    #: ``getch`` codes that act like a letter of the key map.
    keyalias: dict[int, str] = dict(KEY_ALIASES)
    win: Any = None
    #: Milliseconds the display thread naps between redraws.
    screen_delay = 10
    selected_task: str | None = None
    #: Row of the selected task in the list (0 is the newest task).
    selected_position = 0
    selected_str = 'Selected: '
    #: Colours of the column header.
    foreground = curses.COLOR_BLACK
    background = curses.COLOR_WHITE
    online_str = 'Workers online: '
    help_title = 'Keys: '
    help = TASK_HELP
    info_str = 'Info: '
    greet = f'celery events {VERSION_BANNER}'

    def __init__(self, state: Any, app: Celery, keymap: dict[str, Callable[[], Any]] | None = None
                 ) -> None:
        self.app = app
        self.state = state
        self.keep_going = True
        self.lock = threading.RLock()
        self.message = ''
        self.last_command = ''
        self.screen = 'tasks'
        self.colors = False
        self.keymap = {
            'J': self.move_selection_down, 'K': self.move_selection_up,
            'I': self.selection_info, 'T': self.selection_traceback,
            'R': self.selection_result, 'C': self.revoke_selection,
            'L': self.selection_rate_limit, 'W': self.show_workers, 'Q': self.stop,
            **self.keymap, **(keymap or {}),
        }
        self.worker_keymap = self.worker_keys()

    # -- layout ------------------------------------------------------------------------

    @property
    def screen_width(self) -> int:
        """Terminal width in columns."""
        width: int = self.win.getmaxyx()[1]
        return width

    @property
    def screen_height(self) -> int:
        """Terminal height in rows."""
        height: int = self.win.getmaxyx()[0]
        return height

    @property
    def display_width(self) -> int:
        """Columns that can be written without wrapping."""
        return max(self.screen_width - 1, 1)

    @property
    def display_height(self) -> int:
        """Rows of tasks or workers that fit between the header and the footer."""
        return max(self.screen_height - HEADER_HEIGHT - FOOTER_HEIGHT, 1)

    @property
    def limit(self) -> int:
        """How many tasks the list shows."""
        return self.display_height

    @property
    def tasks(self) -> list[tuple[str, Any]]:
        """The newest ``(uuid, task)`` pairs that fit on the screen."""
        return list(self.state.tasks_by_time(limit=self.limit))

    @property
    def workers(self) -> list[Any]:
        """Every known worker, sorted by name."""
        return sorted(self.state.workers.values(), key=lambda w: w.hostname or '')

    # -- keys --------------------------------------------------------------------------

    def handle_keypress(self) -> None:
        """Read one key (or time out) and run its action on the current screen."""
        try:
            key = self.win.getch()
        except curses.error:
            return
        name = key_name(key, self.keyalias) if key >= 0 else None
        keymap = self.worker_keymap if self.screen == 'workers' else self.keymap
        action = keymap.get(name) if name else None
        if action is not None:
            with self.lock:
                action()

    def stop(self) -> None:
        """Leave the display loop after the current refresh (``q``)."""
        self.keep_going = False

    def beep(self, message: str) -> None:
        """Tell the user an action could not be done."""
        self.message = message
        _quietly(curses.beep)

    def nap(self) -> None:
        """Pause :attr:`screen_delay` milliseconds between two redraws."""
        curses.napms(self.screen_delay)

    # -- the task screen ---------------------------------------------------------------

    def find_position(self) -> int:
        """Row of the selected task in the list (0 when it is not shown), kept in
        :attr:`selected_position`."""
        uuids = [uuid for uuid, _ in self.tasks]
        self.selected_position = uuids.index(self.selected_task) \
            if self.selected_task in uuids else 0
        return self.selected_position

    def move_selection(self, direction: int = 1) -> None:
        """Select the task ``direction`` rows below (negative: above)."""
        uuids = [uuid for uuid, _ in self.tasks]
        self.selected_task = step(uuids, self.selected_task, direction)
        self.find_position()

    def move_selection_up(self) -> None:
        """Select the task above (``k``)."""
        self.move_selection(-1)

    def move_selection_down(self) -> None:
        """Select the task below (``j``)."""
        self.move_selection(1)

    def selected(self) -> Any:
        """The selected :class:`~celery.events.state.Task`, or None."""
        return self.state.tasks.get(self.selected_task) if self.selected_task else None

    def selection_info(self) -> None:
        """Show every known field of the selected task (``i``)."""
        task = self.selected()
        if task is None:
            return self.beep(NO_TASK)
        self.show_detail(f'Task info: {task.uuid}', task_info_lines(task))

    def selection_traceback(self) -> None:
        """Show the selected task's traceback (``t``)."""
        task = self.selected()
        if task is None:
            return self.beep(NO_TASK)
        if not task.traceback:
            return self.beep(f'Task {task.uuid} has no traceback (state {task.state}).')
        self.show_detail(f'Task traceback: {task.uuid}', task.traceback.splitlines())

    def selection_result(self) -> None:
        """Show the selected task's result or exception (``r``)."""
        task = self.selected()
        if task is None:
            return self.beep(NO_TASK)
        value = task.exception if task.state in states.EXCEPTION_STATES else task.result
        if value is None and not task.ready:
            return self.beep(f'Task {task.uuid} has no result yet (state {task.state}).')
        self.show_detail(f'Task result: {task.uuid}', [f'{task.state}: {value}'])

    def revoke_selection(self) -> None:
        """Revoke the selected task on every worker (``c``)."""
        task_id = self.selected_task
        if not task_id:
            return self.beep(NO_TASK)
        replies = self.app.control.revoke(task_id, reply=True, timeout=REPLY_TIMEOUT)
        self.message = f'Revoked {task_id}'
        self.last_command = f'Revoke {task_id}'
        self.alert_remote_control_reply(replies)

    def selection_rate_limit(self) -> None:
        """Ask for a rate and apply it to the selected task's type (``l``)."""
        task = self.selected()
        if task is None or not task.name:
            return self.beep(NO_TASK)
        rlimit = self.prompt(f'New rate limit for {task.name} (e.g. 10/m, 0 disables; '
                             'empty cancels): ')
        if not rlimit:
            self.message = 'Rate limit unchanged.'
            return
        self.last_command = f'Rate limit {rlimit} for {task.name}'
        self.alert_remote_control_reply(self.app.control.rate_limit(
            task.name, rlimit, reply=True, timeout=REPLY_TIMEOUT))

    # -- modal views -------------------------------------------------------------------

    def readline(self, x: int, y: int) -> str:
        """Read a line of text typed at column ``x`` of row ``y``."""
        _quietly(curses.echo)
        _quietly(curses.curs_set, 1)
        self.win.nodelay(False)
        try:
            text = self.win.getstr(y, x)
        finally:
            _quietly(curses.noecho)
            _quietly(curses.curs_set, 0)
            self.win.timeout(KEY_WAIT)
        return (text.decode(errors='replace') if isinstance(text, bytes) else text).strip()

    def prompt(self, text: str) -> str:
        """Show ``text`` at the bottom of the screen and read the answer typed after it."""
        y = self.screen_height - 2
        self.win.move(y, 0)
        self.win.clrtoeol()
        self.safe_add_str(y, 0, text, curses.A_BOLD)
        return self.readline(min(len(text), self.display_width - 1), y)

    def alert(self, callback: Callable[[], Iterable[str]], title: str | None = None) -> None:
        """Show the lines ``callback()`` returns full screen, under ``title``, until a
        key other than j/k (which scroll) is pressed."""
        width = max(self.display_width - BORDER_SPACING, 10)
        wrapped = [part for line in callback()
                   for part in (textwrap.wrap(line, width, replace_whitespace=False,
                                              drop_whitespace=False) or [''])]
        offset = 0
        self.win.nodelay(False)
        try:
            while True:
                page = max(self.screen_height - 4, 1)
                self._draw_alert(title or '', wrapped[offset:offset + page])
                name = key_name(self.win.getch(), self.keyalias)
                if name == 'J' and offset + page < len(wrapped):
                    offset += 1
                elif name == 'K' and offset > 0:
                    offset -= 1
                elif name not in ('J', 'K'):
                    return
        finally:
            self.win.timeout(KEY_WAIT)

    def show_detail(self, title: str, lines: list[str]) -> None:
        """Show ``lines`` in an :meth:`alert` titled ``title``."""
        self.alert(lambda: lines, title)

    def alert_remote_control_reply(self, reply: list[dict[str, Any]] | None) -> None:
        """Show one line per worker that answered a remote-control command."""
        self.alert(lambda: format_reply(reply, REPLY_TIMEOUT),
                   self.last_command or 'Remote control replies')

    def _draw_alert(self, title: str, lines: list[str]) -> None:
        self.win.erase()
        self.safe_add_str(0, 0, title, curses.A_BOLD)
        for y, line in enumerate(lines, start=2):
            self.safe_add_str(y, LEFT_BORDER_OFFSET, line)
        self.safe_add_str(self.screen_height - 1, 0, DETAIL_HELP, curses.A_DIM)
        self.win.refresh()

    # -- drawing -----------------------------------------------------------------------

    def safe_add_str(self, y: int, x: int, string: str, *args: Any, **kwargs: Any) -> None:
        """``win.addstr`` cut to the screen: never wraps and never fails on a small one."""
        if not 0 <= y < self.screen_height or not 0 <= x < self.display_width:
            return
        with suppress(curses.error):
            self.win.addstr(y, x, string[:self.display_width - x], *args, **kwargs)

    def format_row(self, uuid: str, task: str, worker: str, timestamp: str, state: str
                   ) -> str:
        """One line of the task list: the columns padded to this terminal's widths."""
        worker_w, task_w = column_widths(self.screen_width)
        return (f'{uuid:<{UUID_WIDTH}} {abbrtask(task, task_w):<{task_w}} '
                f'{abbr(worker, worker_w):<{worker_w}} {timestamp:<{TIMESTAMP_WIDTH}} '
                f'{state:<{STATE_WIDTH}}')

    def display_task_row(self, lineno: int, task: Any) -> None:
        """Draw ``task`` on row ``lineno``, its state in the state's colour."""
        when = datetime.fromtimestamp(task.timestamp).strftime('%H:%M:%S') \
            if task.timestamp else ''
        worker = task.worker.hostname if task.worker else (task.client or '')
        line = self.format_row(task.uuid, task.name or '', worker, when, '')
        attr = curses.A_REVERSE if task.uuid == self.selected_task else curses.A_NORMAL
        self.safe_add_str(lineno, 0, line, attr)
        self.safe_add_str(lineno, len(line) - STATE_WIDTH, task.state,
                          self._state_attr(task.state) | attr)

    def _state_attr(self, state: str) -> int:
        color = STATE_COLORS.get(state)
        return curses.color_pair(color) if color and self.colors else curses.A_NORMAL

    def draw(self) -> None:
        """Redraw the current screen."""
        with self.lock:
            self.win.erase()
            self.safe_add_str(0, 0, self.greet, curses.A_BOLD)
            if self.screen == 'workers':
                self.draw_workers()
            else:
                self.draw_tasks()
            self.win.refresh()

    def draw_tasks(self) -> None:
        """Draw the task list and its footer."""
        self.draw_column_header(self.format_row('UUID', 'TASK', 'WORKER', 'TIME', 'STATE'))
        for lineno, (_, task) in enumerate(self.tasks, start=HEADER_HEIGHT):
            self.display_task_row(lineno, task)
        task = self.selected()
        detail = ' '.join(f'{key}={value}' for key, value in task.info().items()) \
            if task is not None else ''
        self.draw_footer(f'{self.selected_str}{detail}', self.help)

    def draw_column_header(self, header: str) -> None:
        """Draw the column names as a bar across the screen."""
        attr = curses.color_pair(HEADER_PAIR) if self.colors else curses.A_STANDOUT
        self.safe_add_str(2, 0, header.ljust(self.display_width), attr)

    def draw_footer(self, selection: str, help_line: str) -> None:
        """Draw the selection, online workers, counters, message and keys."""
        y = self.screen_height - FOOTER_HEIGHT
        workers = self.state.alive_workers()
        names = ', '.join(sorted(w.hostname for w in workers)) or 'None'
        status = STATUS_SCREEN.format(events=self.state.event_count,
                                      tasks=self.state.task_count,
                                      alive=len(workers), workers=len(self.state.workers))
        self.safe_add_str(y, 0, selection)
        self.safe_add_str(y + 1, 0, f'{self.online_str}{names}')
        self.safe_add_str(y + 2, 0, f'{self.info_str}{status}')
        self.safe_add_str(y + 3, 0, self.message)
        self.safe_add_str(y + 5, 0, f'{self.help_title}{help_line}', curses.A_DIM)

    # -- the terminal ------------------------------------------------------------------

    def init_screen(self) -> None:
        """Take over the terminal (unless :attr:`win` is already set) and set it up."""
        if self.win is None:
            self.win = curses.initscr()
            _quietly(curses.noecho)
            _quietly(curses.cbreak)
        _quietly(curses.curs_set, 0)
        self.win.keypad(True)
        self.win.timeout(KEY_WAIT)
        with suppress(curses.error):  # a window of our own, not of a real terminal
            if curses.has_colors():
                self._init_colors()

    def _init_colors(self) -> None:
        curses.start_color()
        _quietly(curses.use_default_colors)
        for color in STATE_COLORS.values():
            _quietly(curses.init_pair, color, color, -1)
        _quietly(curses.init_pair, HEADER_PAIR, self.foreground, self.background)
        self.colors = True

    def resetscreen(self) -> None:
        """Give the terminal back as it was before :meth:`init_screen`."""
        _quietly(curses.nocbreak)
        if self.win is not None:
            _quietly(self.win.keypad, False)
        _quietly(curses.echo)
        _quietly(curses.endwin)

    def run(self, win: Any) -> None:
        """The display loop in ``win`` (pass to :func:`curses.wrapper`)."""
        self.win = win
        self.init_screen()
        while self.keep_going:
            self.draw()
            self.handle_keypress()


class DisplayThread(threading.Thread):
    """Redraw ``display`` and answer its keys until it stops or :attr:`shutdown` is set."""

    def __init__(self, display: CursesMonitor) -> None:
        super().__init__(name='celery-events-display', daemon=True)
        self.display = display
        self.shutdown = False
        #: What stopped the loop, re-raised once the terminal is restored.
        self.exception: BaseException | None = None

    def run(self) -> None:
        """Draw, wait for a key (or time out), nap; again."""
        display = self.display
        try:
            while not self.shutdown and display.keep_going:
                display.draw()
                display.handle_keypress()
                display.nap()
        except BaseException as exc:  # noqa: BLE001 - handed to the main thread
            self.exception = exc
            display.keep_going = False


def capture_events(app: Celery, state: Any, display: CursesMonitor) -> None:
    """Feed ``state`` from the event stream until the display stops, reconnecting."""
    while display.keep_going:
        conn = app.connection_for_read()
        try:
            with conn:
                recv = app.events.Receiver(conn, handlers={'*': state.event})
                for _ in recv.itercapture(limit=None, timeout=None, wakeup=True):
                    if not display.keep_going:
                        return
        except conn.connection_errors + conn.channel_errors + (OSError,) as exc:
            display.message = f'Connection to the broker lost ({exc}); reconnecting...'
            logger.warning('celery events: connection to %s lost: %r', conn.as_uri(), exc)
            time.sleep(1)


def evtop(app: Celery | None = None) -> None:
    """Run the curses monitor until ``q`` or Ctrl-C is pressed."""
    app = app_or_default(app)
    state = app.events.State()
    display = CursesMonitor(state, app)
    refresher = DisplayThread(display)
    try:
        display.init_screen()
        refresher.start()
        # Events are read in a daemon thread: a blocked read must not keep
        # ``q`` from ending the program.
        threading.Thread(target=capture_events, args=(app, state, display), daemon=True,
                         name='celery-events-capture').start()
        while refresher.is_alive():
            refresher.join(0.5)  # a timed join lets Ctrl-C through
    except KeyboardInterrupt:
        pass
    finally:
        display.keep_going = False
        refresher.shutdown = True
        if refresher.is_alive():
            refresher.join()
        display.resetscreen()
    if refresher.exception is not None:
        raise refresher.exception
