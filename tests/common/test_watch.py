"""A file watch looks at most once per period and sees an atomic replace."""

from __future__ import annotations

import os
from pathlib import Path

from common.watch import FileWatch


def test_a_watch_looks_once_per_period_and_sees_a_replaced_file(tmp_path: Path) -> None:
    path = tmp_path / "a.yml"
    path.write_text("a: 1\n")
    now = [100.0]
    watch = FileWatch(lambda: [path], every_s=1.0, clock=lambda: now[0])
    assert watch.changed()  # the first look
    assert not watch.changed()
    (tmp_path / "new").write_text("a: 22\n")
    os.replace(tmp_path / "new", path)
    assert not watch.due() and not watch.changed()  # not looked again within the second
    now[0] += 1.0
    assert watch.due() and watch.changed()
    now[0] += 1.0
    assert not watch.changed()
    path.unlink()
    now[0] += 1.0
    assert watch.changed()  # a file gone is a change too
