"""The agents' tools: thin wrappers of the public API over one session's state. Each
returns a short text for the model (and the user) and never raises for bad arguments or
bad input: the message says what was wrong and what would work, so a model can retry."""

from __future__ import annotations

import inspect
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from assay.errors import AssayError, ToolError
from assay.log import get_logger

logger = get_logger(__name__)
HOLDOUT_SHARE = 0.2
MAX_TEXT = 4000


@dataclass
class SessionState:
    """What the session knows: the data, the question, the fitted predictor, artifacts."""

    folder: Path
    data: str | None = None
    frame: pd.DataFrame | None = None
    target: str | None = None
    metric: str | None = None
    task: str | None = None
    predictor_path: str | None = None
    run_id: str | None = None
    holdout_path: str | None = None
    artifacts: list[str] = field(default_factory=list)

    @property
    def columns(self) -> list[str]:
        return [] if self.frame is None else [str(c) for c in self.frame.columns]

    def summary(self) -> dict:
        return {
            "data": self.data,
            "target": self.target,
            "metric": self.metric,
            "fitted": self.predictor_path is not None,
            "artifacts": list(self.artifacts),
        }


@dataclass(frozen=True)
class ToolResult:
    ok: bool
    content: str  # what the model reads (and the user sees in the log)
    data: dict = field(default_factory=dict)


def _cut(text: str) -> str:
    return text if len(text) <= MAX_TEXT else text[:MAX_TEXT] + "\n[... cut ...]"


def _table(frame: pd.DataFrame) -> str:
    return frame.to_string(index=False, max_colwidth=40, float_format=lambda v: f"{v:.4g}")


class Toolbox:
    """`call(name, arguments)` runs a tool; `specs()` describes them as JSON-schema tools.
    `coder` runs `run_code` (a CodingAgent; None without an LLM); `progress` receives short
    status lines while slow tools run."""

    def __init__(
        self, state: SessionState, coder=None, progress: Callable[[str], None] | None = None
    ):
        self.state = state
        self.coder = coder
        self.progress = progress or (lambda _text: None)
        self.tools: dict[str, Callable[..., str]] = {
            name: getattr(self, name) for name in TOOL_SCHEMAS
        }

    # -- dispatch ------------------------------------------------------------------------
    def specs(self) -> list:
        from assay.llm import Tool

        return [Tool(name, *spec) for name, spec in TOOL_SCHEMAS.items()]

    def call(self, name: str, arguments: Any) -> ToolResult:
        if name not in self.tools:
            return ToolResult(
                False,
                f"Unknown tool {name!r}. The tools are: {', '.join(self.tools)}. Call one of them.",
            )
        if isinstance(arguments, dict) and "__invalid_json__" in arguments:
            raw = str(arguments["__invalid_json__"])[:200]
            return ToolResult(
                False,
                f"The arguments of {name} were not valid JSON ({raw!r}). "
                "Send the call again with a JSON object of arguments.",
            )
        if not isinstance(arguments, dict):
            return ToolResult(False, f"The arguments of {name} must be a JSON object.")
        params = inspect.signature(self.tools[name]).parameters
        unknown = sorted(set(arguments) - set(params))
        missing = [
            p
            for p, v in params.items()
            if v.default is inspect.Parameter.empty and p not in arguments
        ]
        if unknown or missing:
            return ToolResult(
                False,
                f"{name} takes {', '.join(params) or 'no arguments'}"
                + (f"; unknown: {', '.join(unknown)}" if unknown else "")
                + (f"; missing: {', '.join(missing)}" if missing else "")
                + ". Call it again with the right arguments.",
            )
        try:
            return ToolResult(True, _cut(self.tools[name](**arguments)))
        except (ToolError, AssayError, FileNotFoundError) as exc:
            return ToolResult(False, f"{name} failed: {exc}")
        except Exception as exc:  # a tool bug must not end the session; the log keeps it
            logger.exception("tool %s failed", name)
            return ToolResult(False, f"{name} failed unexpectedly: {type(exc).__name__}: {exc}")

    # -- the tools -----------------------------------------------------------------------
    def _need(self, *what: str) -> None:
        if "data" in what:
            self._frame()
        if "target" in what:
            self._target()
        if "fitted" in what:
            self._fitted()

    def _frame(self) -> pd.DataFrame:
        if self.state.frame is None:
            raise ToolError("No data yet: call describe_data with a file path first.")
        return self.state.frame

    def _target(self) -> str:
        if self.state.target is None:
            columns = self.state.columns[:30]
            raise ToolError(f"No target yet: call set_target with one of {columns}.")
        return self.state.target

    def _fitted(self) -> str:
        """The saved predictor's path."""
        if self.state.predictor_path is None:
            raise ToolError("No model yet: call fit first.")
        return self.state.predictor_path

    def describe_data(self, path: str) -> str:
        from assay.data import infer_schema, read_table

        frame = read_table(path)
        schema = infer_schema(frame)
        self.state.data, self.state.frame = path, frame
        self.state.predictor_path = None
        rows = [
            {"column": c.name, "type": c.type.value, "missing": c.n_missing, "distinct": c.n_unique}
            for c in schema.columns
        ]
        return f"{path}: {len(frame)} rows, {frame.shape[1]} columns.\n" + _table(
            pd.DataFrame(rows)
        )

    def set_target(self, target: str, metric: str | None = None, task: str | None = None) -> str:
        from assay._types import Task
        from assay.data import infer_task
        from assay.evaluate import get_metric

        self._need("data")
        if target not in self.state.columns:
            near = [
                c
                for c in self.state.columns
                if target.lower() in c.lower() or c.lower() in target.lower()
            ]
            hint = f" Did you mean {near}?" if near else ""
            raise ToolError(
                f"Column {target!r} does not exist.{hint} The columns are: {self.state.columns}."
            )
        task_value = Task(task) if task else infer_task(self._frame()[target].dropna())
        chosen = get_metric(metric, task_value)
        self.state.target, self.state.metric, self.state.task = (
            target,
            chosen.name,
            task_value.value,
        )
        self.state.predictor_path = None
        return f"target {target!r} ({task_value.value}), metric {chosen.name}."

    def fit(
        self,
        time_limit_s: float | None = None,
        models: list[str] | None = None,
        n_trials: int | None = None,
    ) -> str:
        from assay import AutoML
        from assay.automl import FeatureProgress

        self._need("data", "target")
        state = self.state
        train, holdout = _split(self._frame(), self._target(), state.task)
        state.holdout_path = str(state.folder / "holdout.csv")
        holdout.to_csv(state.holdout_path, index=False)

        def show(progress) -> None:
            if not isinstance(progress, FeatureProgress):
                best = "-" if progress.best_score is None else f"{progress.best_score:.4f}"
                self.progress(f"fit: {progress.n_done} trials, best {best}")

        automl = AutoML(
            metric=state.metric,
            task=state.task,
            time_limit_s=None if time_limit_s is None else float(time_limit_s),
            n_trials=n_trials,
            models=models,
        ).fit(train, target=state.target, callback=show)
        path = automl.save(state.folder / "predictor")
        state.predictor_path, state.run_id = str(path), automl.run_id_
        state.artifacts.append(str(path))
        score = _holdout_score(automl.predictor_, holdout)
        board = automl.leaderboard()[["model", "score", "fold_mean", "fold_std", "weight"]].head(6)
        return (
            f"Fitted in {automl.fit_time_s_:.0f}s on {len(train)} rows; "
            f"{len(holdout)} rows held out.\n"
            f"{state.metric} on the held-out rows: {score:.4f}; out-of-fold: "
            f"{automl.predictor_.info['ensemble_score']:.4f}.\n{_table(board)}\nPredictor: {path}"
        )

    def leaderboard(self) -> str:
        import assay

        self._need("fitted")
        predictor = assay.load(self.state.predictor_path)
        board = predictor.leaderboard().drop(columns=["config"], errors="ignore")
        sig = (predictor.info.get("significance") or {}).get("sentence", "")
        return _table(board.head(12)) + (f"\n{sig}" if sig else "")

    def explain(self, top: int = 10) -> str:
        import assay
        from assay.evaluate import permutation_importance, tree_shap

        self._need("fitted")
        predictor = assay.load(self.state.predictor_path)
        self.progress("explain: shuffling each column on the held-out rows")
        table = permutation_importance(predictor, self.state.holdout_path, n_repeats=3)
        text = "Permutation importance on the held-out rows (drop in "
        text += f"{table.attrs['metric']}, 95% CI):\n{_table(table.head(int(top)))}"
        try:
            shap = tree_shap(predictor, self.state.holdout_path, max_rows=500)
            text += "\nMean |SHAP| of the tree members:\n" + _table(
                shap.importance().head(int(top))
            )
        except AssayError as exc:
            text += f"\nSHAP: {exc}"
        return text

    def stats(self) -> str:
        from assay.evaluate import fit_glm

        self._need("data", "target")
        result = fit_glm(self._frame(), self._target())
        coef = result.coefficients
        keep = [
            c for c in ("term", "coef", "std_err", "p_value", "p_holm", "odds_ratio") if c in coef
        ]
        text = f"{result.summary['family']} GLM on {result.summary['n_rows']} rows:\n"
        text += _table(coef[keep])
        return text + "".join(f"\nwarning: {w}" for w in result.warnings)

    def compare(self) -> str:
        import assay

        self._need("fitted")
        predictor = assay.load(self.state.predictor_path)
        sig = predictor.info.get("significance")
        if not sig:
            return "Only one model finished: nothing to compare."
        return sig["sentence"] + (f" {sig['caveat']}" if sig.get("caveat") else "")

    def report(self, path: str | None = None) -> str:
        from assay.report import gather_inputs, write_report

        self._need("fitted")
        target = Path(path) if path else self.state.folder / "report.html"
        inputs = gather_inputs(self._fitted(), self.state.holdout_path)
        written = write_report(target, inputs)
        self.state.artifacts.append(str(written))
        return f"Report written to {written}"

    def predict(self, path: str, out: str | None = None) -> str:
        import assay

        self._need("fitted")
        frame = assay.load(self.state.predictor_path).predictions_frame(path)
        target = Path(out) if out else self.state.folder / "predictions.csv"
        frame.to_csv(target, index=False)
        self.state.artifacts.append(str(target))
        return f"{len(frame)} predictions written to {target}\n{_table(frame.head(5))}"

    def run_code(self, task: str) -> str:
        if self.coder is None:
            raise ToolError("run_code needs an LLM (set ASSAY_LLM_BASE_URL and ASSAY_LLM_MODEL).")
        result = self.coder.run(task, self.state)
        if not result.ok:
            raise ToolError(result.summary())
        return result.summary()


def _split(frame: pd.DataFrame, target: str, task: str | None):
    from sklearn.model_selection import train_test_split

    frame = frame[frame[target].notna()]
    stratify = frame[target] if task in ("binary", "multiclass") else None
    if stratify is not None and stratify.value_counts().min() < 2:
        stratify = None
    return train_test_split(frame, test_size=HOLDOUT_SHARE, random_state=0, stratify=stratify)


def _holdout_score(predictor, holdout: pd.DataFrame) -> float:
    from assay.evaluate import get_metric
    from assay.evaluate._explain import read_rows

    X, y = read_rows(predictor, holdout, need_target=True)
    return get_metric(predictor.metric, predictor.task)(y, predictor._raw(X))


def _schema(properties: dict, required: list[str]) -> dict:
    return {"type": "object", "properties": properties, "required": required}


_STR, _NUM = {"type": "string"}, {"type": "number"}
TOOL_SCHEMAS: dict[str, tuple[str, dict]] = {
    "describe_data": (
        "Load a data file (CSV, TSV, Parquet, ARFF, or builtin:NAME) and list its columns.",
        _schema({"path": _STR}, ["path"]),
    ),
    "set_target": (
        "Choose the column to predict, and optionally the metric (auc, logloss, accuracy, "
        "f1, balanced_accuracy, rmse, mae, r2) and task (binary, multiclass, regression).",
        _schema({"target": _STR, "metric": _STR, "task": _STR}, ["target"]),
    ),
    "fit": (
        "Train models (AutoML) within a time budget in seconds (default 60), or for a number "
        "of trials (reproducible); 20% of rows are held out.",
        _schema(
            {
                "time_limit_s": _NUM,
                "models": {"type": "array", "items": _STR},
                "n_trials": {"type": "integer"},
            },
            [],
        ),
    ),
    "leaderboard": ("Show the fitted models and their scores.", _schema({}, [])),
    "explain": (
        "Which columns drive the predictions: permutation importance and SHAP.",
        _schema({"top": {"type": "integer"}}, []),
    ),
    "stats": ("A GLM hypothesis test of the target on the columns.", _schema({}, [])),
    "compare": ("Is the best model significantly better than the runner-up?", _schema({}, [])),
    "report": ("Write an HTML report of the fitted model.", _schema({"path": _STR}, [])),
    "predict": (
        "Predict a data file with the fitted model; writes a CSV.",
        _schema({"path": _STR, "out": _STR}, ["path"]),
    ),
    "run_code": (
        "Write and run Python code in a sandbox for a step no other tool covers (a new "
        "feature, a filter, a plot). Describe the step in plain words.",
        _schema({"task": _STR}, ["task"]),
    ),
}


def tool_json(name: str, args: dict) -> str:
    """A call as a person reads it: fit(time_limit_s=600, models=["lightgbm"])."""
    if not isinstance(args, dict):
        return f"{name}({args!r})"
    inner = ", ".join(f"{k}={json.dumps(v, default=str)}" for k, v in args.items())
    return f"{name}({inner})"
