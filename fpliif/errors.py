"""Errors that the command line reports as one clear line (no traceback unless --debug)."""

from __future__ import annotations

from pathlib import Path


class FpliifError(Exception):
    """Base of the errors a user can act on."""


class PathError(FpliifError):
    """An error about one file (or folder): ``path`` and ``problem``, shown as ``path: problem``."""

    def __init__(self, path: str | Path, problem: str) -> None:
        self.path = str(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")


class DataError(PathError):
    """Bad or missing data. Names the file (or folder) and the problem."""


class CheckpointError(FpliifError):
    """A checkpoint that cannot be used (unsafe, corrupt, or for another model)."""


class ConfigError(FpliifError):
    """An invalid configuration value or file."""


class OutputError(PathError):
    """A result that could not be written (missing, read-only or full folder). Names the file."""
