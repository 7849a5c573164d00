"""The searcher: the portfolio of default configs first (portfolios/*.json), then Optuna TPE
over the families that scored best so far."""

from __future__ import annotations

import json
from collections.abc import Collection
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from assay._types import FeatureType, Task, TrialSource
from assay.errors import ConfigError
from assay.search._space import sample
from assay.search._tuner import FamilyTuner

if TYPE_CHECKING:  # models import search (their spaces), so only for the annotations
    from assay.models._base import Model


@dataclass(frozen=True)
class Candidate:
    model: str
    config: dict[str, Any]
    source: TrialSource
    tuner_trial: int | None = None  # the Optuna trial number of a tuned candidate


_MAX_REPEATS = 10  # proposals a tuner may repeat before a repeat is run anyway
_MEDIA_EVERY = 3  # a media network's default configs: one in every so many places of the queue
POOLS = ("classification", "regression")  # a portfolio lists configs for each
LARGE = "_large"  # suffix of a pool's large-data list
LARGE_FROM = "large_from_rows"  # the training rows from which that list is read


def _pool(task: Task) -> str:
    return "classification" if task.is_classification else "regression"


def read_portfolio(name: str | Path = "default", known: Collection[str] | None = None) -> dict:
    """A portfolio's JSON document, checked: a packaged portfolio (`portfolios/NAME.json`)
    or the file at a path ending in .json. Every list is of {"model": NAME, "config":
    {...}} entries, `large_from_rows` a positive whole number; with `known` (every family's
    name, installed or not), each entry's model is one of them. A ConfigError names the
    file, the list and the entry at fault."""
    if str(name).endswith(".json"):
        path = Path(name)
        if not path.is_file():
            raise ConfigError(f"portfolio={str(name)!r}: no such file; give a portfolio JSON.")
        text, where = path.read_text(), str(path)
    else:
        source = resources.files("assay.search").joinpath(f"portfolios/{name}.json")
        if not source.is_file():
            raise ConfigError(
                f"portfolio={name!r}: no packaged portfolio of that name; use 'default' or "
                "the path of a portfolio JSON file."
            )
        text, where = source.read_text(), f"the packaged portfolio {name!r}"
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(
            f"portfolio {where}: not valid JSON ({exc.msg} at line {exc.lineno}, column "
            f"{exc.colno}); fix the file or use portfolio='default'."
        ) from exc
    _check_document(document, where, known)
    return document


_ENTRY = '{"model": "lightgbm", "config": {"num_leaves": 31}}'


def _check_document(document: Any, where: str, known: Collection[str] | None) -> None:
    if not isinstance(document, dict):
        raise ConfigError(
            f"portfolio {where}: give a JSON object with a list of entries such as {_ENTRY} "
            f"under {' and '.join(map(repr, POOLS))}."
        )
    large_from = document.get(LARGE_FROM)
    whole = isinstance(large_from, int) and not isinstance(large_from, bool)
    if large_from is not None and not (whole and large_from > 0):
        raise ConfigError(
            f"portfolio {where}: {LARGE_FROM!r} is {large_from!r}; give the number of training "
            f"rows (a positive whole number) from which the {LARGE!r} lists are read."
        )
    lists = [*POOLS, *(f"{pool}{LARGE}" for pool in POOLS)]
    if large_from is None and any(document.get(f"{pool}{LARGE}") for pool in POOLS):
        raise ConfigError(
            f"portfolio {where}: it has a large-data list but no {LARGE_FROM!r}; add the "
            "number of training rows from which that list is read."
        )
    for pool in (p for p in lists if p in document):
        entries = document[pool]
        if not isinstance(entries, list):
            raise ConfigError(f"portfolio {where}: {pool!r} is not a list; give a list of "
                              f"entries such as {_ENTRY}.")  # fmt: skip
        for i, entry in enumerate(entries):
            model = entry.get("model") if isinstance(entry, dict) else None
            if not isinstance(model, str) or not isinstance(entry.get("config", {}), dict):
                raise ConfigError(
                    f"portfolio {where}: entry {i} of {pool!r} is {entry!r}; give a model "
                    f"name and a config of parameters, as in {_ENTRY}."
                )
            if known is not None and model not in known:
                raise ConfigError(
                    f"portfolio {where}: entry {i} of {pool!r} names model {model!r}, which "
                    f"assay does not have; use one of {', '.join(sorted(known))}."
                )


def load_portfolio(
    name: str | Path = "default", task: Task = Task.BINARY, n_rows: int | None = None
) -> list[tuple]:
    """The ordered (model, config) entries for `task`'s pool, from a packaged portfolio
    (`portfolios/NAME.json`) or from the JSON file at a path. A portfolio may hold a second
    list per pool for large data (`classification_large`, `regression_large`), read when
    the training rows `n_rows` reach its `large_from_rows`."""
    document = read_portfolio(name)
    pool = _pool(task)
    if pool not in document:
        raise ConfigError(
            f"portfolio={str(name)!r} has no {pool!r} list for this {task.value} task; add "
            f"one (entries such as {_ENTRY}) or use portfolio='default'."
        )
    large_from, large = document.get(LARGE_FROM), f"{pool}{LARGE}"
    reached = n_rows is not None and large_from is not None and n_rows >= large_from
    if document.get(large) and reached:
        pool = large
    return [(entry["model"], dict(entry.get("config", {}))) for entry in document[pool]]


def save_portfolio(
    path: str | Path,
    pools: dict[str, list[tuple]],
    about: str,
    large_from_rows: int | None = None,
) -> Path:
    """Write a portfolio JSON: one line per entry, so a diff shows what moved. `pools` may
    add a large-data list per pool (`classification_large`), read from `large_from_rows`
    training rows on."""
    if large_from_rows is None and any(pool.endswith(LARGE) for pool in pools):
        raise ValueError("save_portfolio: large-data pools need large_from_rows.")
    names = [*POOLS, *(f"{pool}{LARGE}" for pool in POOLS if f"{pool}{LARGE}" in pools)]
    lines = ["{", f"  {json.dumps('about')}: {json.dumps(about)},"]
    if large_from_rows is not None:
        lines.append(f"  {json.dumps(LARGE_FROM)}: {int(large_from_rows)},")
    for i, pool in enumerate(names):
        entries = [
            f'{{"model": {json.dumps(model)}, "config": {json.dumps(config, sort_keys=True)}}}'
            for model, config in pools.get(pool, [])
        ]
        body = ",\n    ".join(entries)
        end = "," if i < len(names) - 1 else ""
        lines.append(f'  "{pool}": [\n    {body}\n  ]{end}' if entries else f'  "{pool}": []{end}')
    lines.append("}")
    path = Path(path)
    path.write_text("\n".join(lines) + "\n")
    return path


def is_trial_list(value: Any) -> bool:
    """Whether `value` is trials as a search records them for another to continue
    (`Searcher.warm_start`, research's outputs/trials.json): dicts of model, config, loss."""
    return isinstance(value, list) and all(
        isinstance(t, dict) and {"model", "config", "loss"} <= set(t) for t in value
    )


class Searcher:
    """`ask()` proposes the next Candidate (None when nothing is left); `tell()` reports
    its loss (lower is better). After the portfolio, one of the three best families so far
    is tuned next (the best one half of the time), each by its own TPE study."""

    def __init__(
        self,
        models: dict[str, type[Model]],
        task: Task,
        n_rows: int,
        n_features: int,
        random_state: int = 0,
        portfolio: str | Path = "default",
    ):
        self.models = models
        self.task = task
        self.n_rows = n_rows
        self.n_features = n_features
        self.random_state = random_state
        self._rng = np.random.default_rng(random_state)
        self._queue: list[Candidate] = []
        # No tabular portfolio has the networks of media and text columns. A media network
        # runs first and its other default configs soon after, one every _MEDIA_EVERY
        # places (on such data it is the strongest family by far, and networks of other
        # shapes and seeds average well); a text network runs once, after the portfolio's
        # first two configs (it costs far more than they do).
        networks = [
            (model, cls)
            for model, cls in models.items()
            if getattr(cls, "kind", None) is not None and task in cls.tasks
        ]
        for model, config in load_portfolio(portfolio, task, n_rows):
            if model in models and task in models[model].tasks:
                self._queue.append(Candidate(model, config, TrialSource.PORTFOLIO))
        # text networks first, so that the media networks' places hold
        networks.sort(key=lambda pair: FeatureType(pair[1].kind).is_media)
        for model, cls in networks:
            configs = cls.default_configs(task)
            if not FeatureType(cls.kind).is_media:
                first = Candidate(model, configs[0], TrialSource.PORTFOLIO)
                self._queue.insert(min(2, len(self._queue)), first)
                continue
            for i, config in enumerate(configs):
                candidate = Candidate(model, config, TrialSource.PORTFOLIO)
                self._queue.insert(min(i * _MEDIA_EVERY, len(self._queue)), candidate)
        self._best_loss: dict[str, float] = {}
        self._seen: set[str] = set()
        self._deferred: set[str] = set()
        self._losses: dict[str, float] = {}  # by config key, to answer repeated proposals
        self._tuners: dict[str, FamilyTuner] = {}

    @staticmethod
    def _key(candidate: Candidate) -> str:
        return json.dumps([candidate.model, candidate.config], sort_keys=True, default=str)

    def defer(self, candidate: Candidate) -> bool:
        """Put a portfolio candidate just asked back at the end of the portfolio, once:
        True when deferred now, False when it was deferred before (run or skip it then)."""
        key = self._key(candidate)
        if candidate.source is not TrialSource.PORTFOLIO or key in self._deferred:
            return False
        if getattr(self.models[candidate.model], "kind", None) is not None:
            return False  # a media network is what such data needs most: never put off
        self._deferred.add(key)
        self._seen.discard(key)
        self._queue.append(candidate)
        return True

    def ask(self) -> Candidate | None:
        while self._queue:
            candidate = self._queue.pop(0)
            key = self._key(candidate)
            if key not in self._seen:
                self._seen.add(key)
                return candidate
        ranked = sorted(self._best_loss, key=self._best_loss.__getitem__)[:3]
        if not ranked:
            return None
        weights = np.array([0.5, 0.3, 0.2][: len(ranked)])
        family = ranked[int(self._rng.choice(len(ranked), p=weights / weights.sum()))]
        tuner = self._tuner(family)
        for _ in range(_MAX_REPEATS):  # a config already tried is told, not re-run
            number, config = tuner.ask()
            key = self._key(Candidate(family, config, TrialSource.TUNER))
            if key not in self._seen:
                self._seen.add(key)
                return Candidate(family, config, TrialSource.TUNER, number)
            tuner.tell(number, self._losses.get(key, np.nan))
        # The tuner keeps proposing what already ran (a small space, a pruned config it
        # cannot score): a random draw from the space instead, and the repeat only when
        # even those repeat.
        space = self.models[family].search_space(self.n_rows, self.n_features, self.task)
        for _ in range(_MAX_REPEATS):
            config = sample(space, self._rng)
            key = self._key(Candidate(family, config, TrialSource.TUNER))
            if key not in self._seen:
                break
        self._seen.add(key)
        return Candidate(family, config, TrialSource.TUNER)

    def warm_start(self, trials: list[dict[str, Any]], n_first: int = 3) -> int:
        """Continue an earlier search (trials of {model, config, loss} on similar data):
        its `n_first` best configs run first (the ensemble needs them fitted here), the
        others are not run again, and every family's tuner starts from all of them.
        Returns how many of the trials apply to this search's models."""
        known = [
            t
            for t in trials
            if t.get("model") in self.models
            and self.task in self.models[t["model"]].tasks
            and np.isfinite(float(t.get("loss", np.nan)))
        ]
        known.sort(key=lambda t: float(t["loss"]))
        first: list[Candidate] = []
        for trial in known:
            candidate = Candidate(trial["model"], dict(trial["config"]), TrialSource.PORTFOLIO)
            key = self._key(candidate)
            if key in self._seen:
                continue
            self._seen.add(key)
            self._tuner(candidate.model).observe(candidate.config, float(trial["loss"]))
            best = self._best_loss.get(candidate.model, np.inf)
            self._best_loss[candidate.model] = min(best, float(trial["loss"]))
            if len(first) < n_first:
                first.append(candidate)
        for candidate in first:
            self._seen.discard(self._key(candidate))
        self._queue = first + self._queue
        return len(known)

    def _tuner(self, family: str) -> FamilyTuner:
        if family not in self._tuners:
            space = self.models[family].search_space(self.n_rows, self.n_features, self.task)
            self._tuners[family] = FamilyTuner(family, space, self.random_state)
        return self._tuners[family]

    def tell(self, candidate: Candidate, loss: float) -> None:
        key = self._key(candidate)
        self._losses[key] = loss
        self._seen.add(key)
        if candidate.tuner_trial is not None:
            self._tuner(candidate.model).tell(candidate.tuner_trial, loss)
        else:
            self._tuner(candidate.model).observe(candidate.config, loss)
        if np.isfinite(loss):
            best = self._best_loss.get(candidate.model, np.inf)
            self._best_loss[candidate.model] = min(best, loss)
