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
    return load().get(key)


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
        with os.fdopen(fd, "w") as f:
            json.dump(data, f, indent=1, sort_keys=True)
        os.replace(tmp, path)
    except OSError:
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
