"""The searcher: the portfolio of default configs first (portfolios/*.json), then random
configs from the search spaces of the families that scored best so far."""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources
from typing import Any

import numpy as np

from assay._types import Task
from assay.search import _space


@dataclass(frozen=True)
class Candidate:
    model: str
    config: dict[str, Any]
    source: str  # "portfolio" or "random"


def load_portfolio(name: str = "default") -> list[tuple[str, int]]:
    text = resources.files("assay.search").joinpath(f"portfolios/{name}.json").read_text()
    return [(model, int(index)) for model, index in json.loads(text)["entries"]]


class PortfolioSearcher:
    """`ask()` proposes the next Candidate (None when nothing is left); `tell()` reports
    its score as a loss (lower is better) so random search can favour good families."""

    def __init__(
        self,
        models: dict[str, type],
        task: Task,
        n_rows: int,
        n_features: int,
        random_state: int = 0,
        portfolio: str = "default",
    ):
        self.models = models
        self.task = task
        self.n_rows = n_rows
        self.n_features = n_features
        self._rng = np.random.default_rng(random_state)
        self._queue: list[Candidate] = []
        for model, index in load_portfolio(portfolio):
            if model not in models or task not in models[model].tasks:
                continue
            configs = models[model].default_configs(task)
            if index < len(configs):
                self._queue.append(Candidate(model, dict(configs[index]), "portfolio"))
        self._best_loss: dict[str, float] = {}
        self._seen: set[str] = set()

    def ask(self) -> Candidate | None:
        while self._queue:
            candidate = self._queue.pop(0)
            key = json.dumps([candidate.model, candidate.config], sort_keys=True, default=str)
            if key not in self._seen:
                self._seen.add(key)
                return candidate
        ranked = sorted(self._best_loss, key=self._best_loss.get)
        if not ranked:
            return None
        family = ranked[int(self._rng.integers(0, min(3, len(ranked))))]  # one of the best 3
        space = self.models[family].search_space(self.n_rows, self.n_features, self.task)
        return Candidate(family, _space.sample(space, self._rng), "random")

    def tell(self, candidate: Candidate, loss: float) -> None:
        if np.isfinite(loss):
            best = self._best_loss.get(candidate.model, np.inf)
            self._best_loss[candidate.model] = min(best, loss)
