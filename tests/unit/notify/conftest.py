"""Fixtures for the notify unit tests; the harness code lives in notify_harness.py.

The test tree has no ``__init__.py`` files, so this folder is put on ``sys.path`` for the test
modules to import the harness helpers by name.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from notify_harness import harness

__all__ = ["harness"]
