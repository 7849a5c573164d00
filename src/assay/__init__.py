"""assay: AutoML that builds strong models on its own, then keeps researching.

Heavy modules load on first use, so `import assay` and `assay --help` stay fast. The
errors users catch (ConfigError, DataError, NotFittedError, ...) can be imported from here
too; every exception class lives in `assay.errors`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from assay import errors as errors
from assay._types import FeatureType, Task
from assay._version import __version__ as __version__
from assay.errors import ArtifactError as ArtifactError
from assay.errors import AssayError as AssayError
from assay.errors import BudgetError as BudgetError
from assay.errors import ConfigError as ConfigError
from assay.errors import DataError as DataError
from assay.errors import FitError as FitError
from assay.errors import NotFittedError as NotFittedError
from assay.errors import SchemaMismatchError as SchemaMismatchError
from assay.errors import TargetError as TargetError

__all__ = [
    "AutoClassifier",
    "AutoML",
    "AutoRegressor",
    "FeatureType",
    "Predictor",
    "Task",
    "load",
    "make_metric",
]

if TYPE_CHECKING:
    from assay.automl import AutoClassifier, AutoML, AutoRegressor, Predictor
    from assay.evaluate import make_metric


def load(path, trust: bool = False) -> Predictor:
    """Load a saved predictor, verifying the manifest's and every file's SHA-256 first.

    Without `trust`, anything in the folder that could run code when loaded (a pickle, a
    skops file asking for types beyond scikit-learn/numpy/scipy, a torch file needing full
    unpickling, an MLP's embedded discovered activation) is refused with an ArtifactError.
    Pass trust=True only for artifacts from a source you trust: the hashes catch damage
    and careless edits, not forgery, since a forger rewrites them too. Library versions
    that differ from the saved ones give a VersionMismatchWarning."""
    from assay.automl import Predictor

    return Predictor.load(path, trust=trust)


def __getattr__(name: str) -> Any:
    if name in {"AutoClassifier", "AutoML", "AutoRegressor", "Predictor"}:
        import assay.automl

        return getattr(assay.automl, name)
    if name == "make_metric":
        from assay.evaluate import make_metric

        return make_metric
    raise AttributeError(f"module 'assay' has no attribute {name!r}")
