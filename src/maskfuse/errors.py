"""Errors a user can act on. Each message names the file, row, field or key at fault."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def did_you_mean(word: str, known: Iterable[str], prefix: str = "") -> str:
    """The hint ` (did you mean 'train.steps'?)` for the closest known name; "" when none is close."""
    close = difflib.get_close_matches(word, list(known), n=1, cutoff=0.6)
    return f" (did you mean '{prefix}{close[0]}'?)" if close else ""


class MaskfuseError(Exception):
    """Base class for every error maskfuse raises on purpose; `exit_code` is what the
    command line exits with (README, "Exit codes")."""

    exit_code = 1


class ConfigError(MaskfuseError):
    """A recipe, override or config value is wrong; the message names the key."""

    exit_code = 2  # as argparse's usage errors


class DataError(MaskfuseError):
    """Input data is missing, corrupt or of the wrong shape; the message names the file."""

    exit_code = 3


class TrainingDiverged(MaskfuseError):
    """The loss became NaN or infinite; the message names the step and the kept checkpoint."""

    exit_code = 4


class Failed:
    """A batch a DataLoader worker could not read, handed back in the batch's place: its
    error is raised again in the training process as it was raised, so the user sees
    the one message that names the file rather than the worker's traceback."""

    def __init__(self, error: MaskfuseError) -> None:
        self.error = error
