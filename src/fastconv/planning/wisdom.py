"""Wisdom: measured planner choices kept in a JSON file in the user cache.

Location: ``fastconv._config.wisdom_dir()`` (``FASTCONV_WISDOM_DIR``
relocates it; ``off`` disables it).  Writes are atomic (temp file + rename)
so concurrent processes never see a torn file.
"""
from __future__ import annotations

import json
import os
import tempfile
import threading

from .. import _config

_lock = threading.Lock()
_cache = {"dir": None, "data": None, "gen": 0}
FILENAME = "wisdom-v1.json"


def _path():
    d = _config.wisdom_dir()
    return None if d is None else os.path.join(d, FILENAME)


def load() -> dict:
    """Return the wisdom dict (empty when disabled or unreadable)."""
    path = _path()
    if path is None:
        return {}
    with _lock:
        if _cache["dir"] == path and _cache["data"] is not None:
            return _cache["data"]
        try:
            with open(path) as f:
                data = json.load(f)
            if not isinstance(data, dict):
                data = {}
        except (OSError, ValueError):
            data = {}
        _cache.update(dir=path, data=data)
        return data


def state():
    """(file path or None, generation): changes whenever this process's view
    of the wisdom may have changed (another path, a record, a forget), so a
    decision cached under one state is never reused under another."""
    return _path(), _cache["gen"]


def lookup(key: str):
    """The entry for ``key`` if it is well formed (a method name and a dict of
    method -> seconds), else None: a damaged or hand-edited file is ignored
    entry by entry, never an error in every call."""
    e = load().get(key)
    if not isinstance(e, dict) or not isinstance(e.get("method"), str):
        return None
    times = e.get("times", {})
    if not isinstance(times, dict) or not all(
            isinstance(k, str) and isinstance(v, (int, float)) and not isinstance(v, bool)
            for k, v in times.items()):
        return None
    return e


def record(key: str, entry: dict) -> bool:
    """Store ``entry`` under ``key``; returns False when wisdom is disabled."""
    path = _path()
    if path is None:
        return False
    data = dict(load())
    data[key] = entry
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".wisdom-")
    except OSError:
        return False
    try:
        with os.fdopen(fd, "w") as f:
            json.dump(data, f, indent=1, sort_keys=True)
        os.replace(tmp, path)
    except (OSError, TypeError, ValueError):
        try:
            os.remove(tmp)
        except OSError:
            pass
        return False
    with _lock:
        _cache.update(dir=path, data=data, gen=_cache["gen"] + 1)
    return True


def forget() -> None:
    """Delete the wisdom file (if any) and the in-memory copy."""
    path = _path()
    with _lock:
        _cache.update(dir=None, data=None, gen=_cache["gen"] + 1)
    if path and os.path.exists(path):
        os.remove(path)
