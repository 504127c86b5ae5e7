"""Whether data files changed since they were read: content staff edit is picked up
within seconds by every process that reads it, without a restart."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path

Stamp = tuple[tuple[str, int, int], ...]


def stamp(paths: Iterable[Path]) -> Stamp:
    """Name, modification time and size of each existing file (blocking: a few ``stat`` calls)."""
    found = []
    for path in sorted(paths):
        try:
            info = path.stat()
        except FileNotFoundError:
            continue
        found.append((str(path), info.st_mtime_ns, info.st_size))
    return tuple(found)


class FileWatch:
    """Looks at the files at most once every ``every_s`` seconds and tells whether they changed.

    ``os.replace`` of an edited file gives it a new modification time (and usually size),
    so an atomic write is seen at the next look.
    """

    def __init__(self, paths: Callable[[], Iterable[Path]], every_s: float = 1.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._paths = paths
        self.every_s = every_s
        self._clock = clock
        self._seen: Stamp | None = None
        self._looked = float("-inf")
        self._lock = threading.Lock()

    def due(self) -> bool:
        """Whether the next :meth:`changed` would look at the files (cheap, no I/O)."""
        return self._clock() - self._looked >= self.every_s

    def changed(self) -> bool:
        """True on the first call and whenever the files changed since the last look (blocking)."""
        with self._lock:
            if not self.due():
                return False
            self._looked = self._clock()
            current = stamp(self._paths())
            if current == self._seen:
                return False
            self._seen = current
            return True
