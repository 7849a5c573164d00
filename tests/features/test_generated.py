"""Generated candidate features and their staged discovery."""

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pytest

from assay import FeatureType, Task
from assay.evaluate import make_folds
from assay.features import FeatureSpec, GeneratedFeatures, discover, generate

TYPES = {
    "a": FeatureType.NUMERIC,
    "b": FeatureType.NUMERIC,
    "g": FeatureType.CATEGORICAL,
    "code": FeatureType.NUMERIC,
}


def table(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "a": rng.normal(size=n),
            "b": rng.uniform(0.5, 2.0, size=n),
            "g": rng.choice(["x", "y", "z", None], size=n),
            "code": rng.integers(0, 5, size=n),
        }
    )


def every_operator() -> list[FeatureSpec]:
    return [
        FeatureSpec("ratio", ("a", "b")),
        FeatureSpec("sub", ("a", "b")),
        FeatureSpec("mean_by", ("a", "g")),
        FeatureSpec("std_by", ("b", "code")),
        FeatureSpec("dev_by", ("a", "g")),
        FeatureSpec("rank_by", ("a", "g")),
        FeatureSpec("count", ("g",)),
        FeatureSpec("target_mean", ("g",)),
        FeatureSpec("bins", ("a",)),
        FeatureSpec("cross", ("g", "code")),
    ]


def test_specs_read_as_words_and_travel_as_lists():
    spec = FeatureSpec("mean_by", ("income", "job"))
    assert spec.text == "mean of income by job" and spec.name == "income__mean_by__job"
    assert FeatureSpec.of(spec.to_list()) == spec
    assert FeatureSpec("ratio", ("a", "b")).text == "a / b"
    with pytest.raises(ValueError, match="operators are"):
        FeatureSpec("mean_by", ("income",))
    with pytest.raises(ValueError, match="operators are"):
        FeatureSpec("log", ("income",))


def test_generate_lists_every_operator_and_respects_the_cap():
    X = table(200)
    specs = generate(X, TYPES, Task.REGRESSION)
    ops = {s.op for s in specs}
    assert {"ratio", "add", "mean_by", "rank_by", "count", "target_mean", "cross"} <= ops
    assert FeatureSpec("cross", ("g", "code")) in specs  # few-valued numerics make groups
    assert len(set(specs)) == len(specs)
    assert len(generate(X, TYPES, Task.REGRESSION, max_candidates=5)) == 5


def test_every_operator_learns_from_the_training_rows_only():
    train, valid = table(300, seed=1), table(40, seed=2)
    y = train.a.to_numpy() * 2 + np.random.default_rng(3).normal(size=300)
    folds = make_folds(y, Task.REGRESSION, 5, 0)
    features = GeneratedFeatures(every_operator(), Task.REGRESSION)
    features.fit_transform(train, y, folds)
    state = json.dumps(features.state_)  # plain data a predictor can save
    batch = features.transform(valid)
    # a validation row's features depend on that row alone, never on the other rows ...
    one_by_one = pd.concat([features.transform(valid.iloc[[i]]) for i in range(len(valid))])
    pd.testing.assert_frame_equal(batch, one_by_one)
    # ... and transforming rows teaches nothing
    features.transform(table(500, seed=9))
    assert json.dumps(features.state_) == state
    assert batch.shape[1] == len(every_operator())
    assert batch["g__count"].between(0, 1).all()


def test_target_means_of_training_rows_never_saw_their_own_label():
    X = table(300)
    y = (np.random.default_rng(0).random(300) < 0.5).astype(int)
    folds = make_folds(y, Task.BINARY, 5, 0)
    spec = FeatureSpec("target_mean", ("g",))
    before = GeneratedFeatures([spec], Task.BINARY).fit_transform(X, y, folds)
    held = folds[0][1]
    flipped = y.copy()
    flipped[held] = 1 - flipped[held]
    after = GeneratedFeatures([spec], Task.BINARY).fit_transform(X, flipped, folds)
    np.testing.assert_allclose(before.iloc[held], after.iloc[held])
    assert not np.allclose(before.iloc[folds[1][1]], after.iloc[folds[1][1]])


@pytest.mark.parametrize("task", [Task.BINARY, Task.MULTICLASS, Task.REGRESSION])
def test_each_folds_target_means_leave_out_that_folds_targets(task):
    """Frame k of fold_columns: the rows fold k trains on never carry fold k's targets,
    though the plain out-of-fold means do; fold k's own rows keep the plain values."""
    X = table(400)
    rng = np.random.default_rng(1)
    y = (
        rng.normal(size=400)
        if task is Task.REGRESSION
        else rng.integers(0, 3 if task is Task.MULTICLASS else 2, 400)
    )
    folds = make_folds(y, task, 4, 0)
    specs = [FeatureSpec("target_mean", ("g",)), FeatureSpec("target_mean", ("code",)),
             FeatureSpec("ratio", ("a", "b"))]  # fmt: skip
    features = GeneratedFeatures(specs, task)
    plain = features.fit_transform(X, y, folds)
    frames = features.fold_columns(X, y, folds)
    assert len(frames) == 4
    assert "a__ratio__b" not in frames[0].columns  # only columns built from targets
    for k, (train_k, held_k) in enumerate(folds):
        changed = y.copy()
        changed[held_k] = rng.permutation(y)[held_k] if task.is_classification else y[held_k] + 5
        again = GeneratedFeatures(specs, task)
        plain_again = again.fit_transform(X, changed, folds)
        columns = list(frames[k].columns)
        np.testing.assert_allclose(
            again.fold_columns(X, changed, folds)[k].iloc[train_k], frames[k].iloc[train_k]
        )
        assert not np.allclose(plain_again[columns].iloc[train_k], plain[columns].iloc[train_k])
        np.testing.assert_allclose(frames[k].iloc[held_k], plain[columns].iloc[held_k])
    assert GeneratedFeatures(specs[2:], task).fold_columns(X, y, folds) is None


def test_under_a_time_split_each_folds_target_means_are_the_plain_ones():
    """Time folds train on earlier rows only: their out-of-fold means already leave every
    later fold out, so nothing changes."""
    from assay.evaluate._splits import time_folds

    X = table(300)
    y = np.random.default_rng(2).normal(size=300)
    folds = time_folds(np.arange(300), 4)
    features = GeneratedFeatures([FeatureSpec("target_mean", ("g",))], Task.REGRESSION)
    plain = features.fit_transform(X, y, folds)
    for frame in features.fold_columns(X, y, folds):
        pd.testing.assert_frame_equal(frame, plain)


def planted(n: int = 1500, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray, dict]:
    """The target is a ratio of two columns plus a group effect; `row_id` names each row
    once (target means of it would be the label itself if they were not out of fold)."""
    rng = np.random.default_rng(seed)
    X = table(n, seed)
    X["noise"] = rng.normal(size=n)
    X["row_id"] = [f"r{i}" for i in range(n)]
    effect = X.g.map({"x": 1.0, "y": -1.0, "z": 0.5}).fillna(0.0).to_numpy()
    y = 3 * X.a.to_numpy() / X.b.to_numpy() + effect + rng.normal(scale=0.1, size=n)
    types = {**TYPES, "noise": FeatureType.NUMERIC, "row_id": FeatureType.CATEGORICAL}
    return X, y, types


def test_discovery_finds_the_planted_ratio_and_gains_nothing_from_a_leak():
    X, y, types = planted()
    folds = make_folds(y, Task.REGRESSION, 5, 0)
    found = discover(X, y, types, Task.REGRESSION, folds, max_features=5)
    texts = [s.text for s in found.specs]
    assert "a / b" in texts[:2]
    assert "target mean of row_id" not in texts and "count of row_id" not in texts
    assert found.n_candidates > 50 and all(g > 0 for g in found.gains)
    assert found.stages[-1]["rows"] == len(X)  # the last stage saw every row


def test_discovery_scores_a_target_mean_on_a_half_whose_labels_it_never_saw():
    """In a boosting stage a candidate trains on one half and is scored on the other:
    target means of either half must not carry the scored half's labels (out-of-fold means
    over all rows would: on coin-flip labels their gain was 4 to 7 times what it is now)."""
    from assay.features._discover import _target_halves

    X = table(400)
    y = np.random.default_rng(4).integers(0, 2, 400)
    folds = make_folds(y, Task.BINARY, 5, 0)
    order = np.random.default_rng(5).permutation(400)
    split = (np.sort(order[:200]), np.sort(order[200:]))
    spec = FeatureSpec("target_mean", ("g",))
    before = _target_halves(spec, X, y, folds, split, Task.BINARY)
    for way, (_, scored) in enumerate((split, split[::-1])):
        flipped = y.copy()
        flipped[scored] = 1 - flipped[scored]
        after = _target_halves(spec, X, flipped, folds, split, Task.BINARY)[way]
        pd.testing.assert_frame_equal(after[0], before[way][0])
        pd.testing.assert_frame_equal(after[1], before[way][1])
        assert len(after[0]) == len(after[1]) == 200


DISCOVER = """
import sys, numpy as np
sys.path.insert(0, {tests!r})
from test_generated import planted
from assay import Task
from assay.evaluate import make_folds
from assay.features import discover
X, y, types = planted(3000)
folds = make_folds(y, Task.REGRESSION, 5, 0)
found = discover(X, y, types, Task.REGRESSION, folds, checkpoint={checkpoint}, max_features=5)
print("|".join(s.name for s in found.specs))
"""


def test_a_killed_discovery_resumes_from_its_checkpoint(tmp_path):
    path = tmp_path / "discovery.json"
    code = DISCOVER.format(tests=os.path.dirname(__file__), checkpoint=repr(str(path)))
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if path.is_file() and sum(map(len, json.loads(path.read_text())["scores"].values())):
            break
        time.sleep(0.05)
    assert proc.poll() is None, "discovery ended before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    scored = sum(map(len, json.loads(path.read_text())["scores"].values()))
    assert scored > 0
    resumed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    fresh = subprocess.run(
        [sys.executable, "-c", DISCOVER.format(tests=os.path.dirname(__file__), checkpoint="None")],
        capture_output=True,
        text=True,
    )
    assert resumed.stdout == fresh.stdout and resumed.stdout.strip()
