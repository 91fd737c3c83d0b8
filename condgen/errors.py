"""condgen's own exceptions.

Everything a user can cause (a bad recipe, a missing file, an unknown plugin)
raises a :class:`UserError`; the CLI prints its message and exits with code 2.
Anything else is a bug in condgen or a plugin and keeps its traceback.
"""

from __future__ import annotations


class CondgenError(Exception):
    """Base class of every error condgen raises on purpose."""


class UserError(CondgenError):
    """Something the user can fix: printed without a traceback, exit code 2."""

    exit_code = 2

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message if self.hint is None else f"{self.message}\n{self.hint}"


class Notice(UserError):
    """Not a mistake: work stopped on purpose (Ctrl-C) or not needed (a finished run resumed).

    The CLI prints it under its ``title`` instead of ``Error:``; ``exit_code`` still tells scripts what happened.
    """

    title = "Note"


class RecipeError(UserError):
    """A recipe that cannot be read or does not validate."""


class PluginError(UserError):
    """A plugin that is unknown, broken or clashes with another one."""


class DataError(UserError):
    """A dataset that is missing, unreadable or malformed."""


class CheckpointError(UserError):
    """A run folder or checkpoint that cannot be used."""


class OutputError(UserError):
    """An output location that cannot be written."""


class NumericalError(UserError):
    """A loss, a parameter or a distribution's parameters became NaN or infinite."""


class InputError(UserError):
    """A file or value given on the command line that does not fit the run (an image, a mask)."""


class DistributedError(UserError):
    """A multi-process run that cannot start: a bad --nproc, a batch that does not split, a missing GPU."""
