"""Saved predictors that cannot be forged into running code, or edited without notice.

The forger here does what a real one would: change files, then list every file with its
SHA-256 again and recompute the manifest's own hash (plain SHA-256 of documented content,
no secret). That passes every hash check, so what must stop it is that nothing able to run
code (a pickle, foreign skops types, full torch unpickling, embedded source) loads without
trust. Careless edits, which leave the hashes alone, must be caught by the hashes."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import pickle
import shutil
import subprocess
import sys
import warnings
from importlib.util import find_spec
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import assay
from assay import AutoML
from assay.errors import ArtifactError, VersionMismatchWarning

SECTION = "artifacts"
FOLD = "members/00_linear/fold_0"
SILU = "def activation(x):\n    return x * torch.sigmoid(x)\n"


# -- fitting once per module ----------------------------------------------------------------
@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    n = 120
    data = pd.DataFrame(
        {
            "a": rng.normal(size=n),
            "b": rng.normal(size=n),
            "colour": rng.choice(["red", "green", "blue"], n),
        }
    )
    data["label"] = np.where(data.a + (data.colour == "red") > 0.3, "yes", "no")
    return data


def _fit_and_save(frame, folder: Path, models: list[str], portfolio=None) -> Path:
    options = {"portfolio": str(portfolio), "stack": "off"} if portfolio else {}
    automl = AutoML(models=models, n_trials=len(models), n_folds=2, store=False, **options)
    return automl.fit(frame, target="label").save(folder)


@pytest.fixture(scope="module")
def saved(frame, tmp_path_factory) -> Path:
    return _fit_and_save(frame, tmp_path_factory.mktemp("linear") / "predictor", ["linear"])


@pytest.fixture(scope="module")
def tiny_portfolio(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("portfolio") / "tiny.json"
    entries = [
        {"model": "mlp", "config": {"hidden_size": 8, "n_layers": 1, "n_estimators": 3}},
        {"model": "lightgbm", "config": {"n_estimators": 5}},
        {"model": "xgboost", "config": {"n_estimators": 5}},
        {"model": "catboost", "config": {"n_estimators": 5}},
    ]
    path.write_text(json.dumps({"about": "tiny", "classification": entries, "regression": []}))
    return path


@pytest.fixture(scope="module")
def mlp_saved(frame, tiny_portfolio, tmp_path_factory) -> Path:
    """The MLP of a built-in activation: NumPy arrays (model.npz)."""
    folder = tmp_path_factory.mktemp("mlp") / "predictor"
    return _fit_and_save(frame, folder, ["mlp"], tiny_portfolio)


@pytest.fixture(scope="module")
def torch_mlp_saved(frame, tmp_path_factory) -> Path:
    """The MLP of an activation given as code (as a discovered one is): its torch network
    (model.pt) and the code in params.json."""
    if find_spec("torch") is None:  # the `nn` extra; make setup installs it
        if os.environ.get("CI"):
            pytest.fail("torch is not installed: under CI the MLP artifact cases must run")
        pytest.skip("an MLP of activation code needs the `nn` extra (torch==2.13.0)")
    from assay.models import register_activation_resolver

    register_activation_resolver("artifact-test:", lambda name: SILU)
    config = {"hidden_size": 8, "n_layers": 1, "n_estimators": 3}
    config["activation"] = "artifact-test:silu"
    path = tmp_path_factory.mktemp("portfolio") / "torch_mlp.json"
    path.write_text(json.dumps({"classification": [{"model": "mlp", "config": config}]}))
    folder = tmp_path_factory.mktemp("torch_mlp") / "predictor"
    return _fit_and_save(frame, folder, ["mlp"], path)


@pytest.fixture(scope="module")
def boosters_saved(frame, tiny_portfolio, tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("boosters") / "predictor"
    return _fit_and_save(frame, folder, ["lightgbm", "xgboost", "catboost"], tiny_portfolio)


@pytest.fixture
def artifact(saved, tmp_path) -> Path:
    return Path(shutil.copytree(saved, tmp_path / "predictor"))


@pytest.fixture
def mlp_artifact(torch_mlp_saved, tmp_path) -> Path:
    return Path(shutil.copytree(torch_mlp_saved, tmp_path / "predictor"))


# -- what a forger and a careless editor do ---------------------------------------------------
def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _manifest(path: Path) -> dict:
    return json.loads((path / "manifest.json").read_text())


def _edit_manifest(path: Path, edit) -> None:
    """A careless edit: change the manifest, leave its hashes as they were."""
    manifest = _manifest(path)
    edit(manifest)
    (path / "manifest.json").write_text(json.dumps(manifest, indent=1))


def forge(path: Path, edit=None) -> None:
    """A forger's edit: list every file again with its SHA-256, apply `edit` to the
    manifest, then recompute `manifest_sha256` (sorted keys, compact separators)."""
    manifest = _manifest(path)
    manifest["files"] = {
        p.relative_to(path).as_posix(): _sha(p)
        for p in sorted(path.rglob("*"))
        if p.is_file() and p.relative_to(path).as_posix() != "manifest.json"
    }
    if edit is not None:
        edit(manifest)
    content = {k: v for k, v in manifest.items() if k != "manifest_sha256"}
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"))
    manifest["manifest_sha256"] = hashlib.sha256(canonical.encode()).hexdigest()
    (path / "manifest.json").write_text(json.dumps(manifest, indent=1))


class _Marker:
    """Unpickling this calls open(marker, "w"): the file appears iff the pickle ran."""

    def __init__(self, marker: Path):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def live_pickle(marker: Path, protocol: int = 5) -> bytes:
    """A pickle that creates `marker` when loaded, checked to really do so on a probe."""
    probe = marker.with_name(marker.name + ".probe")
    pickle.loads(pickle.dumps(_Marker(probe), protocol=protocol)).close()
    assert probe.exists(), "the payload must be live, or its absence proves nothing"
    probe.unlink()
    return pickle.dumps(_Marker(marker), protocol=protocol)


def attempt(load) -> tuple[str, str, object]:
    """("loaded", "", result) or ("refused", message, None) for an ArtifactError."""
    try:
        return "loaded", "", load()
    except ArtifactError as exc:
        return "refused", str(exc), None


def either(holds: bool, yes: str, no: str) -> str:
    """The outcome in the expected words when it holds, in other words when it does not."""
    return yes if holds else no


def assay_warnings(caplog) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.levelno >= logging.WARNING and r.name.startswith("assay")
    ]


# -- genuine artifacts: no trust needed, no warning ---------------------------------------------
FAMILIES = {"saved": "linear", "mlp_saved": "MLP", "boosters_saved": "LightGBM/XGBoost/CatBoost"}


@pytest.mark.parametrize("fixture", list(FAMILIES))
def test_a_genuine_artifact_loads_without_trust_or_warnings(
    fixture, frame, request, caplog, reliability
):
    path = request.getfixturevalue(fixture)
    with warnings.catch_warnings(record=True) as seen, caplog.at_level(logging.WARNING):
        warnings.simplefilter("always")
        outcome, detail, predictor = attempt(lambda: assay.load(path))
    noted = [str(w.message) for w in seen if issubclass(w.category, VersionMismatchWarning)]
    noted += assay_warnings(caplog)
    quiet = outcome == "loaded" and not noted
    reliability.record(
        f"an untouched {FAMILIES[fixture]} predictor",
        "loads without trust, no warning",
        either(quiet, "loads without trust, no warning", f"{outcome}; {len(noted)} warning(s)"),
        detail or "; ".join(noted) or "no pickle, foreign type or embedded code found",
    )
    assert quiet, detail or noted
    assert predictor.predict_proba(frame).shape == (len(frame), 2)


# -- careless edits and damage: caught by the hashes and the folder check -----------------------
def _change_model_file(path: Path) -> None:
    file = path / FOLD / "model" / "model.arrays"
    file.write_bytes(file.read_bytes() + b" ")


def _swap_classes(m: dict) -> None:
    m["classes"] = m["classes"][::-1]  # every prediction inverted


def _retype_column(m: dict) -> None:
    column = next(c for c in m["schema"]["columns"] if c["name"] == "colour")
    column["type"] = "text"


def _outside_file(path: Path) -> Path:
    outside = path.parent / "outside.csv"
    outside.write_text("a,b\n1,2\n")
    return outside


def _list_outside(path: Path, absolute: bool) -> None:
    outside = _outside_file(path)
    name = str(outside) if absolute else "../outside.csv"
    forge(path, lambda m: m["files"].__setitem__(name, _sha(outside)))


def _fold_outside(path: Path) -> None:
    """A fold pointing at a complete copy next door: without the check it would load."""
    shutil.copytree(path, path.parent / "other")
    forge(path, lambda m: m["members"][0]["folds"].__setitem__(0, f"../other/{FOLD}"))


def _fold_symlink(path: Path) -> None:
    """fold_1 replaced by a link to fold_0, inside the folder."""
    fold = path / FOLD.replace("fold_0", "fold_1")
    shutil.rmtree(fold)
    fold.symlink_to(path / FOLD, target_is_directory=True)
    forge(path)


def _symlink_out(path: Path) -> None:
    """leaderboard.csv replaced by a link to an identical file outside: same SHA-256."""
    outside = path.parent / "leaderboard.csv"
    shutil.copy(path / "leaderboard.csv", outside)
    (path / "leaderboard.csv").unlink()
    (path / "leaderboard.csv").symlink_to(outside)
    forge(path)


TAMPERING = {
    "a model file changed after saving": (_change_model_file, "does not match its SHA-256"),
    "a member's weight edited in the manifest": (
        lambda p: _edit_manifest(p, lambda m: m["members"][0].__setitem__("weight", 0.5)),
        "does not match its manifest_sha256",
    ),
    "the classes swapped in the manifest": (
        lambda p: _edit_manifest(p, _swap_classes),
        "does not match its manifest_sha256",
    ),
    "a column's type edited in the manifest's schema": (
        lambda p: _edit_manifest(p, _retype_column),
        "does not match its manifest_sha256",
    ),
    "an unlisted file added": (
        lambda p: (p / FOLD / "model" / "notes.txt").write_text("hello"),
        "notes.txt is not listed in the manifest",
    ),
    "a listed file deleted": (
        lambda p: (p / "leaderboard.csv").unlink(),
        "leaderboard.csv listed in the manifest is missing",
    ),
    "a file entry '../outside.csv', hashes recomputed (forged)": (
        lambda p: _list_outside(p, absolute=False),
        "'../outside.csv' points outside the predictor folder",
    ),
    "an absolute path in the file list, hashes recomputed (forged)": (
        lambda p: _list_outside(p, absolute=True),
        "outside.csv' points outside the predictor folder",
    ),
    "a member's fold '../other/...', hashes recomputed (forged)": (
        _fold_outside,
        "fold '../other/members/00_linear/fold_0' points outside the predictor folder",
    ),
    "a listed file replaced by a symlink out of the folder, hashes recomputed (forged)": (
        _symlink_out,
        "'leaderboard.csv' points outside the predictor folder",
    ),
    "a fold folder replaced by a symlink to another fold, hashes recomputed (forged)": (
        _fold_symlink,
        "fold_1 is a symbolic link",
    ),
    "artifact format 99, hashes recomputed (forged)": (
        lambda p: forge(p, lambda m: m.__setitem__("format_version", 99)),
        "has artifact format 99; this assay reads format",
    ),
}


@pytest.mark.parametrize("case", list(TAMPERING))
def test_a_tampered_artifact_is_refused(case, artifact, reliability):
    tamper, message = TAMPERING[case]
    tamper(artifact)
    outcome, detail, _ = attempt(lambda: assay.load(artifact, trust=True))
    expected = "refused, even with trust=True"
    reliability.record(case, expected, either(outcome == "refused", expected, outcome), detail)
    assert outcome == "refused"
    assert message in detail
    assert str(artifact) in detail  # names the folder or the file
    assert any(hint in detail for hint in ("re-fit", "restore", "Re-fit")), detail


# -- pickles: refused without trust, never unpickled ------------------------------------------
def _pickle_named_pkl(path: Path, payload: bytes) -> str:
    (path / FOLD / "model" / "model.pkl").write_bytes(payload)
    return f"{FOLD}/model/model.pkl"


def _pickle_as_skops(path: Path, payload: bytes) -> str:
    (path / FOLD / "model" / "model.skops").write_bytes(payload)
    return f"{FOLD}/model/model.skops"


def _pickle_as_arrays(path: Path, payload: bytes) -> str:
    (path / FOLD / "model" / "model.arrays").write_bytes(payload)
    return f"{FOLD}/model/model.arrays"


def _pickle_as_csv(path: Path, payload: bytes) -> str:
    (path / "leaderboard.csv").write_bytes(payload)
    return "leaderboard.csv"


PICKLES = {
    "a pickle in the artifact, hashes recomputed (forged)": (_pickle_named_pkl, 5),
    "a pickle disguised as model.skops, hashes recomputed (forged)": (_pickle_as_skops, 4),
    "a pickle disguised as model.arrays, hashes recomputed (forged)": (_pickle_as_arrays, 2),
    "a protocol-0 pickle disguised as leaderboard.csv, hashes recomputed (forged)": (
        _pickle_as_csv,
        0,
    ),
}


@pytest.mark.parametrize("case", list(PICKLES))
def test_a_forged_pickle_is_refused_without_trust(case, artifact, tmp_path, reliability):
    plant, protocol = PICKLES[case]
    marker = tmp_path / "pickle-ran"
    name = plant(artifact, live_pickle(marker, protocol))
    forge(artifact)
    outcome, detail, _ = attempt(lambda: assay.load(artifact))
    expected = "refused without trust; the pickle does not run"
    held = outcome == "refused" and not marker.exists()
    reliability.record(
        case, expected, either(held, expected, f"{outcome}; ran: {marker.exists()}"), detail
    )
    assert outcome == "refused"
    assert f"{artifact / name} is " in detail and "pickle" in detail
    assert "pass trust=True / --trust only if you trust its source" in detail
    assert not marker.exists(), "the pickle ran"


def test_trust_admits_a_pickle_but_assay_still_never_unpickles_it(
    artifact, frame, tmp_path, caplog, reliability
):
    marker = tmp_path / "pickle-ran"
    name = _pickle_named_pkl(artifact, live_pickle(marker))
    forge(artifact)
    with caplog.at_level(logging.WARNING):
        outcome, detail, predictor = attempt(lambda: assay.load(artifact, trust=True))
    logged = assay_warnings(caplog)
    expected = "loads; one warning names the pickle; the pickle does not run"
    held = outcome == "loaded" and len(logged) == 1 and name in logged[0]
    held = held and not marker.exists()
    reliability.record(
        "a pickle in the artifact, loaded with trust=True",
        expected,
        either(held, expected, f"{outcome}; {len(logged)} warning(s); ran: {marker.exists()}"),
        logged[0] if logged else detail,
    )
    assert outcome == "loaded" and predictor.predict(frame).shape == (len(frame),)
    assert len(logged) == 1 and name in logged[0] and "trust=True" in logged[0]
    assert not marker.exists()


# -- skops files asking for types beyond scikit-learn, numpy and scipy ------------------------
def _foreign_skops(path: Path) -> None:
    """The linear model as a skops file (as saved before models were saved as arrays)
    holding a reference an attacker would smuggle in."""
    import skops.io as sio

    from assay.models import load_model

    folder = path / FOLD / "model"
    estimator = load_model(folder).model_
    estimator.payload = os.system
    (folder / "model.arrays").unlink()
    sio.dump(estimator, folder / "model.skops")
    forge(path)


def test_foreign_skops_types_load_only_with_trust(artifact, saved, frame, caplog, reliability):
    _foreign_skops(artifact)
    case = "a skops file asking for os.system, hashes recomputed (forged)"
    outcome, detail, _ = attempt(lambda: assay.load(artifact))
    reliability.record(case, "refused without trust", f"{outcome} without trust", detail)
    assert outcome == "refused"
    assert f"{artifact / FOLD}/model/model.skops asks to load untrusted types" in detail
    assert "posix.system" in detail and "--trust" in detail

    with caplog.at_level(logging.WARNING):
        outcome, detail, predictor = attempt(lambda: assay.load(artifact, trust=True))
    logged = assay_warnings(caplog)
    expected = assay.load(saved).predict_proba(frame)
    same = outcome == "loaded" and predictor.predict_proba(frame).equals(expected)
    wanted = "loads and predicts as before; one warning names the file"
    held = same and len(logged) == 1 and f"{FOLD}/model/model.skops asks" in logged[0]
    reliability.record(
        f"{case}, loaded with trust=True",
        wanted,
        either(held, wanted, f"{outcome}; same predictions: {same}; {len(logged)} warning(s)"),
        logged[0] if logged else detail,
    )
    assert held, (outcome, detail, logged)


# -- the MLP: embedded activation code and torch files needing full unpickling ----------------
def _mlp_folds(path: Path) -> list[Path]:
    return sorted(path.glob("members/*_mlp/fold_*"))


def _embed_code(path: Path, code: str) -> None:
    """What a predictor fitted with activation="discovered:<id>" carries in params.json."""
    for fold in _mlp_folds(path):
        params = fold / "model" / "params.json"
        meta = json.loads(params.read_text())
        meta["params"]["activation"] = "discovered:0123456789ab"
        meta["fitted"]["activation_code_"] = code
        params.write_text(json.dumps(meta))
    forge(path)


def test_embedded_activation_code_runs_only_with_trust(
    mlp_artifact, torch_mlp_saved, frame, tmp_path, caplog, reliability
):
    marker = tmp_path / "code-ran.npy"
    # module-level code runs as soon as the component is compiled, at load
    _embed_code(mlp_artifact, f"np.save({str(marker)!r}, np.zeros(1))\n\n{SILU}")
    case = "an MLP's embedded activation code, hashes recomputed (forged)"
    outcome, detail, _ = attempt(lambda: assay.load(mlp_artifact))
    expected = "refused without trust; the code does not run"
    held = outcome == "refused" and not marker.exists()
    reliability.record(
        case, expected, either(held, expected, f"{outcome}; ran: {marker.exists()}"), detail
    )
    assert outcome == "refused" and not marker.exists()
    assert "params.json embeds the Python source of activation" in detail
    assert "--trust" in detail

    with caplog.at_level(logging.WARNING):
        outcome, detail, predictor = attempt(lambda: assay.load(mlp_artifact, trust=True))
    logged = assay_warnings(caplog)
    expected = "loads; the code runs; one warning names both folds' params.json"
    held = outcome == "loaded" and marker.exists() and len(logged) == 1
    held = held and logged[0].count("params.json embeds the Python source") == 2
    reliability.record(
        f"{case}, loaded with trust=True",
        expected,
        either(held, expected, f"{outcome}; ran: {marker.exists()}; {len(logged)} warning(s)"),
        logged[0] if logged else detail,
    )
    assert held, (outcome, detail, logged)
    # x * sigmoid(x) is SiLU, the activation the MLP was fitted with
    original = assay.load(torch_mlp_saved, trust=True).predict_proba(frame)
    np.testing.assert_allclose(predictor.predict_proba(frame), original, rtol=1e-5)


def test_a_torch_file_needing_full_unpickling_runs_only_with_trust(
    mlp_saved, tmp_path, reliability
):
    """The MLP's arrays swapped for a model.pt, the torch network's file (which load reads
    where model.npz is not), holding a live pickle."""
    torch = pytest.importorskip("torch", reason="writing a torch file needs the `nn` extra")

    mlp_artifact = Path(shutil.copytree(mlp_saved, tmp_path / "predictor"))
    marker = tmp_path / "torch-pickle-ran"
    live_pickle(marker)  # the payload is live when unpickled
    model_file = _mlp_folds(mlp_artifact)[0] / "model" / "model.pt"
    model_file.with_name("model.npz").unlink()
    torch.save(_Marker(marker), model_file)
    forge(mlp_artifact)
    case = "model.pt needing full unpickling, hashes recomputed (forged)"
    outcome, detail, _ = attempt(lambda: assay.load(mlp_artifact))
    expected = "refused without trust; nothing is unpickled"
    held = outcome == "refused" and not marker.exists()
    reliability.record(
        case, expected, either(held, expected, f"{outcome}; ran: {marker.exists()}"), detail
    )
    assert outcome == "refused" and not marker.exists()
    assert f"{model_file} needs full unpickling" in detail and "--trust" in detail

    outcome, detail, _ = attempt(lambda: assay.load(mlp_artifact, trust=True))
    expected = "with trust=True the pickle runs, then refused as not an MLP"
    held = marker.exists() and outcome == "refused" and "does not hold an assay MLP" in detail
    reliability.record(
        f"{case}, loaded with trust=True",
        expected,
        either(held, expected, f"{outcome}; ran: {marker.exists()}"),
        detail,
    )
    assert marker.exists()  # trust=True really does unpickle: only for trusted sources
    assert outcome == "refused" and "does not hold an assay MLP" in detail


# -- library versions ---------------------------------------------------------------------------
def test_a_version_mismatch_is_one_warning(artifact, frame, caplog, reliability):
    import numpy

    def older(m: dict) -> None:
        m["versions"].update(numpy="1.0.0", python="2.7.18", torch="0.0.1", unknownlib="9")
        m["versions"].pop("catboost", None)

    forge(artifact, older)
    with pytest.warns(VersionMismatchWarning) as seen, caplog.at_level(logging.WARNING):
        outcome, detail, predictor = attempt(lambda: assay.load(artifact))
    logged = assay_warnings(caplog)
    seen = [w for w in seen if issubclass(w.category, VersionMismatchWarning)]
    python = ".".join(map(str, sys.version_info[:2]))
    named = len(logged) == 1 and all(
        part in logged[0]
        for part in (
            f"numpy 1.0.0 (installed {numpy.__version__})",
            f"python 2.7 (installed {python})",
        )
    )
    expected = "loads; one warning names numpy and python, saved and installed"
    reliability.record(
        "saved with numpy 1.0.0 and Python 2.7 (and an unknown library, catboost unrecorded)",
        expected,
        either(outcome == "loaded" and named, expected, f"{outcome}; {len(logged)} warning(s)"),
        logged[0] if logged else detail,
    )
    assert outcome == "loaded" and predictor.predict(frame).shape == (len(frame),)
    assert named and len(seen) == 1 and str(seen[0].message) == logged[0]
    assert "predictions may differ" in logged[0] and "install those versions" in logged[0]
    assert "torch" not in logged[0]  # no MLP member: torch is not compared
    assert "unknownlib" not in logged[0] and "catboost" not in logged[0]


def test_torch_is_compared_where_a_torch_network_is_saved(mlp_artifact, mlp_saved, tmp_path):
    forge(mlp_artifact, lambda m: m["versions"].update(torch="0.0.1"))
    with pytest.warns(VersionMismatchWarning, match=r"torch 0\.0\.1 \(installed "):
        assay.load(mlp_artifact, trust=True)
    arrays = Path(shutil.copytree(mlp_saved, tmp_path / "arrays"))  # the NumPy MLP
    forge(arrays, lambda m: m["versions"].update(torch="0.0.1"))
    with warnings.catch_warnings():
        warnings.simplefilter("error", VersionMismatchWarning)
        assay.load(arrays)


# -- the command line ---------------------------------------------------------------------------
def test_cli_predict_refuses_without_trust_and_loads_with_it(
    artifact, frame, tmp_path, reliability
):
    _foreign_skops(artifact)
    data = tmp_path / "rows.csv"
    frame.drop(columns="label").to_csv(data, index=False)

    def run(*flags):
        command = [sys.executable, "-m", "assay", "predict", str(artifact), str(data), *flags]
        return subprocess.run(command, capture_output=True, text=True, timeout=300)

    refused, trusted = run(), run("--trust")
    expected = "exit 3 naming --trust; exit 0 with --trust, warning on stderr"
    held = refused.returncode == 3 and "--trust" in refused.stderr
    held = held and trusted.returncode == 0 and "trust=True" in trusted.stderr
    reliability.record(
        "assay predict on a forged skops file, without and with --trust",
        expected,
        either(held, expected, f"exit {refused.returncode}; exit {trusted.returncode}"),
        refused.stderr.strip(),
    )
    assert refused.returncode == 3 and "--trust" in refused.stderr
    assert "model.skops" in refused.stderr and refused.stdout == ""
    assert trusted.returncode == 0, trusted.stderr
    assert trusted.stdout.splitlines()[0].startswith("prediction,")
    assert "trust=True" in trusted.stderr  # the warning naming what was trusted


@pytest.mark.parametrize("command", ["predict", "leaderboard", "explain", "compare", "report"])
def test_every_command_that_loads_a_predictor_takes_trust(command):
    from typer.testing import CliRunner

    from assay.cli import app

    result = CliRunner().invoke(app, [command, "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0 and "--trust" in result.output
