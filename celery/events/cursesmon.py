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
from collections.abc import Callable
from contextlib import suppress
from datetime import datetime
from typing import Any

from celery import VERSION_BANNER, states
from celery.utils.log import get_logger
from celery.utils.text import abbr, abbrtask

__all__ = ('CursesMonitor', 'capture_events', 'evtop')

logger = get_logger(__name__)

UUID_WIDTH = 36
STATE_WIDTH = 8
TIMESTAMP_WIDTH = 8
MIN_COLUMN_WIDTH = 8
#: Rows below the list: selection, workers, counters, message, blank, keys.
FOOTER_HEIGHT = 6
#: Rows above the list: title, blank, column header.
HEADER_HEIGHT = 3
#: Seconds to wait for the replies of a remote-control command.
REPLY_TIMEOUT = 1.0
#: Task fields listed first on the info screen, in this order.
TASK_MAIN_FIELDS = ('args', 'kwargs', 'result', 'exception', 'runtime', 'retries', 'eta',
                    'expires', 'root_id', 'parent_id', 'exchange', 'routing_key')
#: Task fields holding the UNIX time of an event, shown as dates.
TASK_TIME_FIELDS = ('sent', 'received', 'started', 'succeeded', 'failed', 'retried',
                    'revoked', 'rejected')
#: Event envelope fields that say nothing about the task itself.
ENVELOPE_FIELDS = ('clock', 'pid', 'utcoffset', 'local_received', 'timestamp')
#: How many of a worker's latest tasks its detail screen lists.
WORKER_RECENT_TASKS = 10

TASK_HELP = ('j:down k:up i:info t:traceback r:result c:revoke l:rate-limit '
             'w:workers q:quit')
WORKER_HELP = 'j:down k:up i:info s:shutdown w:tasks q:quit'
DETAIL_HELP = 'j/k: scroll, any other key: back'
NO_TASK = 'No task selected: move the selection with j/k first.'
NO_WORKER = 'No worker selected: move the selection with j/k first.'
NO_REPLY = 'No replies received within {timeout}s.'

STATE_COLORS = {
    states.SUCCESS: curses.COLOR_GREEN,
    states.FAILURE: curses.COLOR_RED,
    states.STARTED: curses.COLOR_YELLOW,
    states.REVOKED: curses.COLOR_MAGENTA,
    states.RETRY: curses.COLOR_CYAN,
}

#: Keys that act like a letter of the key map.
KEY_ALIASES = {
    curses.KEY_DOWN: 'J',
    curses.KEY_UP: 'K',
    curses.KEY_ENTER: 'I',
    ord('\n'): 'I',
    ord('\r'): 'I',
}


def _quietly(fun: Callable[..., Any], *args: Any) -> None:
    # Terminal capabilities (cursor visibility, beeps, echo) are cosmetic:
    # a terminal lacking one must not stop the monitor.
    with suppress(curses.error):
        fun(*args)


def key_name(key: int) -> str | None:
    """Return the upper-case letter (or alias) a ``getch`` code stands for."""
    if key in KEY_ALIASES:
        return KEY_ALIASES[key]
    if 0 <= key < 256:
        return chr(key).upper()
    return None


def format_reply(replies: list[dict[str, Any]] | None, timeout: float) -> list[str]:
    """One ``node: answer`` line per remote-control reply."""
    lines = []
    for reply in replies or ():
        for node, answer in reply.items():
            if isinstance(answer, dict) and 'error' in answer:
                lines.append(f'{node}: ERROR: {answer["error"]}')
            elif isinstance(answer, dict) and 'ok' in answer:
                lines.append(f'{node}: {answer["ok"]}')
            else:
                lines.append(f'{node}: {answer}')
    return lines or [NO_REPLY.format(timeout=timeout)]


def seconds_ago(timestamp: float | None) -> str:
    """``3.2s ago`` for a past UNIX time, ``-`` when unknown."""
    if not timestamp:
        return '-'
    return f'{max(time.time() - timestamp, 0.0):.1f}s ago'


class CursesMonitor:
    """Draw the cluster state and act on the selected task or worker."""

    win: Any = None
    screen_delay = 100  # ms between redraws while no key is pressed
    selected_task: str | None = None
    selected_worker: str | None = None
    selected_str = 'Selected: '
    limit = 20

    def __init__(self, state: Any, app: Any, keymap: dict[str, Callable[[], Any]] | None = None
                 ) -> None:
        self.app = app
        self.state = state
        self.keep_going = True
        self.lock = threading.RLock()
        self.message = ''
        self.screen = 'tasks'
        self.colors = False
        self.keymap: dict[str, Callable[[], Any]] = {
            'J': self.move_selection_down, 'K': self.move_selection_up,
            'I': self.selection_info, 'T': self.selection_traceback,
            'R': self.selection_result, 'C': self.revoke_selection,
            'L': self.selection_rate_limit, 'W': self.show_workers, 'Q': self.stop,
        }
        self.keymap.update(keymap or {})
        self.worker_keymap: dict[str, Callable[[], Any]] = {
            'J': self.move_worker_down, 'K': self.move_worker_up,
            'I': self.worker_info, 'S': self.shutdown_worker,
            'W': self.show_tasks, 'Q': self.stop,
        }

    # -- layout ------------------------------------------------------------------------

    @property
    def screen_width(self) -> int:
        """Terminal width in columns."""
        return self.win.getmaxyx()[1]

    @property
    def screen_height(self) -> int:
        """Terminal height in rows."""
        return self.win.getmaxyx()[0]

    @property
    def display_width(self) -> int:
        """Columns that can be written without wrapping."""
        return max(self.screen_width - 1, 1)

    def column_widths(self) -> tuple[int, int]:
        """Widths of the worker and task-name columns."""
        # Everything, STATE included, must fit on one line of the terminal.
        rest = self.screen_width - 1 - UUID_WIDTH - STATE_WIDTH - TIMESTAMP_WIDTH - 5
        worker = max(MIN_COLUMN_WIDTH, rest // 2)
        return worker, max(MIN_COLUMN_WIDTH, rest - worker)

    def list_rows(self) -> int:
        """How many rows of tasks or workers fit between header and footer."""
        return max(self.screen_height - HEADER_HEIGHT - FOOTER_HEIGHT, 1)

    def tasks(self) -> list[tuple[str, Any]]:
        """The newest tasks that fit on the screen."""
        return list(self.state.tasks_by_time(limit=self.limit))

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
        name = key_name(key) if key >= 0 else None
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

    # -- the task screen ---------------------------------------------------------------

    def move_selection(self, direction: int) -> None:
        """Select the task ``direction`` rows below (negative: above)."""
        uuids = [uuid for uuid, _ in self.tasks()]
        self.selected_task = _step(uuids, self.selected_task, direction)

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
        self.show_detail(f'Revoke {task_id}', format_reply(replies, REPLY_TIMEOUT))

    def selection_rate_limit(self) -> None:
        """Ask for a rate and apply it to the selected task's type (``l``)."""
        task = self.selected()
        if task is None or not task.name:
            return self.beep(NO_TASK)
        rlimit = self.readline(f'New rate limit for {task.name} (e.g. 10/m, 0 disables; '
                               'empty cancels): ')
        if not rlimit:
            self.message = 'Rate limit unchanged.'
            return
        replies = self.app.control.rate_limit(task.name, rlimit, reply=True,
                                              timeout=REPLY_TIMEOUT)
        self.show_detail(f'Rate limit {rlimit} for {task.name}',
                         format_reply(replies, REPLY_TIMEOUT))

    def show_workers(self) -> None:
        """Switch to the worker screen (``w``)."""
        self.screen = 'workers'
        self.message = ''
        if self.selected_worker is None:
            self.move_worker_down()

    # -- the worker screen -------------------------------------------------------------

    def show_tasks(self) -> None:
        """Switch back to the task screen (``w`` on the worker screen)."""
        self.screen = 'tasks'
        self.message = ''

    def move_worker(self, direction: int) -> None:
        """Select the worker ``direction`` rows below (negative: above)."""
        names = [worker.hostname for worker in self.workers()]
        self.selected_worker = _step(names, self.selected_worker, direction)

    def move_worker_up(self) -> None:
        """Select the worker above (``k``)."""
        self.move_worker(-1)

    def move_worker_down(self) -> None:
        """Select the worker below (``j``)."""
        self.move_worker(1)

    def worker_info(self) -> None:
        """Show the selected worker's fields and its latest tasks (``i``)."""
        worker = self.state.workers.get(self.selected_worker) if self.selected_worker else None
        if worker is None:
            return self.beep(NO_WORKER)
        last = worker.heartbeats[-1] if worker.heartbeats else None
        lines = [f'status: {worker.status_string}', f'last heartbeat: {seconds_ago(last)}']
        lines += [f'{key}: {value}' for key, value in worker.as_dict().items()
                  if key != 'heartbeats' and value is not None]
        recent = list(self.state.tasks_by_worker(worker.hostname, limit=WORKER_RECENT_TASKS))
        lines.append(f'latest tasks ({len(recent)}):')
        lines += [f'  {uuid} {task.name} {task.state}' for uuid, task in recent]
        self.show_detail(f'Worker info: {worker.hostname}', lines)

    def shutdown_worker(self) -> None:
        """Warm-shutdown the selected worker after a confirmation (``s``)."""
        name = self.selected_worker
        if not name:
            return self.beep(NO_WORKER)
        if self.readline(f'Shut down {name}? Type y to confirm: ').lower() not in ('y', 'yes'):
            self.message = f'{name} left running.'
            return
        replies = self.app.control.shutdown(destination=[name], reply=True,
                                            timeout=REPLY_TIMEOUT, limit=1)
        self.show_detail(f'Shutdown {name}', format_reply(replies, REPLY_TIMEOUT))

    # -- modal views -------------------------------------------------------------------

    def readline(self, prompt: str) -> str:
        """Read a line of text typed at the bottom of the screen."""
        y = self.screen_height - 2
        self.win.move(y, 0)
        self.win.clrtoeol()
        self.win.addstr(y, 0, prompt[:self.display_width], curses.A_BOLD)
        _quietly(curses.echo)
        _quietly(curses.curs_set, 1)
        self.win.nodelay(False)
        try:
            text = self.win.getstr(y, min(len(prompt), self.display_width - 1))
        finally:
            _quietly(curses.noecho)
            _quietly(curses.curs_set, 0)
            self.win.timeout(self.screen_delay)
        return (text.decode(errors='replace') if isinstance(text, bytes) else text).strip()

    def show_detail(self, title: str, lines: list[str]) -> None:
        """Show ``lines`` full screen, scrolling with j/k, until another key is pressed."""
        width = max(self.display_width - 2, 10)
        wrapped = [part for line in lines
                   for part in (textwrap.wrap(line, width, replace_whitespace=False,
                                              drop_whitespace=False) or [''])]
        offset = 0
        self.win.nodelay(False)
        try:
            while True:
                page = max(self.screen_height - 4, 1)
                self._draw_detail(title, wrapped[offset:offset + page])
                name = key_name(self.win.getch())
                if name == 'J' and offset + page < len(wrapped):
                    offset += 1
                elif name == 'K' and offset > 0:
                    offset -= 1
                elif name not in ('J', 'K'):
                    return
        finally:
            self.win.timeout(self.screen_delay)

    def _draw_detail(self, title: str, lines: list[str]) -> None:
        win = self.win
        win.erase()
        win.addstr(0, 0, title[:self.display_width], curses.A_BOLD)
        for y, line in enumerate(lines, start=2):
            win.addstr(y, 2, line[:self.display_width - 2])
        win.addstr(self.screen_height - 1, 0, DETAIL_HELP[:self.display_width], curses.A_DIM)
        win.refresh()

    # -- drawing -----------------------------------------------------------------------

    def draw(self) -> None:
        """Redraw the current screen."""
        with self.lock:
            self.win.erase()
            self.win.addstr(0, 0, f'celery events {VERSION_BANNER}'[:self.display_width],
                            curses.A_BOLD)
            self.limit = self.list_rows()
            if self.screen == 'workers':
                self._draw_workers()
            else:
                self._draw_tasks()
            self.win.refresh()

    def _draw_tasks(self) -> None:
        width = self.display_width
        worker_w, task_w = self.column_widths()
        header = (f'{"UUID":<{UUID_WIDTH}} {"TASK":<{task_w}} {"WORKER":<{worker_w}} '
                  f'{"TIME":<{TIMESTAMP_WIDTH}} STATE')
        self.win.addstr(2, 0, header[:width].ljust(width), curses.A_STANDOUT)
        for y, (uuid, task) in enumerate(self.tasks(), start=HEADER_HEIGHT):
            self._draw_task(y, uuid, task, task_w, worker_w, width)
        task = self.selected()
        detail = ' '.join(f'{key}={value}' for key, value in task.info().items()) \
            if task is not None else ''
        self._draw_footer(f'{self.selected_str}{detail}', TASK_HELP)

    def _draw_task(self, y: int, uuid: str, task: Any, task_w: int, worker_w: int,
                   width: int) -> None:
        when = datetime.fromtimestamp(task.timestamp).strftime('%H:%M:%S') \
            if task.timestamp else ''
        worker = task.worker.hostname if task.worker else (task.client or '')
        line = (f'{uuid:<{UUID_WIDTH}} {abbrtask(task.name or "", task_w):<{task_w}} '
                f'{abbr(worker, worker_w):<{worker_w}} {when:<{TIMESTAMP_WIDTH}} ')
        attr = curses.A_REVERSE if uuid == self.selected_task else curses.A_NORMAL
        self.win.addstr(y, 0, line[:width], attr)
        if len(line) < width:
            self.win.addstr(y, len(line), task.state[:width - len(line)],
                            self._state_attr(task.state) | attr)

    def _state_attr(self, state: str) -> int:
        color = STATE_COLORS.get(state)
        return curses.color_pair(color) if color and self.colors else curses.A_NORMAL

    def _draw_workers(self) -> None:
        width = self.display_width
        name_w = max(MIN_COLUMN_WIDTH, width - 58)
        header = (f'{"WORKER":<{name_w}} {"STATUS":<8} {"ACTIVE":>6} {"PROCESSED":>9} '
                  f'{"LOAD AVERAGE":<18} HEARTBEAT')
        self.win.addstr(2, 0, header[:width].ljust(width), curses.A_STANDOUT)
        rows = self.workers()[:self.list_rows()]
        for y, worker in enumerate(rows, start=HEADER_HEIGHT):
            load = ' '.join(f'{value:.2f}' if isinstance(value, float) else str(value)
                            for value in worker.loadavg or ())
            last = worker.heartbeats[-1] if worker.heartbeats else None
            line = (f'{abbr(worker.hostname or "", name_w):<{name_w}} '
                    f'{worker.status_string:<8} {worker.active or 0:>6} '
                    f'{worker.processed or 0:>9} {load:<18} {seconds_ago(last)}')
            attr = curses.A_REVERSE if worker.hostname == self.selected_worker \
                else curses.A_NORMAL
            self.win.addstr(y, 0, line[:width], attr)
        self._draw_footer(f'{self.selected_str}{self.selected_worker or ""}', WORKER_HELP)

    def _draw_footer(self, selection: str, help_line: str) -> None:
        width = self.display_width
        y = self.screen_height - FOOTER_HEIGHT
        workers = self.state.alive_workers()
        names = ', '.join(sorted(w.hostname for w in workers)) or 'None'
        self.win.addstr(y, 0, selection[:width])
        self.win.addstr(y + 1, 0, f'Workers online: {names}'[:width])
        self.win.addstr(y + 2, 0, (f'Events: {self.state.event_count} '
                                   f'tasks:{self.state.task_count} '
                                   f'workers:{len(workers)}/{len(self.state.workers)}')[:width])
        self.win.addstr(y + 3, 0, self.message[:width])
        self.win.addstr(y + 5, 0, help_line[:width], curses.A_DIM)

    # -- main loop ---------------------------------------------------------------------

    def init_screen(self, win: Any) -> None:
        """Take over the curses window ``win``."""
        self.win = win
        _quietly(curses.curs_set, 0)
        win.keypad(True)
        win.timeout(self.screen_delay)
        if curses.has_colors():
            curses.start_color()
            _quietly(curses.use_default_colors)
            for color in STATE_COLORS.values():
                _quietly(curses.init_pair, color, color, -1)
            self.colors = True

    def run(self, win: Any) -> None:
        """The curses main loop (pass to :func:`curses.wrapper`)."""
        self.init_screen(win)
        while self.keep_going:
            try:
                self.draw()
            except curses.error:
                # A terminal too small for the layout: keep reading keys so
                # the user can resize it or quit.
                pass
            self.handle_keypress()


def task_info_lines(task: Any) -> list[str]:
    """``field: value`` lines for a task: the main fields, then times, then the rest."""
    fields = vars(task)
    worker = task.worker.hostname if task.worker else None
    lines = [f'{key}: {value}' for key, value in
             [('uuid', task.uuid), ('name', task.name), ('state', task.state),
              ('worker', worker), ('client', task.client)]
             + [(key, fields.get(key)) for key in TASK_MAIN_FIELDS]
             if value is not None]
    lines += [f'{key}: {datetime.fromtimestamp(fields[key]).isoformat(" ")}'
              for key in TASK_TIME_FIELDS if fields.get(key)]
    shown = {'uuid', 'name', 'state', 'worker', 'client', 'traceback', 'cluster_state',
             'children', *TASK_MAIN_FIELDS, *TASK_TIME_FIELDS, *ENVELOPE_FIELDS}
    lines += [f'{key}: {value}' for key, value in sorted(fields.items())
              if key not in shown and value is not None]
    return lines


def _step(items: list[Any], current: Any, direction: int) -> Any:
    """The item ``direction`` places from ``current`` (the first or last one if unknown)."""
    if not items:
        return current
    index = items.index(current) + direction if current in items else \
        (0 if direction > 0 else len(items) - 1)
    return items[min(max(index, 0), len(items) - 1)]


def capture_events(app: Any, state: Any, display: CursesMonitor) -> None:
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


def evtop(app: Any = None) -> None:
    """Run the curses monitor until ``q`` or Ctrl-C is pressed."""
    from celery._state import app_or_default
    app = app_or_default(app)
    state = app.events.State()
    display = CursesMonitor(state, app)
    thread = threading.Thread(target=capture_events, args=(app, state, display), daemon=True,
                              name='celery-events-capture')
    thread.start()
    try:
        curses.wrapper(display.run)
    except KeyboardInterrupt:
        pass
    finally:
        display.keep_going = False
