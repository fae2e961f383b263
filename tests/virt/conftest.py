"""Helpers of the virt tests (``virt_fakes``, ``virt_payloads``) import by plain name.

The suite runs with ``--import-mode=importlib``, which does not put test directories on
``sys.path``; this directory's helper modules have unique names, so adding it is safe.
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = str(Path(__file__).resolve().parent)
if HERE not in sys.path:
    sys.path.insert(0, HERE)
