"""File-system result backend: one file per key in a shared directory (``file:///path``)."""
from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable
from typing import IO, TYPE_CHECKING, Any

from celery.backends.keyvalue import KeyValueStoreBackend
from celery.exceptions import ImproperlyConfigured

if TYPE_CHECKING:
    from celery.backends._types import BackendReduce, Payload

__all__ = ('FilesystemBackend',)

#: Encoding of the file names (the keys).
default_encoding = 'UTF-8'

E_PATH_NON_CONFORMING_SCHEME = (
    'A path for the file-system backend should conform to the file URI scheme: '
    'file:///path/to/dir (the host part may only be empty or localhost)')

E_NO_PATH_SET = 'You need to configure a path for the file-system backend: file:///path/to/dir'
E_PATH_INVALID = """\
The configured path for the file-system backend does not work correctly, \
please make sure that it exists and has the correct permissions: {0}\
"""


def _path_from_url(url: str | None) -> str:
    if not url:
        raise ImproperlyConfigured(E_NO_PATH_SET)
    if url.startswith('file://localhost/'):
        return url[len('file://localhost'):]
    if url.startswith('file:///'):
        return url[len('file://'):]
    if url.startswith('file://'):
        raise ImproperlyConfigured(E_PATH_NON_CONFORMING_SCHEME)
    return url


class FilesystemBackend(KeyValueStoreBackend):
    """Stores each key as a file in ``path`` (for example an NFS mount shared by workers)."""

    supports_result_compression = True

    def __init__(self, url: str | None = None, open: Callable[[str, str], IO[bytes]] = open,
                 unlink: Callable[[str], object] = os.unlink,
                 sep: str = os.sep, encoding: str = default_encoding,
                 *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, url=url, **kwargs)
        self.url = url
        self.path = _path_from_url(url)
        self.open = open
        self.unlink = unlink
        self.sep = sep
        self.encoding = encoding
        self._check_path()

    def _check_path(self) -> None:
        if not os.path.isdir(self.path) or not os.access(self.path, os.W_OK | os.R_OK):
            raise ImproperlyConfigured(E_PATH_INVALID.format(self.path))

    def _filename(self, key: bytes | str) -> str:
        name = key.decode(self.encoding) if isinstance(key, bytes) else key
        return os.path.join(self.path, name)

    def get(self, key: bytes) -> bytes | None:
        """Read the file for ``key``."""
        try:
            with self.open(self._filename(key), 'rb') as infile:
                return infile.read()
        except FileNotFoundError:
            return None

    def mget(self, keys: list[bytes]) -> list[Payload | None]:
        """Read the files for ``keys``."""
        return [self.get(key) for key in keys]

    def set(self, key: bytes, value: Payload) -> None:
        """Write ``value`` atomically (readers never see a partial file)."""
        data = value.encode(self.encoding) if isinstance(value, str) else value
        fd, tmp = tempfile.mkstemp(dir=self.path, prefix='.tmp-')
        try:
            with os.fdopen(fd, 'wb') as outfile:
                outfile.write(data)
            os.replace(tmp, self._filename(key))
        except BaseException:
            os.unlink(tmp)
            raise

    def delete(self, key: bytes) -> None:
        """Remove the file for ``key``."""
        try:
            self.unlink(self._filename(key))
        except FileNotFoundError:
            pass

    def cleanup(self) -> None:
        """Delete result files older than ``result_expires``."""
        if not self.expires:
            return
        cutoff = time.time() - self.expires
        prefixes = (self._prefixed('', self.task_keyprefix).decode(),
                    self._prefixed('', self.group_keyprefix).decode())
        for entry in os.scandir(self.path):
            if entry.name.startswith(prefixes) and entry.stat().st_mtime < cutoff:
                self.delete(entry.name.encode(self.encoding))

    def __reduce__(self, args: tuple[Any, ...] = (),
                   kwargs: dict[str, Any] | None = None) -> BackendReduce:
        kwargs = dict(kwargs or {}, url=self.url)
        return super().__reduce__(args, kwargs)
