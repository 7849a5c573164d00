"""Every exception class of assay, in one module.

Every error a user can cause is an AssayError whose message names the file, column or
argument and says what to do. The CLI prints it as one line and exits with `exit_code`.
Errors about bad values are also ValueErrors (as in scikit-learn), so `except ValueError`
in user code keeps working. The last section holds signals assay raises and catches itself.
"""

from __future__ import annotations


class AssayError(Exception):
    """Root of all errors caused by input, configuration or resources."""

    exit_code = 3


class DataError(AssayError, ValueError):
    """The data cannot be read or used as given."""


class TargetError(DataError):
    """The target column is missing or unusable."""


class SchemaMismatchError(DataError):
    """Data given at predict time does not match the schema seen at fit time."""


class MediaError(DataError):
    """An image or sound file cannot be read: missing, truncated or of another format."""

    def __init__(self, path: str, reason: str):
        super().__init__(
            f"'{path}' could not be read: {reason}. Replace or remove the file (a fit goes "
            "on without such files and says how many it skipped)."
        )
        self.path, self.reason = str(path), reason

    def __reduce__(self):  # rebuilt from its own arguments when sent between processes
        return type(self), (self.path, self.reason)


class ConfigError(AssayError, ValueError):
    """An argument or setting has a value assay cannot use."""


class NotFittedError(AssayError, ValueError, AttributeError):
    """An estimator was used before `fit`; like scikit-learn's NotFittedError, it is also a
    ValueError and an AttributeError."""


def __getattr__(name: str) -> type:
    """`UnfittedEstimatorError`, made on first use so that importing this module does not
    import scikit-learn; kept as a module attribute then, so this runs once."""
    if name != "UnfittedEstimatorError":
        raise AttributeError(f"module 'assay.errors' has no attribute {name!r}")
    from sklearn.exceptions import NotFittedError as SklearnNotFittedError

    class UnfittedEstimatorError(NotFittedError, SklearnNotFittedError):
        """assay's NotFittedError that scikit-learn's `except NotFittedError` catches
        too: what the scikit-learn wrappers raise before `fit`."""

    UnfittedEstimatorError.__qualname__ = name  # pickled by name, as a module attribute
    globals()[name] = UnfittedEstimatorError
    return UnfittedEstimatorError


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


class ReplyError(AssayError):
    """An LLM's reply holds no usable component; the generator skips it and goes on."""


class PostgresUnavailable(StoreError):
    """PostgreSQL's server programs or the psycopg driver are not installed."""


class ResearchError(AssayError):
    """A research workspace, its harness or its loop cannot be used as asked."""


class ProposalError(AssayError):
    """The model's reply gave no usable change; the loop logs it as refused and goes on."""


class DiffError(AssayError):
    """A diff that cannot be applied to pipeline.py exactly as written."""


class DiffTargetError(DiffError):
    """A diff that edits a file other than pipeline.py: a policy refusal, not a typo."""


class RequestError(AssayError, ValueError):
    """A request the service refuses: `status` is the HTTP status to answer with."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


class ToolError(AssayError):
    """An agent tool's own refusal: its message goes back to the model as is."""


# -- signals raised and caught inside assay, recorded as a state -----------------------------
class TrialTimeout(Exception):
    """The remaining folds of a config will not finish before the deadline. `fold_s` is the
    mean seconds a finished fold took (0 when none finished), to calibrate cost estimates."""

    def __init__(self, message: str, fold_s: float = 0.0):
        super().__init__(message)
        self.fold_s = fold_s


class TrialPruned(Exception):
    """The first folds of a config scored too poorly to be worth the rest."""

    def __init__(self, message: str, fold_scores: list[float]):
        super().__init__(message)
        self.fold_scores = list(fold_scores)


class InvalidOutput(ValueError):
    """Raised by a trusted evaluator when a sandboxed program's outputs cannot be scored."""


class WorkerLost(RuntimeError):
    """The workers running a task died (twice): the task could not finish."""


class ComponentRejected(Exception):
    """A discovered component failed a numeric probe; the message is the Validation's
    reason."""
