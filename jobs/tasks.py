"""Imports every task module (``jobs/*_tasks.py``) so a consumer knows all tasks; re-exports ``huey``.

Run workers in their own process with ``python -m jobs.worker`` (a wrapper over Huey's consumer).
"""

from __future__ import annotations

import importlib
import pkgutil

import jobs
from jobs.queue import huey

TASK_MODULES: list[str] = sorted(
    f"jobs.{info.name}" for info in pkgutil.iter_modules(jobs.__path__) if info.name.endswith("_tasks")
)
for _name in TASK_MODULES:
    importlib.import_module(_name)

__all__ = ["TASK_MODULES", "huey"]
