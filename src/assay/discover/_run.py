"""`discover(kind, budget_s)`: a whole discovery run as a user starts it, and its results:
the leaderboard, the reward model's held-out correlations, the reward-collapse measure,
the winners saved to the registry, and for activations how close the best is to Swish."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from assay.discover._evaluate import PRIMARY, Evaluation, Evaluator, score_hypothesis
from assay.discover._loop import DiscoveryLoop, Line
from assay.discover._registry import save_component
from assay.discover._reward import heldout_correlations
from assay.discover._select import collapse
from assay.discover._spec import Kind, baselines, compile_component
from assay.discover._validate import similarity
from assay.errors import ConfigError


@dataclass
class DiscoveryResult:
    run_id: str
    kind: Kind
    leaderboard: list[Line]
    counts: dict[str, int]
    correlations: dict[str, float]
    collapse_top_k: float
    collapse_by_round: list[float]
    registered: list[str] = field(default_factory=list)
    swish: dict[str, float] | None = None  # for the best activation
    # the top of the leaderboard re-evaluated on seeds the search never saw: the win rates
    # it reached by being picked as the best of many are partly luck; these are not
    confirmed: dict[str, Evaluation] = field(default_factory=dict)

    @property
    def primary(self) -> str:
        return PRIMARY[self.kind]


def swish_closeness(line: Line) -> dict[str, float]:
    """How far the activation is from Swish (x * sigmoid(x)) on [-5, 5]: the RMS gap, and
    the correlation (1.0 when it is Swish up to scale and shift)."""
    import torch

    x = torch.linspace(-5, 5, 201)
    with torch.no_grad():
        f = compile_component(line.hypothesis)["activation"](x).double().numpy()
    swish = (x * torch.sigmoid(x)).double().numpy()
    corr = float(np.corrcoef(f, swish)[0, 1]) if np.std(f) > 0 else float("nan")
    return {"rms": float(np.sqrt(np.mean((f - swish) ** 2))), "correlation": corr}


def _make_generator(kind: Kind, generator: str, llm: Any, random_state: int) -> Any:
    if generator == "grammar":
        from assay.discover._grammar import GrammarGenerator

        return GrammarGenerator(kind, random_state=random_state)
    if generator == "llm":
        from assay.discover._llm_generator import LLMGenerator

        if llm is None:
            from assay.llm import llm_from_env

            llm = llm_from_env()
        return LLMGenerator(llm, kind, random_state=random_state)
    raise ConfigError(f"unknown generator {generator!r}: use grammar (no LLM) or llm.")


def discover(
    kind: Kind | str,
    budget_s: float,
    *,
    generator: str = "grammar",
    llm: Any = None,
    run_id: str | None = None,
    n_register: int = 3,
    n_confirm: int = 3,
    random_state: int = 0,
    cluster: str | None = None,
    **loop_options: Any,
) -> DiscoveryResult:
    """Run (or resume, with `run_id`) a discovery of `kind` for `budget_s` seconds; then
    re-evaluate the best `n_confirm` on fresh seeds and register up to `n_register` of the
    best whose win rate over the main baseline is above one half on both sets of seeds."""
    kind = Kind.parse(kind)
    if budget_s <= 0:
        raise ConfigError(f"budget must be positive (got {budget_s} s): e.g. --budget 30m.")
    loop = DiscoveryLoop(
        kind,
        _make_generator(kind, generator, llm, random_state),
        run_id=run_id,
        **loop_options,
    )
    if run_id is not None and hasattr(loop.generator, "rng"):  # new draws after a resume
        loop.generator.rng = np.random.default_rng([random_state, len(loop.lines)])
    loop.run(budget_s, cluster=cluster)
    return summarize(loop, n_register, n_confirm)


CONFIRM_SEEDS = (100, 101, 102)


def _abs_similarity(a, b) -> float:
    """Behaviour up to sign: -f is as good as f to a layer whose weights can flip it."""
    return abs(similarity(a, b))


def confirm(loop: DiscoveryLoop, lines: list[Line], seeds=CONFIRM_SEEDS) -> dict[str, Evaluation]:
    """Re-evaluate `lines` against the baselines on fresh seeds."""
    if not lines:
        return {}
    base = {
        name: score_hypothesis(h, loop.evaluator.suite, seeds)
        for name, h in baselines(loop.kind).items()
    }
    fresh = Evaluator(loop.kind, loop.evaluator.suite, seeds, base)
    return {x.hypothesis.id: fresh.judge(loop.score(x.hypothesis, seeds)) for x in lines}


def summarize(loop: DiscoveryLoop, n_register: int = 3, n_confirm: int = 3) -> DiscoveryResult:
    board = loop.leaderboard()
    primary = PRIMARY[loop.kind]
    counts: dict[str, int] = {}
    for line in loop.lines:
        counts[line.status] = counts.get(line.status, 0) + 1
    rated = [x for x in board if x.fingerprint is not None and math.isfinite(x.evaluated.reward)]
    correlations = heldout_correlations(
        [x.hypothesis for x in rated],
        [np.asarray(x.fingerprint) for x in rated],
        [x.evaluated.reward for x in rated],
        embed=loop.reward_model.features.embed,
    )
    top = [np.asarray(x.fingerprint) for x in rated[: loop.top_k]]
    by_round = []
    for number in sorted({x.round for x in loop.lines}):
        chosen = [x for x in loop.lines if x.round == number and x.evaluation is not None]
        fps = [np.asarray(x.fingerprint) for x in chosen if x.fingerprint]
        by_round.append(collapse(fps, _abs_similarity))
    confirmed = confirm(loop, board[: max(n_confirm, 0)])
    registered = []
    for line in board[:n_register]:
        judged = confirmed.get(line.hypothesis.id, line.evaluated)
        searched = line.evaluated.win_rates.get(primary, 0.0)
        if searched > 0.5 and judged.win_rates.get(primary, 0.0) > 0.5:
            save_component(
                line.hypothesis,
                {
                    "reward": line.reward,
                    "win_rates": line.evaluated.win_rates,
                    "p_values": line.evaluated.p_values,
                    "confirmed": None if judged is line.evaluation else judged.to_dict(),
                    "run_id": loop.run_id,
                },
            )
            registered.append(line.hypothesis.id)
    swish = swish_closeness(board[0]) if board and loop.kind is Kind.ACTIVATION else None
    return DiscoveryResult(
        loop.run_id,
        loop.kind,
        board,
        counts,
        correlations,
        collapse(top, _abs_similarity),
        by_round,
        registered,
        swish,
        confirmed,
    )
