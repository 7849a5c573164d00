"""Every error a user can cause is an AssayError whose message names the file, column or
argument and says what to do. The CLI prints it as one line and exits with `exit_code`."""

from __future__ import annotations


class AssayError(Exception):
    """Root of all errors caused by input, configuration or resources."""

    exit_code = 3


class DataError(AssayError):
    """The data cannot be read or used as given."""


class TargetError(DataError):
    """The target column is missing or unusable."""


class SchemaMismatchError(DataError):
    """Data given at predict time does not match the schema seen at fit time."""


class ConfigError(AssayError):
    """An argument or setting has a value assay cannot use."""


class ArtifactError(AssayError):
    """A saved predictor is missing, incomplete, from an incompatible version or tampered with."""


class VersionMismatchWarning(UserWarning):
    """A saved predictor was written with other library versions than those installed."""


class StoreError(AssayError):
    """The run store cannot be opened or written."""


class DiskFullError(StoreError, ArtifactError):
    """A disk filled up (or a file-size limit was hit) while writing the run store, a
    trial's checkpoint or a predictor: a resource limit, like a budget."""

    exit_code = 4


class ExportError(AssayError):
    """A predictor cannot be written in the asked format (the message names the members or
    columns the format cannot hold), or the export does not predict what assay does."""


class BudgetError(AssayError):
    """A time or memory limit was hit before anything useful could be produced."""

    exit_code = 4


class FitError(AssayError):
    """Every model raised an error on the data, so there is nothing to build a predictor
    from (a limit that stopped them all is a BudgetError instead)."""


class SandboxError(AssayError):
    """Generated code could not be run safely."""


class LLMError(AssayError):
    """An LLM endpoint failed or answered in a way that cannot be used."""
