"""Errors a user can act on. Each message names the file, row, field or key at fault."""


class MaskfuseError(Exception):
    """Base class for every error maskfuse raises on purpose."""


class ConfigError(MaskfuseError):
    """A recipe, override or config value is wrong; the message names the key."""


class DataError(MaskfuseError):
    """Input data is missing, corrupt or of the wrong shape; the message names the file."""


class TrainingDiverged(MaskfuseError):
    """The loss became NaN or infinite; the message names the step and the kept checkpoint."""
