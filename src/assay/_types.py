"""Closed sets used across the package."""

from __future__ import annotations

from enum import Enum


class Task(str, Enum):
    BINARY = "binary"
    MULTICLASS = "multiclass"
    REGRESSION = "regression"

    @property
    def is_classification(self) -> bool:
        return self is not Task.REGRESSION


class FeatureType(str, Enum):
    NUMERIC = "numeric"
    CATEGORICAL = "categorical"
    BOOLEAN = "boolean"
    DATETIME = "datetime"
    TEXT = "text"
    IMAGE = "image"  # paths of image files
    AUDIO = "audio"  # paths of sound files
    ID = "id"
    CONSTANT = "constant"
    EMPTY = "empty"

    @property
    def is_used(self) -> bool:
        """Whether models see this column (ids, constants and empty columns are dropped)."""
        return self not in (FeatureType.ID, FeatureType.CONSTANT, FeatureType.EMPTY)

    @property
    def is_media(self) -> bool:
        """Paths of files whose content is the feature (images, sound)."""
        return self in (FeatureType.IMAGE, FeatureType.AUDIO)


class Encoding(str, Enum):
    """How a model family wants its features (see assay.features.TabularEncoder)."""

    NATIVE = "native"  # DataFrame: float64 numerics with NaN, pandas 'category' columns
    ORDINAL = "ordinal"  # float ndarray: numerics median-imputed, categories as codes (-1 missing)
    ONEHOT = "onehot"  # float ndarray: imputed, standardized numerics + one-hot categories
    RAW = "raw"  # DataFrame of what networks read themselves: media file paths (absolute), texts


class RunState(str, Enum):
    RUNNING = "running"
    FINISHED = "finished"
    FAILED = "failed"
    INTERRUPTED = "interrupted"


class TrialState(str, Enum):
    COMPLETE = "complete"
    FAILED = "failed"
    SKIPPED = "skipped"  # estimated not to fit in the remaining budget
    PRUNED = "pruned"  # stopped mid-way: ran out of time after some folds


class OutcomeStatus(str, Enum):
    """How a sandboxed run ended (see assay.execute.Outcome)."""

    OK = "ok"  # exited 0 and its outputs passed the trusted check
    ERROR = "error"  # exited non-zero (an exception, a refused action)
    TIMEOUT = "timeout"  # wall-clock or CPU time limit
    OOM = "oom"  # over the memory limit
    KILLED = "killed"  # stopped for another limit (disk, file size, a signal)
    INVALID_OUTPUT = "invalid-output"  # exited 0 but wrote no usable outputs


class TrialSource(str, Enum):
    """Where a trial's config came from."""

    PORTFOLIO = "portfolio"  # the ordered list of configs tried first
    TUNER = "tpe"  # proposed by a family's Optuna study
    STACK = "stack"  # a level-2 config fitted on the bases' out-of-fold predictions
    RESUMED = "resumed"  # a finished trial of the run that was resumed


class SkipReason(str, Enum):
    """Why a config was not run."""

    TIME = "time"  # its estimated time does not fit in what is left
    MEMORY = "memory"  # its estimated size does not fit beside the models held
