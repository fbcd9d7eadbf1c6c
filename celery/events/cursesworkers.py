"""The worker screen of the curses monitor (``w`` switches to it and back)."""
from __future__ import annotations

import curses
from typing import TYPE_CHECKING, Any

from celery.events.cursestext import HEADER_HEIGHT, REPLY_TIMEOUT, seconds_ago, step
from celery.utils.text import abbr

if TYPE_CHECKING:
    from celery.app.base import Celery
    from celery.events.state import Worker

__all__ = ('WorkerScreen',)

WORKER_HELP = 'j:down k:up i:info s:shutdown w:tasks q:quit'
NO_WORKER = 'No worker selected: move the selection with j/k first.'
#: How many of a worker's latest tasks its detail screen lists.
WORKER_RECENT_TASKS = 10
#: Columns of the worker list besides the name (status, counters, load, heartbeat).
WORKER_FIXED_COLUMNS = 58
#: Narrowest the worker-name column gets.
MIN_NAME_WIDTH = 8


class WorkerScreen:
    """Worker list, worker details and shutdown, mixed into the monitor.

    Drawing, prompts and alerts come from :class:`~celery.events.cursesmon.CursesMonitor`.
    """

    selected_worker: str | None = None
    screen = 'tasks'
    state: Any
    app: Celery
    message: str

    def worker_keys(self) -> dict[str, Any]:
        """Key map of the worker screen."""
        return {'J': self.move_worker_down, 'K': self.move_worker_up,
                'I': self.worker_info, 'S': self.shutdown_worker,
                'W': self.show_tasks, 'Q': self.stop}

    def show_workers(self) -> None:
        """Switch to the worker screen (``w``)."""
        self.screen = 'workers'
        self.message = ''
        if self.selected_worker is None:
            self.move_worker_down()

    def show_tasks(self) -> None:
        """Switch back to the task screen (``w`` on the worker screen)."""
        self.screen = 'tasks'
        self.message = ''

    def move_worker(self, direction: int) -> None:
        """Select the worker ``direction`` rows below (negative: above)."""
        names = [worker.hostname for worker in self.workers]
        self.selected_worker = step(names, self.selected_worker, direction)

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
        if self.prompt(f'Shut down {name}? Type y to confirm: ').lower() not in ('y', 'yes'):
            self.message = f'{name} left running.'
            return
        self.last_command = f'Shutdown {name}'
        self.alert_remote_control_reply(self.app.control.shutdown(
            destination=[name], reply=True, timeout=REPLY_TIMEOUT, limit=1))

    def draw_workers(self) -> None:
        """Draw the worker list and its footer."""
        name_w = max(MIN_NAME_WIDTH, self.display_width - WORKER_FIXED_COLUMNS)
        header = (f'{"WORKER":<{name_w}} {"STATUS":<8} {"ACTIVE":>6} {"PROCESSED":>9} '
                  f'{"LOAD AVERAGE":<18} HEARTBEAT')
        self.draw_column_header(header)
        for y, worker in enumerate(self.workers[:self.display_height], start=HEADER_HEIGHT):
            attr = curses.A_REVERSE if worker.hostname == self.selected_worker \
                else curses.A_NORMAL
            self.safe_add_str(y, 0, worker_row(worker, name_w), attr)
        self.draw_footer(f'{self.selected_str}{self.selected_worker or ""}', WORKER_HELP)


def worker_row(worker: Worker, name_width: int) -> str:
    """One line of the worker list."""
    load = ' '.join(f'{value:.2f}' if isinstance(value, float) else str(value)
                    for value in worker.loadavg or ())
    last = worker.heartbeats[-1] if worker.heartbeats else None
    return (f'{abbr(worker.hostname or "", name_width):<{name_width}} '
            f'{worker.status_string:<8} {worker.active or 0:>6} '
            f'{worker.processed or 0:>9} {load:<18} {seconds_ago(last)}')
