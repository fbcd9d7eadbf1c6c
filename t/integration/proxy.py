"""A loopback TCP proxy that tests cut and restore (an outage) or slow down (a late packet)."""
from __future__ import annotations

import socket
import threading
import time

__all__ = ('TcpProxy',)


class TcpProxy:
    """Forwards a free loopback port to ``target_port``; ``down()`` cuts every connection.

    With ``delay`` what the clients send reaches the server that many seconds late
    (the replies are not delayed).
    """

    def __init__(self, target_port: int, target_host: str = '127.0.0.1',
                 delay: float = 0.0) -> None:
        self.target_port = target_port
        self.target_host = target_host
        self.delay = delay
        probe = socket.socket()
        probe.bind(('127.0.0.1', 0))
        self.port = probe.getsockname()[1]
        probe.close()
        self._sockets: list[socket.socket] = []
        self._listener: socket.socket | None = None
        self._lock = threading.Lock()
        # Set while the server's bytes flow to the clients (hold_replies() clears it).
        self._replies = threading.Event()
        self._replies.set()

    def up(self, timeout: float = 5.0) -> None:
        """Listen again (retrying while the old listening socket is being released)."""
        deadline = time.monotonic() + timeout
        while True:
            listener = socket.socket()
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                listener.bind(('127.0.0.1', self.port))
                break
            except OSError:
                listener.close()
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        listener.listen(16)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def down(self) -> None:
        """Refuse new connections and reset the open ones."""
        with self._lock:
            listener, self._listener = self._listener, None
            sockets, self._sockets = self._sockets, []
        if listener is not None:
            # close() alone leaves a listener blocked in accept() listening.
            try:
                listener.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            listener.close()
        for sock in sockets:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()
        self._replies.set()   # a pipe holding replies ends on the closed socket

    def hold_replies(self) -> None:
        """Keep what the server sends from the clients (requests still reach it)."""
        self._replies.clear()

    def release_replies(self) -> None:
        """Let what the server sent, and sends, through again."""
        self._replies.set()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection((self.target_host, self.target_port),
                                                    timeout=5)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            with self._lock:
                if self._listener is not listener:
                    # Cut while we were connecting: do not leak a live pair.
                    client.close()
                    upstream.close()
                    return
                self._sockets += [client, upstream]
            for a, b, delay, gate in ((client, upstream, self.delay, None),
                                      (upstream, client, 0.0, self._replies)):
                threading.Thread(target=self._pipe, args=(a, b, delay, gate), daemon=True).start()

    @staticmethod
    def _pipe(src: socket.socket, dst: socket.socket, delay: float = 0.0,
              gate: threading.Event | None = None) -> None:
        try:
            while data := src.recv(65536):
                if delay:
                    time.sleep(delay)
                if gate is not None:
                    gate.wait()
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (src, dst):
                # shutdown() first: it wakes the twin pipe thread blocked in recv()
                # on the same socket, so the broker sees the cut at once.
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                try:
                    sock.close()
                except OSError:
                    pass
