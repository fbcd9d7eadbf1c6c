"""ANSI terminal colours."""
from __future__ import annotations

import base64
import os
import sys
from collections.abc import Callable
from typing import Any

__all__ = ('colored', 'imgcat', 'supports_images')

BLACK, RED, GREEN, YELLOW, BLUE, MAGENTA, CYAN, WHITE = range(8)
OP_SEQ = '\033[%dm'
RESET_SEQ = '\033[0m'
COLOR_SEQ = '\033[1;%dm'

IS_WINDOWS = sys.platform == 'win32'

#: The terminal type, and whether it is screen/tmux (escape codes must pass through it).
TERM = os.environ.get('TERM', 'xterm')
TERM_IS_SCREEN = TERM.startswith('screen')
#: Set by iTerm2, the terminal that shows inline images.
ITERM_PROFILE = os.environ.get('ITERM_PROFILE')


def fg(s: int) -> str:
    """The escape code selecting foreground colour ``s`` of the 256-colour palette."""
    return f'\033[38;5;{s:d}m'


class colored:
    """Text wrapped in terminal colour codes.

    Chain calls to combine styles, e.g. ``str(colored().red('x'))``; with
    ``enabled=False`` the codes are left out and plain text comes out.
    """

    def __init__(self, *s: Any, **kwargs: Any) -> None:
        self.s: tuple[Any, ...] = s
        self.enabled: bool = not IS_WINDOWS and kwargs.get('enabled', True)
        self.op: str = kwargs.get('op', '')
        self.names: dict[str, Callable[..., colored]] = {
            'black': self.black, 'red': self.red, 'green': self.green,
            'yellow': self.yellow, 'blue': self.blue, 'magenta': self.magenta,
            'cyan': self.cyan, 'white': self.white,
        }

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild_colored, (self.s, self.enabled, self.op))

    def __repr__(self) -> str:
        return repr(self.no_color())

    def __str__(self) -> str:
        suffix = RESET_SEQ if self.enabled else ''
        return self.embed() + suffix

    def __add__(self, other: Any) -> str:
        return str(self) + str(other)

    def _fold_no_color(self, a: Any, b: Any) -> str:
        a = a.no_color() if isinstance(a, colored) else a
        b = b.no_color() if isinstance(b, colored) else b
        return f'{a}{b}'

    def no_color(self) -> str:
        """The text without any escape codes."""
        text = ''
        for part in self.s:
            text = self._fold_no_color(text, part)
        return text

    def embed(self) -> str:
        """The text with escape codes but without the final reset."""
        prefix = self.op if self.enabled else ''
        body = ''.join(part.embed() if isinstance(part, colored) else str(part)
                       for part in self.s)
        return prefix + body

    def node(self, s: tuple[Any, ...], op: str) -> colored:
        """A new styled node around ``s``."""
        return type(self)(*s, enabled=self.enabled, op=op)

    def _fg(self, color: int, s: tuple[Any, ...]) -> colored:
        return self.node(s, COLOR_SEQ % (30 + color))

    def black(self, *s: Any) -> colored:
        """Black text."""
        return self._fg(BLACK, s)

    def red(self, *s: Any) -> colored:
        """Red text."""
        return self._fg(RED, s)

    def green(self, *s: Any) -> colored:
        """Green text."""
        return self._fg(GREEN, s)

    def yellow(self, *s: Any) -> colored:
        """Yellow text."""
        return self._fg(YELLOW, s)

    def blue(self, *s: Any) -> colored:
        """Blue text."""
        return self._fg(BLUE, s)

    def magenta(self, *s: Any) -> colored:
        """Magenta text."""
        return self._fg(MAGENTA, s)

    def cyan(self, *s: Any) -> colored:
        """Cyan text."""
        return self._fg(CYAN, s)

    def white(self, *s: Any) -> colored:
        """White text."""
        return self._fg(WHITE, s)

    def bold(self, *s: Any) -> colored:
        """Bold text."""
        return self.node(s, OP_SEQ % 1)

    def underline(self, *s: Any) -> colored:
        """Underlined text."""
        return self.node(s, OP_SEQ % 4)

    def blink(self, *s: Any) -> colored:
        """Blinking text."""
        return self.node(s, OP_SEQ % 5)

    def reverse(self, *s: Any) -> colored:
        """Reverse-video text."""
        return self.node(s, OP_SEQ % 7)

    def bright(self, *s: Any) -> colored:
        """Bright text."""
        return self.node(s, OP_SEQ % 8)

    def ired(self, *s: Any) -> colored:
        """Bright red text."""
        return self.node(s, OP_SEQ % (90 + RED))

    def igreen(self, *s: Any) -> colored:
        """Bright green text."""
        return self.node(s, OP_SEQ % (90 + GREEN))

    def iyellow(self, *s: Any) -> colored:
        """Bright yellow text."""
        return self.node(s, OP_SEQ % (90 + YELLOW))

    def iblue(self, *s: Any) -> colored:
        """Bright blue text."""
        return self.node(s, OP_SEQ % (90 + BLUE))

    def imagenta(self, *s: Any) -> colored:
        """Bright magenta text."""
        return self.node(s, OP_SEQ % (90 + MAGENTA))

    def icyan(self, *s: Any) -> colored:
        """Bright cyan text."""
        return self.node(s, OP_SEQ % (90 + CYAN))

    def iwhite(self, *s: Any) -> colored:
        """Bright white text."""
        return self.node(s, OP_SEQ % (90 + WHITE))

    def reset(self, *s: Any) -> colored:
        """Text preceded by a reset of all styles."""
        return self.node(s or ('',), RESET_SEQ)


def _rebuild_colored(s: tuple[Any, ...], enabled: bool, op: str) -> colored:
    return colored(*s, enabled=enabled, op=op)


def supports_images() -> bool:
    """Return True if the terminal can show inline images (iTerm2 only)."""
    try:
        return sys.stdin.isatty() and bool(ITERM_PROFILE)
    except (AttributeError, ValueError):
        return False


def imgcat(path: str, inline: int = 1, preserve_aspect_ratio: int = 0, **kwargs: Any) -> str:
    """Return the iTerm2 escape sequence that shows the image at ``path``."""
    with open(path, 'rb') as fh:
        data = base64.b64encode(fh.read()).decode('ascii')
    options = {'inline': inline, 'preserveAspectRatio': preserve_aspect_ratio, **kwargs}
    args = ';'.join(f'{key}={value}' for key, value in options.items())
    sequence = f'\033]1337;File={args}:{data}\a'
    if TERM_IS_SCREEN:
        # screen/tmux swallow unknown sequences unless wrapped as a passthrough.
        return f'\033Ptmux;\033{sequence}\033\\'
    return sequence
