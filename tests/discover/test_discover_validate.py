"""The validator on real components: every baseline passes, each kind of broken or unsafe
component is refused with the reason that names its problem, LLM code runs in the real
sandbox (time limit included), and fingerprints tell equal behaviour from different."""

from __future__ import annotations

import json

import numpy as np
import pytest

from assay.discover._spec import Hypothesis, Kind, baselines, namespace
from assay.discover._validate import (
    ALLOWED_FUNCTIONS,
    Validation,
    check_numeric,
    check_static,
    is_duplicate,
    similarity,
    validate,
)


def act(body: str) -> Hypothesis:
    return Hypothesis(Kind.ACTIVATION, f"def activation(x):\n    return {body}\n", origin="llm")


def reg(code: str) -> Hypothesis:
    return Hypothesis(Kind.REGULARIZER, code, origin="llm")


def pre(fit: str, transform: str) -> Hypothesis:
    code = f"def fit(x):\n    {fit}\n\ndef transform(x, state):\n    {transform}\n"
    return Hypothesis(Kind.PREPROCESSING, code, origin="llm")


@pytest.mark.parametrize(
    "hypothesis", [h for kind in Kind for h in baselines(kind).values()], ids=lambda h: h.id
)
def test_every_baseline_validates_in_process(hypothesis):
    result = validate(hypothesis)
    assert result.ok, result.reason
    assert result.reason == ""
    fp = result.fingerprint
    assert fp.dtype == np.float64 and fp.ndim == 1 and fp.size > 0
    assert np.isfinite(fp).all()


def test_fingerprint_sizes_per_kind():
    assert validate(act("torch.relu(x)")).fingerprint.size == 64
    assert validate(baselines(Kind.REGULARIZER)["l2"]).fingerprint.size == 10  # 5 values, 5 norms


LONG = act("x" + " + 0.0 * x" * 500)
# (hypothesis, the exact reason) for code the static checks refuse
STATIC_REFUSALS = [
    (
        Hypothesis(Kind.ACTIVATION, "import os\n\ndef activation(x):\n    return x\n", "llm"),
        "imports are not allowed (import os)",
    ),
    (
        Hypothesis(
            Kind.ACTIVATION,
            "def activation(x):\n    from os import path\n    return x\n",
            "llm",
        ),
        "imports are not allowed (from os import path)",
    ),
    (
        Hypothesis(Kind.ACTIVATION, "def activation(x):\n    while True:\n        x = x\n", "llm"),
        "while loops are not allowed (while True:)",
    ),
    (act("x.__class__"), "dunder names are not allowed (x.__class__)"),
    (act("x * torch.rand_like(x)"), "torch.rand_like is not an allowed function"),
    (act("np.random.rand(3)"), "np.random.rand is not an allowed function"),
    (act("torch.nn.sum(x)"), "torch.nn.sum is not an allowed function"),
    (act("open('/etc/passwd')"), "name 'open' is not allowed"),
    (act("x.grad_fn"), "attribute .grad_fn is not allowed"),
    (act("x.mean"), "attribute .mean is not allowed"),
    (act("torch"), "torch may only be used as torch.<function>"),
    (act("f'{x}'"), "JoinedStr is not allowed (line 2)"),
    (
        Hypothesis(Kind.ACTIVATION, "def act(x):\n    return x\n", "llm"),
        "missing entry point: define `def activation(x)` at the top level",
    ),
    (
        Hypothesis(
            Kind.PREPROCESSING,
            "def fit(x):\n    return {}\n\ndef transform(x):\n    return x\n",
            "llm",
        ),
        "transform must take 2 parameter(s): `def transform(x, state)`",
    ),
    (
        Hypothesis(Kind.ACTIVATION, "x = 1\nprint(x)\n\ndef activation(x):\n    return x\n", "llm"),
        "top-level code may only define functions and constants (line 2: print(x))",
    ),
    (
        Hypothesis(Kind.ACTIVATION, "def activation(x):\n    global y\n    return x\n", "llm"),
        "global/nonlocal are not allowed (global y)",
    ),
    (LONG, f"code is {len(LONG.code)} characters, over the 4000 limit"),
]


@pytest.mark.parametrize(("hypothesis", "reason"), STATIC_REFUSALS, ids=lambda v: str(v)[:40])
def test_static_refusals_name_the_problem(hypothesis, reason):
    assert check_static(hypothesis) == reason
    result = validate(hypothesis)
    assert (result.ok, result.reason, result.fingerprint) == (False, reason, None)


# (hypothesis, the exact reason) for code that passes the static checks but misbehaves
NUMERIC_REFUSALS = [
    (act("torch.log(x)"), "non-finite output at x=-20"),
    (act("torch.zeros_like(x) + 1"), "constant output"),
    (act("x.sum()"), "shape changed (500,) -> ()"),
    (act("x.reshape(-1)"), "shape changed (20, 25) -> (500,)"),
    (act("torch.sqrt(torch.abs(x))"), "non-finite gradient at x=0"),
    (act("torch.sign(x)"), "zero gradient everywhere"),
    (act("float(x.sum())"), "output is float, not a tensor"),
    (act("torch.exp(x * 10)"), "non-finite output at x=8.9"),
    (reg("def penalty(w):\n    return torch.zeros(())\n"), "constant penalty without dropout"),
    (reg("def penalty(w):\n    return torch.ones(()) * 0.5\n"), "constant penalty without dropout"),
    (reg("DROPOUT = 0.95\n\ndef penalty(w):\n    return torch.zeros(())\n"), "DROPOUT=0.95"),
    (reg("def penalty(w):\n    return w.abs()\n"), "penalty is not a scalar (shape (32, 16)"),
    (pre("return {}", "return x * 0.0 + 1.0"), "constant output for the normal column"),
    (pre("return [1.0]", "return x"), "fit returned list, not a dict"),
    (pre("return {'a': np.ones(2)}", "return x"), "fit's state is not plain JSON numbers"),
    (pre("return {}", "return np.log(x)"), "non-finite output for the normal column at x="),
    (pre("return {}", "return x[:-1]"), "shape changed (300,) -> (299,)"),
]


@pytest.mark.parametrize(("hypothesis", "reason"), NUMERIC_REFUSALS, ids=lambda v: str(v)[:40])
def test_numeric_refusals_name_the_problem(hypothesis, reason):
    assert check_static(hypothesis) is None  # the probes, not the reader, must catch these
    result = validate(hypothesis)
    assert not result.ok
    assert result.reason.startswith(reason), result.reason
    assert result.fingerprint is None


def test_in_place_changes_to_the_column_are_refused():
    h = Hypothesis(
        Kind.PREPROCESSING,
        "def fit(x):\n    return {}\n\ndef transform(x, state):\n    x += 1.0\n    return x\n",
        "llm",
    )
    assert check_static(h) is None
    assert validate(h).reason == "transform changed its input in place"


def test_randomness_is_refused_statically_and_caught_numerically():
    noisy = act("x * torch.rand_like(x)")
    assert check_static(noisy) == "torch.rand_like is not an allowed function"
    # the determinism probe still holds for randomness the reader would miss
    assert check_numeric(noisy).reason == "non-deterministic"
    assert check_numeric(act("x * torch.sigmoid(x)")).ok


def test_exceptions_become_reasons():
    result = check_numeric(act("x * int('a')"))
    assert (result.ok, result.fingerprint) == (False, None)
    assert result.reason == "raised ValueError: invalid literal for int() with base 10: 'a'"


def test_llm_style_code_within_the_subset_passes():
    code = (
        '"""A smooth gate with a helper, a loop and a lambda."""\n'
        "SCALE = 1.5\n\n"
        "def gate(v):\n    return torch.sigmoid(SCALE * v)\n\n"
        "def activation(x):\n"
        "    out = x * gate(x)\n"
        "    for k in range(2):\n"
        "        out = out + 0.01 * k * torch.nn.functional.softplus(x)\n"
        "    square = lambda v: v.pow(2)\n"
        "    return out + 0.0 * square(x).clamp(-1, 1)\n"
    )
    result = validate(Hypothesis(Kind.ACTIVATION, code, "llm"))
    assert result.ok, result.reason
    robust = pre(
        "return {'m': float(np.median(x)), 's': float(np.std(x)) or 1.0}",
        "return np.tanh((x - state.get('m', 0.0)) / state['s'])",
    )
    assert validate(robust).ok


def test_float_scalars_and_keywords_to_torch_work():
    result = validate(act("torch.clamp(x, -1.0, 1.0) + x.clamp(max=1.0) * torch.tensor(2.0)"))
    assert result.ok, result.reason


def test_every_allowed_function_exists():
    scope = namespace()
    for dotted in ALLOWED_FUNCTIONS:
        value = scope[dotted.split(".")[0]]
        for part in dotted.split(".")[1:]:
            value = getattr(value, part)  # AttributeError names a typo in the whitelist


def test_infinite_loop_is_stopped_by_the_sandbox(tmp_path):
    h = Hypothesis(
        Kind.ACTIVATION,
        "def activation(x):\n    for i in range(10**12):\n        x = x + 0.0\n    return x\n",
        "llm",
    )
    assert check_static(h) is None
    result = validate(h, sandbox_root=tmp_path, time_s=3)
    assert (result.ok, result.reason, result.fingerprint) == (False, "timed out after 3 s", None)
    assert list(tmp_path.iterdir()) == []  # the working copy is removed


def test_sandboxed_validation_matches_in_process(tmp_path):
    mish = act("x * torch.tanh(torch.nn.functional.softplus(x))")
    boxed = validate(mish, sandbox_root=tmp_path)
    assert boxed.ok, boxed.reason
    np.testing.assert_array_equal(boxed.fingerprint, validate(mish).fingerprint)
    failed = validate(act("torch.log(x)"), sandbox_root=tmp_path)
    assert (failed.ok, failed.reason) == (False, "non-finite output at x=-20")
    refused = validate(act("x.__class__"), sandbox_root=tmp_path)  # refused before any run
    assert refused.reason == "dunder names are not allowed (x.__class__)"


def test_validation_round_trips_through_json():
    result = validate(act("torch.tanh(x)"))
    again = Validation.from_dict(json.loads(json.dumps(result.to_dict())))
    assert again.ok and again.reason == ""
    np.testing.assert_array_equal(again.fingerprint, result.fingerprint)
    refused = Validation(False, "constant output")
    assert json.loads(json.dumps(refused.to_dict())) == {
        "ok": False,
        "reason": "constant output",
        "fingerprint": None,
    }


def test_duplicates_are_found_by_behaviour():
    silu = validate(act("x * torch.sigmoid(x)")).fingerprint
    swapped = validate(act("torch.sigmoid(x) * x")).fingerprint
    relu = validate(act("torch.relu(x)")).fingerprint
    assert is_duplicate(swapped, [relu, silu])
    assert not is_duplicate(relu, [silu, swapped])
    assert not is_duplicate(silu, [])
    assert not is_duplicate(silu, [silu[:10]])  # other length: another kind, never equal


def test_similarity():
    relu = validate(act("torch.relu(x)")).fingerprint
    tanh = validate(act("torch.tanh(x)")).fingerprint
    assert similarity(relu, relu) == pytest.approx(1.0)
    assert similarity(relu, tanh) < 0.99
    assert similarity(tanh, -tanh) == pytest.approx(-1.0)
    assert similarity(relu, 3 * relu + 1) == pytest.approx(1.0)  # centred and scale-free
    assert similarity(np.full(5, 2.0), np.full(5, 2.0)) == 1.0
    assert similarity(np.full(5, 2.0), np.arange(5.0)) == 0.0
    for _ in range(3):
        a, b = np.random.default_rng(_).normal(size=(2, 64))
        assert -1.0 <= similarity(a, b) <= 1.0
