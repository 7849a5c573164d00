"""Tuning in the time that remains: one Optuna TPE study per model family.

Every finished config of a family (portfolio ones included) is told to that family's study,
so TPE starts from what the portfolio already measured instead of from scratch.
"""

from __future__ import annotations

import math
import zlib
from typing import Any

from assay.search._space import Choice, Distribution, Float, Int

_N_STARTUP_TRIALS = 4  # random configs before TPE models the space (portfolio ones count)


def _optuna_distribution(dist: Distribution):
    from optuna.distributions import (
        CategoricalDistribution,
        FloatDistribution,
        IntDistribution,
    )

    if isinstance(dist, Int):
        return IntDistribution(dist.low, dist.high, log=dist.log)
    if isinstance(dist, Float):
        return FloatDistribution(dist.low, dist.high, log=dist.log)
    if isinstance(dist, Choice):
        return CategoricalDistribution(dist.options)
    raise TypeError(f"unknown distribution {dist!r}")


class FamilyTuner:
    """TPE over one family's search space through Optuna's ask/tell interface."""

    def __init__(self, family: str, space: dict[str, Distribution], random_state: int = 0):
        import optuna

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        self.family = family
        self.space = space
        self._distributions = {k: _optuna_distribution(d) for k, d in space.items()}
        # A seed per family (crc32 is stable across processes, unlike hash()).
        seed = (random_state * 1_000_003 + zlib.crc32(family.encode())) % 2**31
        sampler = optuna.samplers.TPESampler(
            seed=seed, n_startup_trials=_N_STARTUP_TRIALS, multivariate=True
        )
        self._study = optuna.create_study(direction="minimize", sampler=sampler)
        self._open: dict[int, Any] = {}  # trial number -> live optuna Trial

    def ask(self) -> tuple[int, dict[str, Any]]:
        trial = self._study.ask(self._distributions)
        self._open[trial.number] = trial
        return trial.number, dict(trial.params)

    def tell(self, number: int, loss: float) -> None:
        """Report the loss of a config from `ask`; a failed one (NaN loss) is marked failed."""
        import optuna

        trial = self._open.pop(number)
        if math.isfinite(loss):
            self._study.tell(trial, loss)
        else:
            self._study.tell(trial, state=optuna.trial.TrialState.FAIL)

    def observe(self, config: dict[str, Any], loss: float) -> None:
        """Add a config measured elsewhere (the portfolio); keys outside the space are
        dropped, since TPE models each parameter from the trials that have it."""
        import optuna

        if not math.isfinite(loss):
            return
        params = {k: v for k, v in config.items() if k in self.space and self.space[k].contains(v)}
        if not params:
            return
        distributions = {k: self._distributions[k] for k in params}
        self._study.add_trial(
            optuna.trial.create_trial(params=params, distributions=distributions, value=loss)
        )

    @property
    def n_trials(self) -> int:
        return len(self._study.trials)
