"""The discovery loop: generate a batch, validate it, drop behavioural duplicates, rank
the rest with the reward model, evaluate the diverse top-k, record every line; repeat until
the time budget is spent.

A run lives in ASSAY_HOME/discover/<run_id>/: state.json (kind, suite, seeds and the
baselines' scores, written once) and hypotheses.jsonl (one line per hypothesis, fsynced as
it is decided). Resuming reads both back, so an interrupted run loses at most the
evaluations in flight; the store mirrors each line. LLM-written code is validated and
evaluated in the sandbox; grammar-made code is built from whitelisted operations and runs in
worker processes.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import time
import uuid
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from assay._atomic import atomic_write_text
from assay.config import settings
from assay.discover._evaluate import SEEDS, Evaluation, Evaluator, score_hypothesis
from assay.discover._llm_generator import Evaluated
from assay.discover._reward import RewardModel
from assay.discover._select import select_diverse
from assay.discover._spec import Hypothesis, Kind, baselines
from assay.discover._suite import SuiteDataset, load_suite, read_suite, save_suite
from assay.discover._validate import is_duplicate, validate
from assay.errors import ConfigError
from assay.log import get_logger

if TYPE_CHECKING:
    from assay.execute._executors import DaskExecutor, LocalExecutor

    _Processes = LocalExecutor | DaskExecutor | ProcessPoolExecutor  # where evaluations run

logger = get_logger(__name__)

STATE, LINES, SUITE = "state.json", "hypotheses.jsonl", "suite.npz"
_EVAL_SCRIPT = """import json, math
from pathlib import Path
from assay.discover._evaluate import score_hypothesis
from assay.discover._spec import Hypothesis
from assay.discover._suite import read_suite
job = json.loads(Path("inputs/job.json").read_text())
scores = score_hypothesis(Hypothesis.from_dict(job["hypothesis"]),
                          read_suite(Path("inputs/suite.npz")), tuple(job["seeds"]))
finite = [s if math.isfinite(s) else None for s in scores]
Path("outputs/scores.json").write_text(json.dumps(finite))
"""


@dataclass
class Line:
    """One hypothesis as the run records it. status: evaluated, invalid, duplicate, skipped
    (valid but not among the batch's top-k) or failed (its evaluation did not finish)."""

    seq: int
    round: int
    hypothesis: Hypothesis
    status: str
    reason: str = ""
    fingerprint: list[float] | None = None
    predicted: float | None = None
    evaluation: Evaluation | None = None
    created_at: float = field(default_factory=time.time)

    @property
    def reward(self) -> float | None:
        return None if self.evaluation is None else self.evaluation.reward

    @property
    def evaluated(self) -> Evaluation:
        """The evaluation of a line known to have one (as the leaderboard's lines do)."""
        if self.evaluation is None:
            raise ValueError(f"hypothesis {self.hypothesis.id} ({self.status}) is not evaluated")
        return self.evaluation

    def to_dict(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "round": self.round,
            "hypothesis": self.hypothesis.to_dict(),
            "status": self.status,
            "reason": self.reason,
            "fingerprint": self.fingerprint,
            "predicted": self.predicted,
            "evaluation": None if self.evaluation is None else self.evaluation.to_dict(),
            "created_at": self.created_at,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Line:
        evaluation = data.get("evaluation")
        return cls(
            data["seq"],
            data["round"],
            Hypothesis.from_dict(data["hypothesis"]),
            data["status"],
            data.get("reason", ""),
            data.get("fingerprint"),
            data.get("predicted"),
            None if evaluation is None else Evaluation.from_dict(evaluation),
            data.get("created_at", 0.0),
        )


def _die_with_parent() -> None:
    """A worker ends when the loop's process does, even when that one is killed -9 (Linux);
    otherwise an orphaned worker would hold its memory until it was found."""
    import ctypes
    import signal

    with contextlib.suppress(OSError, AttributeError):  # not Linux: no such call
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def _score_in_worker(hypothesis: dict, suite_path: str, seeds: tuple[int, ...]) -> list[float]:
    from assay.discover._evaluate import score_hypothesis

    return score_hypothesis(Hypothesis.from_dict(hypothesis), read_suite(Path(suite_path)), seeds)


class DiscoveryLoop:
    """`run(budget_s)` generates and evaluates components of `kind` until the budget is
    spent. Give `run_id` of an earlier run to resume it (its suite and seeds are reused)."""

    def __init__(
        self,
        kind: Kind | str,
        generator: Any,
        *,
        run_id: str | None = None,
        suite: list[SuiteDataset] | None = None,
        seeds: tuple[int, ...] = SEEDS,
        batch_size: int = 16,
        top_k: int = 4,
        n_workers: int = 2,
        reward_model: RewardModel | None = None,
        store: Any = None,
        on_line: Callable[[Line], None] | None = None,
    ):
        if batch_size < 1 or top_k < 1 or n_workers < 1:
            raise ConfigError(
                f"batch_size, top_k and n_workers must be at least 1 (got {batch_size}, "
                f"{top_k}, {n_workers})."
            )
        self.kind = Kind.parse(kind)
        self.generator = generator
        self.batch_size, self.top_k, self.n_workers = batch_size, top_k, n_workers
        self.reward_model = reward_model or RewardModel(embed=False)
        self.on_line = on_line
        self.run_id = run_id or uuid.uuid4().hex[:12]
        self.folder = settings().home / "discover" / self.run_id
        self.lines: list[Line] = []
        self._store = store
        if run_id is not None:
            self._resume()
        else:
            self._create(suite or load_suite(), seeds)

    # -- the run folder ------------------------------------------------------------------
    def _create(self, suite: list[SuiteDataset], seeds: tuple[int, ...]) -> None:
        self.folder.mkdir(parents=True, exist_ok=False)
        save_suite(suite, self.folder / SUITE)
        self.evaluator = Evaluator(self.kind, suite, seeds)
        logger.info("scoring the baselines on %d datasets x %d seeds", len(suite), len(seeds))
        state = {
            "run_id": self.run_id,
            "kind": self.kind.value,
            "suite": [ds.name for ds in suite],
            "seeds": list(seeds),
            "baseline_scores": self.evaluator.baseline_scores(),
            "created_at": time.time(),
        }
        atomic_write_text(self.folder / STATE, json.dumps(state, allow_nan=True))

    def _resume(self) -> None:
        path = self.folder / STATE
        if not path.is_file():
            raise ConfigError(
                f"no discovery run {self.run_id!r} in {self.folder.parent} (no {STATE}): "
                "check the run id and ASSAY_HOME, or start a new run without --resume."
            )
        state = json.loads(path.read_text())
        if state["kind"] != self.kind.value:
            raise ConfigError(
                f"run {self.run_id} discovers {state['kind']} components, not {self.kind.value}."
            )
        suite = read_suite(self.folder / SUITE)
        self.evaluator = Evaluator(
            self.kind, suite, tuple(state["seeds"]), state["baseline_scores"]
        )
        lines_path = self.folder / LINES
        if lines_path.exists():
            for raw in lines_path.read_text().splitlines():
                try:
                    self.lines.append(Line.from_dict(json.loads(raw)))
                except (ValueError, KeyError):  # a line cut by a kill: the last one only
                    logger.warning("dropping an unfinished line of %s", lines_path)
        if self._store is not False:  # a kill between the file and the store: catch up
            from assay.store import open_store

            store = open_store() if self._store is None else self._store
            stored = {r.seq for r in store.hypotheses(self.run_id)}
            for line in self.lines:
                if line.seq not in stored:
                    self._mirror(line)
        logger.info("resuming run %s after %d hypotheses", self.run_id, len(self.lines))

    def _write(self, line: Line) -> None:
        with open(self.folder / LINES, "a") as handle:
            handle.write(json.dumps(line.to_dict()) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        self.lines.append(line)
        if self._store is not False:
            self._mirror(line)
        if self.on_line is not None:
            self.on_line(line)

    def _mirror(self, line: Line) -> None:
        from assay.store import open_store
        from assay.store._hypotheses import HypothesisRecord

        store = open_store() if self._store is None else self._store
        details = {"reason": line.reason, "parents": list(line.hypothesis.parents)}
        if line.evaluation is not None:
            details.update(line.evaluation.to_dict())
        store.record_hypothesis(
            HypothesisRecord(
                run_id=self.run_id,
                seq=line.seq,
                hypothesis_id=line.hypothesis.id,
                kind=self.kind.value,
                origin=line.hypothesis.origin,
                status=line.status,
                reward=line.reward,
                predicted=line.predicted,
                description=line.hypothesis.description,
                code=line.hypothesis.code,
                created_at=line.created_at,
                details=details,
            )
        )

    # -- the loop ------------------------------------------------------------------------
    def history(self) -> list[Evaluated]:
        return [Evaluated(x.hypothesis, x.status, x.reward, x.reason) for x in self.lines]

    def run(self, budget_s: float, cluster: str | None = None) -> list[Line]:
        """Rounds until `budget_s` seconds are spent (a round in flight finishes). With
        `cluster` ("local:N" or a Dask scheduler address) grammar-made hypotheses are
        evaluated on the Dask workers, the suite sent to each once; LLM code still runs in
        this machine's sandbox."""
        self._fit_reward_model()
        context = __import__("multiprocessing").get_context("spawn")
        with contextlib.ExitStack() as stack:
            processes: _Processes
            if cluster:
                from assay.execute._executors import executor_from

                executor = executor_from(cluster)
                stack.enter_context(executor)
                self._suite_handle = executor.share(self.evaluator.suite)
                processes = executor
            else:
                pool = ProcessPoolExecutor(
                    self.n_workers, mp_context=context, initializer=_die_with_parent
                )
                processes = stack.enter_context(pool)
                self._suite_handle = None
            threads = stack.enter_context(ThreadPoolExecutor(self.n_workers))
            self._pools: tuple[_Processes, ThreadPoolExecutor] = (processes, threads)
            started = time.monotonic()  # the budget is for rounds, not for starting workers
            while time.monotonic() - started < budget_s:
                if not self._round():
                    logger.info("the generator has no new hypotheses: stopping")
                    break
        return self.lines

    def _round(self) -> bool:
        number = 1 + max((x.round for x in self.lines), default=0)
        batch = self.generator.generate(self.batch_size, self.history())
        if not batch:
            return False
        seen = [np.asarray(x.fingerprint) for x in self.lines if x.fingerprint is not None]
        seen += self._baseline_fingerprints()
        valid: list[tuple[Hypothesis, list[float]]] = []
        for hypothesis in batch:
            sandbox = self.folder / "sandbox" if hypothesis.origin == "llm" else None
            check = validate(hypothesis, sandbox_root=sandbox)
            if not check.ok or check.fingerprint is None:  # a fingerprint when ok
                self._write(self._line(number, hypothesis, "invalid", check.reason))
            elif is_duplicate(check.fingerprint, seen):
                self._write(self._line(number, hypothesis, "duplicate", "behaves like another"))
            else:
                seen.append(check.fingerprint)
                valid.append((hypothesis, [float(v) for v in check.fingerprint]))
        if not valid:
            return True
        hyps, fps = [h for h, _ in valid], [np.asarray(f) for _, f in valid]
        predicted = self.reward_model.rank(hyps, fps)
        chosen = set(select_diverse([h.id for h in hyps], predicted, fps, self.top_k))
        jobs = {}
        for (hypothesis, fp), guess in zip(valid, predicted, strict=True):
            guess = float(guess) if self.reward_model.fitted else None
            if hypothesis.id in chosen:
                jobs[hypothesis.id] = (hypothesis, fp, guess, self._submit(hypothesis))
            else:
                self._write(self._line(number, hypothesis, "skipped", "", fp, guess))
        for hypothesis, fp, guess, future in jobs.values():
            started = time.perf_counter()
            try:
                scores = future.result()
            except Exception as exc:  # a worker or sandbox failure: recorded, not fatal
                self._write(self._line(number, hypothesis, "failed", str(exc)[:300], fp, guess))
                continue
            evaluation = self.evaluator.judge(scores, time.perf_counter() - started)
            line = self._line(number, hypothesis, "evaluated", "", fp, guess)
            line.evaluation = evaluation
            self._write(line)
        self._fit_reward_model()
        return True

    def _line(self, number, hypothesis, status, reason="", fp=None, predicted=None) -> Line:
        seq = 1 + max((x.seq for x in self.lines), default=0)
        return Line(seq, number, hypothesis, status, reason, fp, predicted)

    def _submit(self, hypothesis: Hypothesis) -> Future:
        processes, threads = self._pools
        seeds = self.evaluator.seeds
        if hypothesis.origin != "llm" and self._suite_handle is not None:
            return processes.submit(score_hypothesis, hypothesis, self._suite_handle, seeds)
        if hypothesis.origin != "llm":
            suite = str(self.folder / SUITE)
            return processes.submit(_score_in_worker, hypothesis.to_dict(), suite, seeds)
        return threads.submit(self._score_in_sandbox, hypothesis)

    def score(self, hypothesis: Hypothesis, seeds: tuple[int, ...]) -> list[float]:
        """Scores on other seeds (the confirmation), in the sandbox for LLM code."""
        if hypothesis.origin == "llm":
            return self._score_in_sandbox(hypothesis, seeds)
        return _score_in_worker(hypothesis.to_dict(), str(self.folder / SUITE), seeds)

    def _score_in_sandbox(
        self, hypothesis: Hypothesis, seeds: tuple[int, ...] | None = None
    ) -> list[float]:
        from assay.execute import Limits, Sandbox

        sandbox = Sandbox(self.folder / "sandbox", Limits(time_s=600, memory_mb=3072))
        job = {"hypothesis": hypothesis.to_dict(), "seeds": list(seeds or self.evaluator.seeds)}
        ws = sandbox.workspace(
            files={"evaluate.py": _EVAL_SCRIPT},
            inputs={"job.json": json.dumps(job), "suite.npz": self.folder / SUITE},
        )
        outcome = sandbox.run_python("evaluate.py", ws)
        result = ws.outputs / "scores.json"
        if not outcome.ok or not result.is_file():
            tail = (outcome.stderr or "").strip().splitlines()[-1:] or [outcome.status.value]
            raise RuntimeError(f"sandboxed evaluation {outcome.status.value}: {tail[0]}")
        return [float("-inf") if s is None else float(s) for s in json.loads(result.read_text())]

    def _baseline_fingerprints(self) -> list[np.ndarray]:
        if not hasattr(self, "_base_fps"):
            checks = [validate(h) for h in baselines(self.kind).values()]
            self._base_fps = [c.fingerprint for c in checks if c.fingerprint is not None]
        return list(self._base_fps)

    def _fit_reward_model(self) -> None:
        done = [x for x in self.lines if x.evaluation is not None and x.fingerprint is not None]
        if len(done) >= self.reward_model.min_train:
            self.reward_model.fit(
                [x.hypothesis for x in done],
                [np.asarray(x.fingerprint) for x in done],
                [x.evaluated.reward for x in done],
            )

    # -- results -------------------------------------------------------------------------
    def leaderboard(self) -> list[Line]:
        done = [x for x in self.lines if x.evaluation is not None]
        return sorted(done, key=lambda x: -(r if math.isfinite(r := x.evaluated.reward) else -1.0))
