"""SearchProposer: experiments without an LLM, as mutations of pipeline.py's CONFIG.

Each proposal applies one operator to the best CONFIG (features that discovery found,
model families, folds, stacking, portfolio, feature steps, continuing the best
experiment's model search, a tuned single model and its hyper-parameters). The operator's
family (features, models, tuning, ensembling, validation) comes from, in this order: a
hint in program.md not yet followed (`_hints`), the proposer's own focus (`focus`, one
proposer per family under `--parallel`), or a bandit over the gains measured in this
workspace (`_bandit`); the proposal says why. Operators whose changes were kept are drawn
more often; a config whose hash is in the ledger is never proposed again. Once every
one-step neighbour of the best was tried, chains of two and then three operators are
drawn. The description names the operator first ("features: + ...", "lightgbm: num_leaves
31 -> 63") so the weights can be recovered from the ledger alone.
"""

from __future__ import annotations

import copy
import math
from collections import Counter
from typing import Any

import numpy as np

from assay._types import Task
from assay.errors import ConfigError
from assay.log import get_logger
from assay.research._bandit import (
    EXPLORE,
    FAMILIES,
    FAMILY_OF,
    choose_family,
    is_search,
    measured_gains,
)
from assay.research._change import Change, ProposalContext
from assay.research._config import read_config, write_config
from assay.research._hints import Guidance, hints_of, understand
from assay.research._ledger import hash_config
from assay.search._space import Choice, Int

logger = get_logger(__name__)

FEATURE_STEPS = {
    "log1p_skewed": "log1p of skewed numerics",
    "frequency_encoding": "frequency encoding of categoricals",
    "ratios_top_numeric": "ratios of the top numerics",
    "missing_count": "row-wise missing count",
    "row_stats": "row mean and spread of numerics",
}
N_FOLDS = (None, 3, 5, 8, 10)
PORTFOLIOS = ("default", "handmade")
SINGLE_FAMILIES = (
    "lightgbm",
    "xgboost",
    "catboost",
    "random_forest",
    "extra_trees",
    "linear",
    "knn",
)
BASE_WEIGHTS = {
    "discovered": 3.0,
    "features": 2.0,
    "models": 1.0,
    "n_folds": 1.0,
    "stack": 0.5,
    "portfolio": 0.5,
    "single_model": 1.0,
    "params": 3.0,
    "automl": 0.3,
    "continue_search": 1.5,
}
_AUTOML_ONLY = {"models", "n_folds", "stack", "portfolio", "single_model", "continue_search"}
_SINGLE_ONLY = {"params", "automl"}
_MAX_TRIES = 200  # draws per depth before trying longer chains of operators
_MAX_DEPTH = 3
_FAMILY_MISSES = 20  # draws of a family with nothing new before the bandit looks elsewhere
# nominal data size for the search spaces: only their defaults depend on it, not the ranges
_N_ROWS, _N_FEATURES = 1_000, 10


def operator_of(description: str) -> str | None:
    """Which operator wrote a description (None for proposals of other proposers)."""
    from assay.models import MODELS

    head = description.split(":", 1)[0].strip()
    if head == "single model":
        return "single_model"
    if head in MODELS:
        return "params"
    return head if head in BASE_WEIGHTS else None


def _show(value: Any) -> str:
    if value is None:
        return "auto"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


class SearchProposer:
    """Mutations of CONFIG guided by what was kept; None once no new config is found.
    `task` only matters for the search spaces; it is read from the metric when not given.
    `focus`: a family (features, models, tuning, ensembling, validation) this proposer
    draws its first change from whenever one of it applies; its changes' source is then
    "search/<focus>"."""

    def __init__(
        self, random_state: int = 0, task: Task | str | None = None, focus: str | None = None
    ):
        if focus is not None and focus not in FAMILIES:
            raise ConfigError(f"focus {focus!r}: choose one of {', '.join(FAMILIES)}")
        self.random_state = random_state
        self.task = None if task is None else Task(task)
        self.focus = focus
        self.source = "search" if focus is None else f"search/{focus}"
        self.rng = np.random.default_rng(random_state)
        self._proposed: set[str] = set()
        self._discovered: list[list[str]] = []  # specs from the context, best first
        self._texts: dict[str, str] = {}
        self._guidance = Guidance()
        self._told: set[str] = set()  # hints whose reading was logged
        # (config, family): draws of one-step changes from that config that were all tried
        self._misses: Counter[tuple[str, str]] = Counter()

    def propose(self, ctx: ProposalContext) -> Change | None:
        if ctx.last_error is not None:
            return None  # mutations cannot repair code: let the loop go on
        try:
            base = read_config(ctx.pipeline)
        except ConfigError as exc:
            logger.warning("the search proposer cannot read CONFIG: %s", exc)
            return None
        task = self.task or self._task_of(ctx.metric)
        self._read_hints(ctx)
        self._discovered = [list(f["spec"]) for f in ctx.discovered]
        self._texts = {repr(list(f["spec"])): f["text"] for f in ctx.discovered}
        tried = self._proposed | {e["config_hash"] for e in ctx.ledger if e.get("config_hash")}
        at = hash_config(base)  # the config that one-step changes start from
        # explore or exploit is drawn once per proposal: drawn again on every retry, a
        # random draw would win whenever the best family needs a few tries
        explore = 1.0 if self.rng.random() < EXPLORE else 0.0
        weights = self._weights(ctx.ledger)
        gains = measured_gains(ctx.ledger, ctx.greater_is_better, operator_of)
        # one operator first; once its neighbours are all tried, two, then three in a row
        for depth in range(1, _MAX_DEPTH + 1):
            for _ in range(_MAX_TRIES):
                family, why = None, "every one-step change of this family was tried"
                applicable = {FAMILY_OF[op] for op in weights if self._applies(op, base)}
                applicable -= self._guidance.avoid  # a hint said to stop these
                if depth > 1 and self.focus in applicable:
                    family = self.focus  # the chain still starts in this proposer's family
                if depth == 1:
                    family, why = self._hinted_family(applicable, ctx.ledger)
                    if family is None and self.focus in applicable:
                        family, why = self.focus, f"this proposer's focus is {self.focus}"
                    if family is None:  # a family whose changes keep coming out tried has
                        # none left: the bandit picks among the others (else only its
                        # random draws would ever escape it)
                        worn = {f for f in applicable if self._misses[at, f] >= _FAMILY_MISSES}
                        family, why = choose_family(
                            gains, (applicable - worn) or applicable, self.rng, explore
                        )
                proposal = self._mutate_config(base, task, weights, depth, family)
                if proposal is None or hash_config(proposal[0]) in tried:
                    if depth == 1 and family is not None:
                        self._misses[at, family] += 1
                    continue
                config, description = proposal
                self._proposed.add(hash_config(config))
                why = why if depth == 1 else f"{depth} changes at once: {why}"
                return Change(write_config(ctx.pipeline, config), description, self.source, why)
        return None

    def _mutate_config(
        self, base: dict, task: Task, weights: dict, depth: int, family: str | None = None
    ):
        """`depth` operators in a row, the first from `family` when one is given."""
        config, descriptions = copy.deepcopy(base), []
        for step in range(depth):
            ops = [op for op in weights if self._applies(op, config)]
            ops = [op for op in ops if FAMILY_OF[op] not in self._guidance.avoid]
            if not ops:
                return None
            if step == 0 and family is not None:
                ops = [op for op in ops if FAMILY_OF[op] == family]
                if family == "features" and self._hinted_features(config.get("discovered") or []):
                    ops = ["discovered"]  # the features a person asked for, first
            probs = np.array([weights[op] for op in ops])
            op = ops[int(self.rng.choice(len(ops), p=probs / probs.sum()))]
            proposal = getattr(self, f"_op_{op}")(copy.deepcopy(config), task)
            if proposal is None:
                return None
            config, text = proposal
            descriptions.append(text)
        if config == base:
            return None
        return config, "; ".join(descriptions)

    @staticmethod
    def _task_of(metric: str) -> Task:
        from assay.evaluate._metrics import METRICS

        tasks = METRICS[metric].tasks if metric in METRICS else frozenset({Task.BINARY})
        return Task.REGRESSION if Task.REGRESSION in tasks else Task.BINARY

    @staticmethod
    def _weights(ledger: list[dict]) -> dict[str, float]:
        kept = dict.fromkeys(BASE_WEIGHTS, 0)
        tried = dict.fromkeys(BASE_WEIGHTS, 0)
        for entry in ledger:
            op = operator_of(str(entry.get("description", "")))
            if op is None or not is_search(entry.get("source")):
                continue
            tried[op] += 1
            kept[op] += entry.get("status") == "keep"
        return {
            op: base * (1 + 3 * kept[op]) / math.sqrt(1 + tried[op])
            for op, base in BASE_WEIGHTS.items()
        }

    # -- hints ----------------------------------------------------------------------------
    def _read_hints(self, ctx: ProposalContext) -> None:
        """program.md's hints as guidance; what a hint's words did not say is logged once."""
        self._guidance = understand(hints_of(ctx.program), ctx.columns)
        for line in self._guidance.lines():
            if line not in self._told:
                self._told.add(line)
                logger.info("%s", line)

    def _hinted_family(self, applicable: set[str], ledger: list[dict]) -> tuple[str | None, str]:
        """A family a hint asked for: at once while the newest such hint was never followed
        (no ledger line names it), then most of the time."""
        hinted = [(f, h) for f, h in self._guidance.families.items() if f in applicable]
        if not hinted:
            return None, ""
        followed = " ".join(str(e.get("description", "")) for e in ledger)
        order = {h: i for i, h in enumerate(self._guidance.hints)}
        hinted.sort(key=lambda fh: -order.get(fh[1], -1))
        fresh = [(f, h) for f, h in hinted if f"hint {h!r}" not in followed]
        if fresh:
            family, hint = fresh[0]
        elif self.rng.random() >= EXPLORE:
            family, hint = hinted[0]
        else:
            return None, ""
        return family, f"following the hint {hint!r}"

    def _hinted_features(self, current: list[list[str]]) -> list[list[str]]:
        return [s for s, _ in self._guidance.features if s not in current]

    def _applies(self, op: str, config: dict) -> bool:
        if op == "discovered":  # pipelines from before discovery have no such step
            return "discovered" in config and bool(self._discovered or self._guidance.features)
        single = bool(config.get("single_model"))
        if op == "continue_search" and "continue_search" not in config:
            return False  # a pipeline from before the template could continue a search
        if op in _AUTOML_ONLY:
            return not single and isinstance(config.get("automl"), dict)
        if op in _SINGLE_ONLY:
            return single
        return True

    def _pick(self, options: list | tuple) -> Any:
        return options[int(self.rng.integers(len(options)))]

    # -- operators: each returns (new config, description) or None ---------------------------
    def _op_discovered(self, config: dict, task: Task):
        """Add a run of discovered features (1, 2, 4 or 8 in their order, the best most
        often), or drop one that is in."""
        current = [list(s) for s in config.get("discovered") or []]
        hinted = self._hinted_features(current)
        if hinted:  # what a person asked for first, all of it at once
            config["discovered"] = current + hinted
            return config, f"discovered: + {', '.join(map(self._text, hinted))}"
        pending = [s for s in self._discovered if s not in current]
        if pending and (not current or self.rng.random() < 0.75):
            k = int(self._pick([n for n in (1, 2, 4, 8) if n <= len(pending)]))
            starts = np.arange(0, len(pending), k)
            odds = 1 / (1 + np.arange(len(starts)))
            start = int(self.rng.choice(starts, p=odds / odds.sum()))
            batch = pending[start : start + k]
            config["discovered"] = current + batch
            return config, f"discovered: + {', '.join(map(self._text, batch))}"
        return self._drop_one(config, "discovered", self._text)

    def _text(self, spec: list[str]) -> str:
        from assay.features import FeatureSpec

        return self._texts.get(repr(list(spec))) or FeatureSpec.of(spec).text

    def _op_features(self, config: dict, task: Task):
        steps = list(config.get("features") or [])
        absent = [s for s in FEATURE_STEPS if s not in steps]
        if absent and (not steps or self.rng.random() < 0.7):
            step = self._pick(absent)  # canonical order: one list per set of steps
            others = [s for s in steps if s not in FEATURE_STEPS]
            config["features"] = [s for s in FEATURE_STEPS if s in (*steps, step)] + others
            return config, f"features: + {FEATURE_STEPS[step]}"
        return self._drop_one(config, "features", lambda s: FEATURE_STEPS.get(s, s))

    def _drop_one(self, config: dict, key: str, text):
        """CONFIG[key] without one of its items, described as "<key>: - <its text>"."""
        items = list(config.get(key) or [])
        if not items:
            return None
        item = self._pick(items)
        config[key] = [s for s in items if s != item]
        return config, f"{key}: - {text(item)}"

    def _op_models(self, config: dict, task: Task):
        from assay.models import MODELS

        # tabular families: a network of media files fits only data with such a column
        every = [n for n, cls in MODELS.items() if task in cls.tasks and cls.kind is None]
        current = config["automl"].get("models") or every
        absent = [m for m in every if m not in current and m not in self._guidance.avoid_models]
        avoided = [m for m in current if m in self._guidance.avoid_models]
        asked = [m for m in self._guidance.models if m in absent]
        roll = self.rng.random()
        if avoided and len(current) > 1:
            name = self._pick(avoided)
            new, text = [m for m in current if m != name], f"- {name}"
        elif asked:
            name = self._pick(asked)
            new, text = [*current, name], f"+ {name}"
        elif roll < 0.2:
            pool = [m for m in SINGLE_FAMILIES[:4] if m not in self._guidance.avoid_models]
            if len(pool) < 2:
                return None
            chosen = sorted(self.rng.choice(pool, size=2, replace=False).tolist())
            new, text = chosen, f"only {', '.join(chosen)}"
        elif absent and roll < 0.5:
            name = self._pick(absent)
            new, text = [*current, name], f"+ {name}"
        elif len(current) > 1:
            name = self._pick(current)
            new, text = [m for m in current if m != name], f"- {name}"
        else:
            return None
        config["automl"]["models"] = None if sorted(new) == sorted(every) else new
        return config, f"models: {text}"

    def _op_n_folds(self, config: dict, task: Task):
        old = config["automl"].get("n_folds")
        new = self._pick([n for n in N_FOLDS if n != old])
        config["automl"]["n_folds"] = new
        return config, f"n_folds: {_show(old)} -> {_show(new)}"

    def _op_continue_search(self, config: dict, task: Task):
        """Continue the best experiment's model search (its trials known) instead of
        starting AutoML's portfolio again, or stop continuing it."""
        new = not config.get("continue_search")
        config["continue_search"] = new
        return config, "continue_search: " + (
            "on (the best experiment's trials first, then deeper)" if new else "off"
        )

    def _op_stack(self, config: dict, task: Task):
        old = config["automl"].get("stack", "auto")
        new = "off" if old == "auto" else "auto"
        config["automl"]["stack"] = new
        return config, f"stack: {old} -> {new}"

    def _op_portfolio(self, config: dict, task: Task):
        old = config["automl"].get("portfolio", "default")
        new = self._pick([p for p in PORTFOLIOS if p != old])
        config["automl"]["portfolio"] = new
        return config, f"portfolio: {old} -> {new}"

    def _op_single_model(self, config: dict, task: Task):
        from assay.models import MODELS

        name = self._pick([f for f in SINGLE_FAMILIES if f in MODELS])
        params = dict(MODELS[name].default_configs(task)[0])
        config["single_model"] = {"model": name, "params": params}
        return config, f"single model: {name} (its first default config)"

    def _op_automl(self, config: dict, task: Task):
        name = config["single_model"].get("model", "?")
        config["single_model"] = None
        return config, f"automl: back from the single {name} model"

    def _op_params(self, config: dict, task: Task):
        from assay.models import MODELS

        spec = config["single_model"]
        family = MODELS.get(spec.get("model", ""))
        if family is None:
            return None
        space = family.search_space(_N_ROWS, _N_FEATURES, task)
        name = self._pick(sorted(space))
        dist = space[name]
        params = dict(spec.get("params") or {})
        old = params.get(name, dist.default)
        new = self._mutate(dist, old)
        if new is None or new == old:
            return None
        params[name] = new
        config["single_model"] = {**spec, "params": params}
        return config, f"{spec['model']}: {name} {_show(old)} -> {_show(new)}"

    def _mutate(self, dist, value: Any) -> Any:
        """A neighbour of `value` within the distribution's range."""
        if isinstance(dist, Choice):
            others = [o for o in dist.options if o != value]
            return self._pick(others) if others else None
        if not isinstance(value, int | float) or isinstance(value, bool):
            value = dist.default
        if dist.log:
            new = value * float(self._pick((0.5, 0.7, 1.4, 2.0)))
        else:
            new = value + float(self._pick((-1, 1))) * 0.15 * (dist.high - dist.low)
        new = min(max(new, dist.low), dist.high)
        if isinstance(dist, Int):
            new = round(new)
            if new == value:
                new = int(min(max(value + self._pick((-1, 1)), dist.low), dist.high))
            return new
        return float(f"{new:.4g}")


class ProposerTeam:
    """Several proposers over one ledger, asked in turn (`--parallel N` with the search
    proposer: one per focus, so the experiments running at once explore different
    families). Out of ideas only when every member is; each change carries its member's
    source."""

    def __init__(self, members: list):
        if not members:
            raise ConfigError("a proposer team needs at least one proposer")
        self.members = list(members)
        self._next = 0

    def propose(self, ctx: ProposalContext) -> Change | None:
        for _ in range(len(self.members)):
            member = self.members[self._next % len(self.members)]
            self._next += 1
            change = member.propose(ctx)
            if change is not None:
                return change
        return None


FOCUS_ORDER = ("features", "models", "ensembling", "tuning", "validation")


def search_team(n: int, random_state: int = 0, task: Task | str | None = None):
    """One SearchProposer for n == 1; else n focused ones (features, models, ensembling,
    tuning, validation, then unfocused), each with its own seed."""
    if n <= 1:
        return SearchProposer(random_state, task=task)
    foci = [FOCUS_ORDER[i] if i < len(FOCUS_ORDER) else None for i in range(n)]
    return ProposerTeam([SearchProposer(random_state + i, task, f) for i, f in enumerate(foci)])
