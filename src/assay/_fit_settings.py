"""Every fit option, declared once. `AutoML` takes its constructor (and so scikit-learn's
`get_params`/`set_params`) from these dataclasses, the scikit-learn wrappers take theirs
from `FitOptions`, the stored run and `AutoML.resume` use `to_record`/`from_record`, and
`assay fit` builds its command-line options from the fields' metadata. A new option is one
field here."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from assay._types import Task
from assay.errors import ConfigError


class OnResume(str, Enum):
    """What `AutoML.resume` does with an option."""

    KEEP = "keep"  # stored with the run and restored; a resumed run cannot change it
    ADJUST = "adjust"  # stored and restored, but the resume may give another value
    PER_CALL = "per-call"  # not stored: where the run is recorded or runs (store, cluster)


@dataclass(frozen=True)
class Option:
    """How an option appears outside Python: its command-line flag and help, what the
    command line reads (`cli_type`, `choices`, `from_cli` to turn that into the value),
    and what a resume does with it."""

    help: str
    flag: str | None = None  # None: not an `assay fit` option
    cli_type: type = str
    choices: tuple[str, ...] | None = None
    from_cli: Callable[[Any], Any] | None = None
    on_resume: OnResume = OnResume.KEEP


def setting(default: Any, help: str, flag: str | None = None, **how: Any) -> Any:
    """A dataclass field with its Option as metadata."""
    return field(default=default, metadata={"option": Option(help, flag, **how)})


def _names(text: str) -> list[str]:
    return [name.strip() for name in text.split(",") if name.strip()]


_EMBED = {"auto": None, "on": True, "off": False}
SPLITTER_OBJECT = "<splitter>"  # a run's record of a cv given as a splitter object


def _features(text: str) -> Any:
    """--features: none, auto, or a JSON file holding a list of specs."""
    if text in ("none", "auto"):
        return None if text == "none" else "auto"
    import json
    from pathlib import Path

    try:
        return json.loads(Path(text).read_text())
    except (OSError, ValueError) as exc:
        raise ConfigError(
            f"--features {text}: give none, auto, or a JSON file with a list of features "
            f'such as [["ratio", "income", "debt"]] ({exc}).'
        ) from exc


@dataclass(kw_only=True, repr=False, eq=False)
class FitOptions:
    """The options of a fit other than its task (the scikit-learn wrappers fix the task)."""

    metric: Any = setting(
        None,
        "auc, logloss, accuracy, f1, balanced_accuracy, rmse, mae or r2 (default auc for "
        "two classes, logloss for more, rmse for regression), or any scikit-learn scorer "
        "name (f1_macro, average_precision, neg_mean_squared_error, ...). In Python also a "
        "scikit-learn scorer or assay.make_metric(fn, greater_is_better=...).",
        "--metric",
    )
    time_limit_s: float | None = setting(
        None,
        "Time budget in seconds for the whole fit (default 60, none with --trials).",
        "--time",
        cli_type=float,
        on_resume=OnResume.ADJUST,
    )
    random_state: int = setting(0, "Random seed.", "--seed", cli_type=int)
    n_folds: int | None = setting(None, "Number of bagging folds.", "--folds", cli_type=int)
    cv: Any = setting(
        None,
        "How rows are split for validation: shuffled folds (default; grouped with --groups), "
        "or time:COL for rows ordered in time by column COL (each fold trains on the past and "
        "validates on the block after it). In Python also any scikit-learn splitter whose "
        "validation folds cover every row once (KFold, GroupKFold, PredefinedSplit).",
        "--split",
    )
    models: list[str] | None = setting(
        None, "Comma-separated model names.", "--models", from_cli=_names
    )
    n_jobs: int | None = setting(
        None,
        "Threads per trial (default: the cores of one worker).",
        "--jobs",
        cli_type=int,
        on_resume=OnResume.ADJUST,
    )
    store: Any = setting(
        None,
        "Where the run is recorded: None the default store, False nowhere, or a URL.",
        on_resume=OnResume.PER_CALL,
    )
    n_trials: int | None = setting(
        None, "Stop after this many trials (reproducible for a seed).", "--trials", cli_type=int
    )
    deploy: str = setting(
        "auto",
        "bagged (a model per fold), fast (each member refitted once on all rows, in the "
        "budget) or auto (fast from 4,000 training rows on, else bagged; for images and "
        "sound bagged, or fast when the rows come in groups).",
        "--deploy",
        choices=("auto", "bagged", "fast"),
    )
    forests: str = setting(
        "out_of_bag",
        "How random forests and extra trees are validated: out_of_bag (one forest on all "
        "rows, each row scored by the trees that did not draw it: one model's time and "
        "memory instead of one per fold; per fold anyway under groups, a time split, a "
        "given cv or target-built columns) or folds (a forest per fold, as other models).",
        "--forests",
        choices=("out_of_bag", "folds"),
    )
    memory_limit_mb: float | None = setting(
        None,
        "Memory limit in MB for the models kept (default 70% of the memory free).",
        "--memory",
        cli_type=float,
        on_resume=OnResume.ADJUST,
    )
    portfolio: str = setting(
        "default", "Packaged portfolio name or a portfolio JSON file.", "--portfolio"
    )
    stack: str = setting(
        "auto",
        "auto (one stacking layer if a held-out check says so) or off.",
        "--stack",
        choices=("auto", "off"),
    )
    embed: bool | None = setting(
        None,
        "Sentence embeddings of text columns: auto (when the text extra is installed), on, off.",
        "--embed",
        choices=tuple(_EMBED),
        from_cli=_EMBED.__getitem__,
    )
    features: Any = setting(
        None,
        "Generated features: none; auto (discovered within the fit, in at most a fifth of "
        'the time); or a JSON file listing them, e.g. [["ratio", "income", "debt"]].',
        "--features",
        from_cli=_features,
    )
    warm_start: list | None = setting(
        None,
        "Trials of an earlier search on similar data, as {model, config, loss} dicts: its "
        "best configs run first, the rest are not repeated, and the tuners start from them.",
    )
    cluster: str | None = setting(
        None,
        "Run trials on Dask: local:N workers here, or tcp://HOST:8786.",
        "--cluster",
        on_resume=OnResume.PER_CALL,
    )
    mlflow: bool | None = setting(
        None,
        "Log the fit to MLflow (settings, scores, leaderboard, the predictor as a model): "
        "by default when an MLflow run is active; --mlflow always (starting a run), "
        "--no-mlflow never.",
        "--mlflow",
        cli_type=bool,
        on_resume=OnResume.PER_CALL,
    )
    verbosity: int = setting(
        1,
        "What a fit shows: 0 nothing; 1 a progress line and warnings; 2 each trial; "
        "3 debugging detail.",
        on_resume=OnResume.PER_CALL,
    )

    # -- derived views ---------------------------------------------------------------
    @classmethod
    def options(cls) -> dict[str, Option]:
        """Every option's metadata by name, in declaration order."""
        return {f.name: f.metadata["option"] for f in dataclasses.fields(cls)}

    def values(self) -> dict[str, Any]:
        """The current value of every option by name."""
        return {name: getattr(self, name) for name in self.options()}

    def effective_time_limit_s(self) -> float:
        """60 s by default; no limit when only a trial count is given."""
        if self.time_limit_s is None:
            return math.inf if self.n_trials is not None else 60.0
        return self.time_limit_s

    def to_record(self) -> dict[str, Any]:
        """The options stored with a run (JSON-ready): all but the per-call ones."""
        record = {}
        for name, option in self.options().items():
            if option.on_resume is not OnResume.PER_CALL:
                value = getattr(self, name)
                record[name] = value.value if isinstance(value, Enum) else value
        if record.get("cv") is not None and not isinstance(record["cv"], str):
            record["cv"] = SPLITTER_OBJECT  # a splitter object is not stored
        if record.get("metric") is not None and not isinstance(record["metric"], str):
            record["metric"] = getattr(record["metric"], "name", None) or "custom"
        return record

    def check(self) -> None:
        """Raise a ConfigError naming the first option with a value a fit cannot use."""
        for name, option in self.options().items():
            value = getattr(self, name)
            chosen = value is not None and option.from_cli is None
            if option.choices and chosen and value not in option.choices:
                raise ConfigError(f"{name}={value!r}: choose {option.help}")
        from assay.evaluate._splits import check_splitter

        check_splitter(self.cv)
        limit = self.effective_time_limit_s()
        if not isinstance(limit, int | float) or isinstance(limit, bool) or not limit > 0:
            raise ConfigError(
                f"time_limit_s={self.time_limit_s!r}: give a positive number of seconds."
            )
        for name in ("n_trials", "n_jobs"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, int) or isinstance(value, bool)):
                raise ConfigError(f"{name}={value!r}: give a positive integer.")
            if value is not None and value < 1:
                raise ConfigError(f"{name}={value!r}: give a positive integer.")
        if self.mlflow not in (None, True, False):
            raise ConfigError(f"mlflow={self.mlflow!r}: give None (log when a run is active), "
                              "True or False.")  # fmt: skip
        if self.verbosity not in (0, 1, 2, 3) or isinstance(self.verbosity, bool):
            raise ConfigError(f"verbosity={self.verbosity!r}: give 0, 1, 2 or 3.")
        if self.n_folds is not None and (not isinstance(self.n_folds, int) or self.n_folds < 2):
            raise ConfigError(f"n_folds={self.n_folds!r}: give an integer of at least 2.")
        if self.memory_limit_mb is not None and not self.memory_limit_mb > 0:
            raise ConfigError(f"memory_limit_mb={self.memory_limit_mb!r}: give a positive number.")
        if self.embed not in (None, True, False):
            raise ConfigError(
                f"embed={self.embed!r}: choose None (embed text when assay[text] is installed), "
                "True or False."
            )
        self._check_features()
        self._check_warm_start()
        self._check_portfolio()

    def _check_portfolio(self) -> None:
        from assay.models import FAMILY_NAMES
        from assay.search import read_portfolio

        read_portfolio(self.portfolio, known=FAMILY_NAMES)

    def _check_warm_start(self) -> None:
        from assay.search import is_trial_list

        if self.warm_start is not None and not is_trial_list(self.warm_start):
            raise ConfigError(
                "warm_start: give a list of trials, each a dict with 'model', 'config' and "
                "'loss' (as research pipelines write outputs/trials.json)."
            )
        if self.embed is True:
            from assay.features import embeddings_available

            if not embeddings_available():
                raise ConfigError(
                    "embed=True needs the `text` extra: pip install 'assay[text]' "
                    "(with torch==2.13.0 in the same call), or pass embed=False."
                )

    def _check_features(self) -> None:
        if self.features is None or self.features == "auto":
            return
        from assay.features import FeatureSpec

        try:
            if isinstance(self.features, str):
                raise TypeError("a string other than 'auto'")
            [FeatureSpec.of(item) for item in self.features]
        except (TypeError, ValueError) as exc:
            raise ConfigError(
                f"features={self.features!r}: give None, 'auto', or a list of features such "
                f'as [["ratio", "income", "debt"], ["mean_by", "price", "city"]] ({exc}).'
            ) from exc

    def chosen_models(self) -> dict[str, type]:
        """The model classes the fit may use, by name."""
        from assay.models import MODELS, missing_extra

        names = list(MODELS) if self.models is None else list(self.models)
        for name in names:
            if extra := missing_extra(name):
                raise ConfigError(
                    f"models={self.models!r}: {name!r} needs the `{extra}` extra: pip install "
                    f"'assay[{extra}]' torch==2.13.0 (in the same call), or leave it out."
                )
        unknown = [n for n in names if n not in MODELS]
        if unknown or not names:
            raise ConfigError(
                f"models={self.models!r}: unknown {unknown}; choose from {', '.join(MODELS)}."
            )
        return {n: MODELS[n] for n in names}


@dataclass(kw_only=True, repr=False, eq=False)
class FitSettings(FitOptions):
    """Every option of a fit: the task and FitOptions."""

    task: str | Task | None = setting(
        None,
        "binary, multiclass, regression, or classification (binary or multiclass by the "
        "target; default: inferred from the target).",
        "--task",
        choices=("binary", "multiclass", "regression", "classification"),
    )


def resumed_settings(
    record: dict[str, Any], task: str, metric: str, overrides: dict[str, Any]
) -> dict[str, Any]:
    """The options of a stored run for `AutoML.resume`, with `overrides` applied where a
    resume may change them (a ConfigError names any other)."""
    options = FitSettings.options()
    unknown = sorted(set(overrides) - set(options))
    if unknown:
        raise ConfigError(f"resume: unknown option(s) {unknown}; choose from {sorted(options)}.")
    fixed = sorted(n for n in overrides if options[n].on_resume is OnResume.KEEP)
    if fixed:
        raise ConfigError(
            f"resume keeps the run's {', '.join(fixed)}: a resumed run continues the same "
            "search. Start a new fit to change them."
        )
    values = {
        name: record[name]
        for name, option in options.items()
        if name in record and option.on_resume is not OnResume.PER_CALL
    }
    values.update(task=task, metric=metric)
    values.update(overrides)
    return values
