"""Helpers of the research tests: tiny data, a fast candidate pipeline (numpy and
pandas only, about a second in the sandbox), a scripted proposer, and git helpers."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pandas as pd

from assay.research import Change, ProposalContext, read_config, write_config

# A candidate that trains in well under a second: nearest centroids on CONFIG["columns"],
# with seed-dependent jitter so the baseline's seeds disagree a little (a noise floor > 0).
FAST_PIPELINE = '''"""A fast candidate for tests: nearest class centroids on a few columns."""

import json
from pathlib import Path

import numpy as np
import pandas as pd

# --- assay:config ---
CONFIG = {"columns": ["d"], "jitter": 0.3, "features": [], "automl": {}, "single_model": None}
# --- end config ---

RUN = json.loads(Path("inputs/run.json").read_text())
train = pd.read_csv("inputs/train.csv", dtype={RUN["target"]: str})
valid = pd.read_csv("inputs/valid.csv")
y = train.pop(RUN["target"]).to_numpy()
rows = valid.pop("__row__")
X = train[CONFIG["columns"]].fillna(0).to_numpy(float)
V = valid[CONFIG["columns"]].fillna(0).to_numpy(float)
mu, sd = X.mean(0), X.std(0) + 1e-9
X, V = (X - mu) / sd, (V - mu) / sd
rng = np.random.default_rng(RUN["seed"])
V = V + rng.normal(scale=CONFIG["jitter"], size=V.shape)
S = np.column_stack([-((V - X[y == c].mean(0)) ** 2).sum(1) for c in RUN["classes"]])
P = np.exp(S - S.max(1, keepdims=True))
P = P / P.sum(1, keepdims=True)
out = pd.DataFrame({"__row__": rows})
for i, c in enumerate(RUN["classes"]):
    out[f"proba_{c}"] = P[:, i]
out.to_csv("outputs/predictions.csv", index=False)
'''


def with_config(text: str, **changes) -> str:
    config = read_config(text)
    config.update(changes)
    return write_config(text, config)


def toy_frame(n: int = 300, seed: int = 0, random_labels: bool = False) -> pd.DataFrame:
    """Binary target driven by a and b; c and d are noise; a categorical with gaps."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(rng.normal(size=(n, 4)), columns=["a", "b", "c", "d"])
    frame["a"] = np.exp(frame["a"])  # skewed, for log1p_skewed
    frame["cat"] = rng.choice(["x", "y", "z"], size=n)
    frame.loc[rng.random(n) < 0.1, "c"] = np.nan
    signal = np.log(frame["a"]) + 0.7 * frame["b"] + 0.5 * rng.normal(size=n)
    labels = rng.random(n) < 0.5 if random_labels else signal > 0
    frame["y"] = np.where(labels, "yes", "no")
    return frame


def git(ws: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=ws, capture_output=True, text=True, check=True)
    return done.stdout.strip()


def git_ok(ws: Path, *args: str) -> bool:
    return subprocess.run(["git", *args], cwd=ws, capture_output=True).returncode == 0


def commit_pipeline(ws: Path, text: str, message: str = "fast pipeline for tests") -> str:
    (ws / "pipeline.py").write_text(text)
    git(ws, "add", "pipeline.py")
    git(
        ws,
        "-c",
        "user.name=t",
        "-c",
        "user.email=t@t",
        "commit",
        "-q",
        "-m",
        message,
    )
    return git(ws, "rev-parse", "HEAD")


class ScriptedProposer:
    """Replays a list of answers; each is a Change, None, or a callable of the context.
    Every context it was given is kept for the test to inspect."""

    def __init__(self, answers):
        self.answers = list(answers)
        self.contexts: list[ProposalContext] = []

    def propose(self, ctx: ProposalContext) -> Change | None:
        self.contexts.append(ctx)
        if not self.answers:
            return None
        answer = self.answers.pop(0)
        return answer(ctx) if callable(answer) else answer
