"""The LLM component generator against a scripted OpenAI-compatible server over real HTTP:
what it parses from replies, what its prompts show in each mode, and what it drops."""

from __future__ import annotations

import pytest

from assay.discover._llm_generator import Evaluated, LLMGenerator, parse_reply
from assay.discover._spec import BASELINE_CODE, Hypothesis, Kind
from assay.errors import ConfigError, LLMError
from assay.llm import OpenAIBackend
from assay.testing import ScriptedOpenAIServer

MISH_CODE = "def activation(x):\n    return x * torch.tanh(torch.nn.functional.softplus(x))\n"
MISH = f"""DESCRIPTION: Mish-like gate x * tanh(softplus(x)), smooth and non-monotonic
```python
{MISH_CODE}```"""


def activation_reply(expr: str, description: str = "a variant") -> str:
    return f"DESCRIPTION: {description}\n```python\ndef activation(x):\n    return {expr}\n```"


def evaluated(expr: str, reward: float, description: str = "") -> Evaluated:
    code = f"def activation(x):\n    return {expr}\n"
    hypothesis = Hypothesis(Kind.ACTIVATION, code, origin="llm", description=description)
    return Evaluated(hypothesis, "evaluated", reward)


HISTORY = [
    evaluated("x * torch.sigmoid(1.5 * x)", 0.625, "swish 1.5"),
    evaluated("torch.clamp(x, -3.0, 3.0)", 0.25, "hard clip"),
    evaluated("x * torch.sigmoid(1.702 * x) + 0.01 * x", 0.8125, "leaky gelu-ish"),
    Evaluated(
        Hypothesis(Kind.ACTIVATION, "def activation(x):\n    return x.sum()\n", origin="llm"),
        "invalid",
        None,
        reason="activation must keep x's shape: got () for (4, 8)",
    ),
]


def run(script, kind=Kind.ACTIVATION, n=1, history=(), **kwargs):
    """(hypotheses, request bodies, generator) for one generate call against the server."""
    with ScriptedOpenAIServer(script) as server:
        backend = OpenAIBackend(server.base_url, "local", timeout_s=30, max_retries=0)
        generator = LLMGenerator(backend, kind, **kwargs)
        hypotheses = generator.generate(n, list(history))
        requests = server.requests
    return hypotheses, requests, generator


def system_and_user(request: dict) -> tuple[str, str]:
    messages = request["messages"]
    assert [m["role"] for m in messages] == ["system", "user"]
    return messages[0]["content"], messages[1]["content"]


def test_a_mish_reply_becomes_one_llm_hypothesis():
    hypotheses, requests, _ = run([MISH], mode="novel")
    assert len(requests) == 1
    [h] = hypotheses
    assert h.kind is Kind.ACTIVATION and h.origin == "llm"
    assert h.code == MISH_CODE
    assert h.description == "Mish-like gate x * tanh(softplus(x)), smooth and non-monotonic"
    assert h.parents == () and h.id == Hypothesis(Kind.ACTIVATION, MISH_CODE, "x").id
    system, user = system_and_user(requests[0])
    assert "def activation(x)" in system and "element-wise" in system
    assert "No imports" in system and "`torch`, `np`" in system
    for code in BASELINE_CODE[Kind.ACTIVATION].values():
        assert code in system
    assert "DESCRIPTION:" in system and "Nothing evaluated yet" in user


def test_incremental_prompt_shows_the_best_with_rewards_and_refusal_reasons():
    hypotheses, requests, _ = run([MISH], history=HISTORY, mode="incremental", n_shown=2)
    _, user = system_and_user(requests[0])
    best, second, worst = HISTORY[2], HISTORY[0], HISTORY[1]
    assert best.hypothesis.code in user and "win rate 0.812" in user
    assert user.index(best.hypothesis.code) < user.index(second.hypothesis.code)
    assert worst.hypothesis.code not in user  # only the best n_shown
    assert "activation must keep x's shape" in user and "x.sum()" in user
    assert "small modification" in user and "clearly different" not in user
    [h] = hypotheses
    assert h.parents == (best.hypothesis.id, second.hypothesis.id)


def test_novel_prompt_asks_for_something_different():
    hypotheses, requests, _ = run([MISH], history=HISTORY, mode="novel")
    _, user = system_and_user(requests[0])
    assert "clearly different from all of the components shown" in user
    assert "small modification" not in user
    assert all(e.hypothesis.code in user for e in HISTORY[:3])
    assert hypotheses[0].parents == ()


def test_alternate_mode_alternates_call_by_call_and_across_batches():
    replies = [activation_reply(f"torch.tanh({k}.0 * x)") for k in range(1, 6)]
    with ScriptedOpenAIServer(replies) as server:
        backend = OpenAIBackend(server.base_url, "local", timeout_s=30, max_retries=0)
        generator = LLMGenerator(backend, Kind.ACTIVATION)
        first = generator.generate(3, HISTORY)
        second = generator.generate(2, HISTORY)
        requests = server.requests
    users = [system_and_user(r)[1] for r in requests]
    modes = ["incremental" if "small modification" in u else "novel" for u in users]
    assert modes == ["incremental", "novel", "incremental", "novel", "incremental"]
    assert all(
        ("clearly different" in u) == (m == "novel") for u, m in zip(users, modes, strict=True)
    )
    assert len(first) == 3 and len(second) == 2
    assert first[0].parents and not first[1].parents
    # what this batch already produced is shown so the model does not repeat it
    assert first[0].code in users[1] and "Already proposed in this round" in users[1]


def test_a_reply_without_code_is_skipped_and_the_next_one_used():
    script = ["DESCRIPTION: I would use a smooth gate, but here is no code.", MISH]
    hypotheses, requests, _ = run(script, n=2, mode="novel")
    assert len(requests) == 2
    assert [h.code for h in hypotheses] == [MISH_CODE]


def test_unusable_replies_are_not_retried_beyond_n_calls():
    script = ["no code here", "```python\ndef relu(x):\n    return x\n```", MISH]
    hypotheses, requests, _ = run(script, n=2)
    assert hypotheses == [] and len(requests) == 2


def test_duplicates_of_history_baselines_and_the_batch_are_dropped():
    mish = Hypothesis(Kind.ACTIVATION, MISH_CODE, origin="llm", description="mish")
    history = [*HISTORY, Evaluated(mish, "evaluated", 0.5)]
    relu = activation_reply("torch.relu(x)", "plain relu")  # a baseline
    fresh = activation_reply("x * torch.sigmoid(x) * torch.tanh(x)", "swish-tanh")
    script = [MISH.replace("\n```", "   \n\n```"), relu, fresh, fresh]
    hypotheses, requests, _ = run(script, n=4, history=history)
    assert len(requests) == 4
    [h] = hypotheses
    assert h.description == "swish-tanh" and h.id != mish.id


PREPROCESSING = """DESCRIPTION: robust scaling by median and IQR, then a soft clip
```python
import numpy as np

def fit(x):
    q1, med, q3 = np.percentile(x, [25, 50, 75])
    return {'med': float(med), 'iqr': float(q3 - q1) or 1.0}

def transform(x, state):
    return np.tanh((x - state['med']) / state['iqr'])
```"""

REGULARIZER = """Description: **L1 plus a little L2, with light dropout**
```python
DROPOUT = 0.1

def penalty(w):
    return torch.mean(torch.abs(w)) + 0.1 * torch.mean(w * w)
```"""


@pytest.mark.parametrize(
    ("kind", "reply", "contract", "description"),
    [
        (
            Kind.PREPROCESSING,
            PREPROCESSING,
            ["`def fit(x)`", "`def transform(x, state)`", "float64 numpy array"],
            "robust scaling by median and IQR, then a soft clip",
        ),
        (
            Kind.REGULARIZER,
            REGULARIZER,
            ["`def penalty(w)`", "scalar (0-d) torch tensor", "DROPOUT = p", "0.001 x"],
            "L1 plus a little L2, with light dropout",
        ),
    ],
)
def test_other_kinds_get_their_own_contract(kind, reply, contract, description):
    hypotheses, requests, _ = run([reply], kind=kind)
    system, _ = system_and_user(requests[0])
    assert all(text in system for text in contract)
    assert "def activation(x)" not in system and "element-wise" not in system
    assert all(code in system for code in BASELINE_CODE[kind].values())
    [h] = hypotheses
    assert h.kind is kind and h.description == description
    assert "import" not in h.code  # `import numpy as np` is what np already is


def test_an_llm_error_propagates_only_when_nothing_was_produced():
    with pytest.raises(LLMError):
        run([{"status": 400, "error": "model not found"}], n=2)
    hypotheses, requests, _ = run([MISH, {"status": 400, "error": "overloaded"}, MISH], n=3)
    assert [h.code for h in hypotheses] == [MISH_CODE] and len(requests) == 2


def test_parse_reply_joins_blocks_that_only_together_define_the_kind():
    text = (
        "fit:\n```python\ndef fit(x):\n    return {}\n```\n"
        "```python\ndef transform(x, state):\n    return x\n```"
    )
    description, code = parse_reply(text, Kind.PREPROCESSING)
    assert description == "fit:" and "def fit" in code and "def transform" in code


def test_bad_settings_are_config_errors():
    with pytest.raises(ConfigError, match="mode"):
        LLMGenerator(object(), Kind.ACTIVATION, mode="wild")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="n_shown"):
        LLMGenerator(object(), "activation", n_shown=0)  # type: ignore[arg-type]
