"""The LLM proposer against a scripted OpenAI-compatible server over real HTTP, and the
checks every proposed pipeline.py passes through: validation, seed-only detection, diffs."""

from __future__ import annotations

import pytest

from assay.errors import DiffError, ProposalError
from assay.llm import OpenAIBackend
from assay.research._change import Change, ProposalContext
from assay.research._config import read_config
from assay.research._llm_proposer import LLMProposer
from assay.research._validate import apply_diff, is_seed_only, validate_change
from assay.testing import ScriptedOpenAIServer

PIPELINE = """\
\"\"\"The candidate pipeline: the harness imports build() and fits what it returns.\"\"\"

from sklearn.ensemble import RandomForestClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

# --- assay:config ---
CONFIG = {"n_estimators": 200, "max_depth": 8, "seed": 1}
# --- end config ---


def build():
    model = RandomForestClassifier(
        n_estimators=CONFIG["n_estimators"],
        max_depth=CONFIG["max_depth"],
        random_state=CONFIG["seed"],
    )
    return make_pipeline(StandardScaler(), model)
"""

PROGRAM = "# Goal\nRaise ROC AUC on churn. Keep training under a minute. No deep learning."

LEDGER = [
    {"number": 1, "status": "keep", "score": 0.8012, "description": "baseline random forest"},
    {"number": 2, "status": "discard", "score": 0.7950, "description": "max_depth 4"},
    {"number": 3, "status": "keep", "score": 0.8123, "description": "n_estimators 200"},
    {"number": 4, "status": "crash", "score": None, "description": "add target encoding"},
]

GOOD_DIFF = """\
--- a/pipeline.py
+++ b/pipeline.py
@@ -13,6 +13,7 @@ def build():
     model = RandomForestClassifier(
         n_estimators=CONFIG["n_estimators"],
         max_depth=CONFIG["max_depth"],
+        class_weight="balanced",
         random_state=CONFIG["seed"],
     )
     return make_pipeline(StandardScaler(), model)
"""

BAD_DIFF = """\
--- a/pipeline.py
+++ b/pipeline.py
@@ -13,4 +13,5 @@ def build():
     model = GradientBoostingClassifier(
+        learning_rate=0.05,
         n_estimators=CONFIG["n_estimators"],
         max_depth=CONFIG["max_depth"],
"""


def _ctx(**kw) -> ProposalContext:
    fields = dict(
        program=PROGRAM,
        pipeline=PIPELINE,
        ledger=LEDGER,
        last_error=None,
        metric="roc_auc",
        greater_is_better=True,
    )
    return ProposalContext(**{**fields, **kw})


def _reply(description: str, block: str, lang: str = "diff") -> str:
    return f"DESCRIPTION: {description}\n\n```{lang}\n{block}```\n"


def _proposer(server) -> LLMProposer:
    return LLMProposer(OpenAIBackend(server.base_url, "model", timeout_s=30, max_retries=0))


def _user_text(request: dict) -> str:
    return "\n".join(m["content"] for m in request["messages"] if m["role"] == "user")


# --- the proposer over HTTP ----------------------------------------------------------------


def test_a_diff_that_applies_gives_the_edited_pipeline_and_its_description():
    script = [_reply("balance the classes for the minority churners", GOOD_DIFF)]
    with ScriptedOpenAIServer(script) as server:
        change = _proposer(server).propose(_ctx())
    assert change.description == "balance the classes for the minority churners"
    assert change.source == "llm"
    assert '        class_weight="balanced",\n        random_state' in change.pipeline
    assert change.pipeline.replace('        class_weight="balanced",\n', "") == PIPELINE
    assert validate_change(PIPELINE, change) is None


def test_a_whole_file_reply_is_taken_as_the_new_pipeline():
    new = PIPELINE.replace('"max_depth": 8', '"max_depth": 12')
    with ScriptedOpenAIServer([_reply("deeper trees", new, "python")]) as server:
        proposer = _proposer(server)
        change = proposer.propose(_ctx())
    assert change.pipeline == new
    assert read_config(change.pipeline)["max_depth"] == 12
    assert change.description == "deeper trees"
    assert proposer.last_refusal is None


def test_without_a_description_line_the_first_line_describes_the_change():
    reply = f"Try deeper trees.\n```python\n{PIPELINE.replace('8,', '12,')}```"
    with ScriptedOpenAIServer([reply]) as server:
        change = _proposer(server).propose(_ctx())
    assert change.description == "Try deeper trees."


def test_a_diff_that_does_not_apply_is_retried_once_with_the_failing_hunk():
    script = [_reply("gradient boosting", BAD_DIFF), _reply("balance the classes", GOOD_DIFF)]
    with ScriptedOpenAIServer(script) as server:
        change = _proposer(server).propose(_ctx())
        requests = server.requests
    assert len(requests) == 2
    retry = requests[1]["messages"]
    assert [m["role"] for m in retry] == ["system", "user", "assistant", "user"]
    assert retry[2]["content"] == script[0]
    assert "hunk 1 (@@ -13,4 +13,5 @@) does not apply" in retry[3]["content"]
    assert "GradientBoostingClassifier" in retry[3]["content"]
    assert 'class_weight="balanced"' in change.pipeline
    assert change.description == "balance the classes"


def test_two_unusable_replies_raise_proposal_error_with_the_reason():
    script = [_reply("gradient boosting", BAD_DIFF), "I would try gradient boosting."]
    with ScriptedOpenAIServer(script) as server:
        proposer = _proposer(server)
        with pytest.raises(ProposalError, match="neither a ```diff block nor a ```python"):
            proposer.propose(_ctx())
        assert len(server.requests) == 2
    assert "```diff" in proposer.last_refusal


def test_two_diffs_that_do_not_apply_raise_proposal_error():
    script = [_reply("a", BAD_DIFF), _reply("b", BAD_DIFF)]
    with ScriptedOpenAIServer(script) as server:
        proposer = _proposer(server)
        with pytest.raises(ProposalError, match=r"hunk 1 .* does not apply"):
            proposer.propose(_ctx())
    assert proposer.last_refusal.startswith("hunk 1")


def test_a_diff_that_edits_another_file_is_refused_at_once_naming_the_file():
    diff = GOOD_DIFF + (
        "--- a/harness.py\n+++ b/harness.py\n@@ -1,1 +1,1 @@\n-SEED = 0\n+SEED = 1\n"
    )
    with ScriptedOpenAIServer([_reply("peek", diff), _reply("x", GOOD_DIFF)]) as server:
        proposer = _proposer(server)
        with pytest.raises(ProposalError, match=r"the diff edits harness\.py; only pipeline\.py"):
            proposer.propose(_ctx())
        assert len(server.requests) == 1  # a policy refusal is not retried
    assert "harness.py" in proposer.last_refusal


def test_a_crash_asks_for_a_fix_with_the_traceback():
    error = (
        'Traceback (most recent call last):\n  File "pipeline.py", line 14, in build\n'
        "NameError: name 'TargetEncoder' is not defined"
    )
    with ScriptedOpenAIServer([_reply("import TargetEncoder", GOOD_DIFF)]) as server:
        change = _proposer(server).propose(_ctx(last_error=error))
        text = _user_text(server.requests[0])
    assert "NameError: name 'TargetEncoder' is not defined" in text
    assert "crashed" in text and "#4: add target encoding" in text
    assert "Fix the last change" in text
    assert change.source == "fix"


def test_the_prompt_carries_program_pipeline_ledger_and_reply_format():
    with ScriptedOpenAIServer([_reply("balance", GOOD_DIFF)]) as server:
        _proposer(server).propose(_ctx())
        messages = server.requests[0]["messages"]
    system, user = messages[0]["content"], messages[1]["content"]
    assert "roc_auc (higher is better)" in system
    assert "DESCRIPTION:" in system and "```diff" in system and "```python" in system
    assert "# --- assay:config ---" in system
    assert PROGRAM in user
    assert PIPELINE.rstrip() in user
    assert "Best so far: #3 score 0.8123: n_estimators 200" in user
    assert "#2 | discard | 0.795 | max_depth 4" in user
    assert "#4 | crash | - | add target encoding" in user
    assert "Fix the last change" not in user


def test_the_ledger_summary_shows_only_the_last_twenty():
    ledger = [
        {"number": i, "status": "discard", "score": 0.5 + i / 100, "description": f"idea {i}"}
        for i in range(1, 31)
    ]
    with ScriptedOpenAIServer([_reply("x", GOOD_DIFF)]) as server:
        _proposer(server).propose(_ctx(ledger=ledger, greater_is_better=False))
        user = _user_text(server.requests[0])
    assert "(10 earlier experiments not shown)" in user
    assert "#10 | discard" not in user and "#11 | discard" in user
    assert "Best so far: #1 score 0.51: idea 1" in user  # lower is better


# --- validation ----------------------------------------------------------------------------


def _change(text: str) -> Change:
    return Change(text, "test", source="llm")


@pytest.mark.parametrize(
    ("edit", "reason"),
    [
        (lambda t: t.replace("def build():", "def build(:"), "does not parse"),
        (lambda t: t.replace("# --- end config ---\n", ""), "# --- end config ---"),
        (lambda t: t.replace('"seed": 1}', '"seed": int("1")}'), "dict literal"),
        (
            lambda t: t + '\nLABELS = open("data/valid_labels.csv").read()\n',
            "mentions 'valid_labels'",
        ),
        (lambda t: t + '\nX = open("../harness.json").read()\n', "mentions"),
        (lambda t: "import subprocess\n" + t, "imports subprocess"),
        (lambda t: t + '\nurl = __import__("urllib.request")\n', "imports urllib"),
        (lambda t: t, "identical"),
        (lambda t: t.replace("def build():", "def build():  # the model"), "only comments"),
        (lambda t: t + "\n" + "# padding\n" * 30_000, "over 200 KB"),
    ],
)
def test_validate_change_refuses_with_a_reason(edit, reason):
    refusal = validate_change(PIPELINE, _change(edit(PIPELINE)))
    assert refusal is not None and reason in refusal


def test_validate_change_refuses_absolute_paths_into_assay_home(assay_home):
    text = PIPELINE + f'\nSECRET = "{assay_home}/research/labels.csv"\n'
    assert "belongs to the harness" in validate_change(PIPELINE, _change(text))


@pytest.mark.parametrize(
    "edit",
    [
        lambda t: t.replace('"max_depth": 8', '"max_depth": 12'),
        lambda t: t.replace("StandardScaler(), model", "model"),
        lambda t: t.replace("def build():", "def build():  # no holdout peeking here\n    pass"),
        lambda t: "import numpy as np\n" + t,
    ],
)
def test_validate_change_accepts_ordinary_edits(edit):
    assert validate_change(PIPELINE, _change(edit(PIPELINE))) is None


# --- seed-only changes ---------------------------------------------------------------------


def test_seed_only_changes_are_recognised():
    assert is_seed_only(PIPELINE, PIPELINE.replace('"seed": 1', '"seed": 2'))
    assert is_seed_only(PIPELINE, PIPELINE.replace('random_state=CONFIG["seed"]', "random_state=7"))
    code = "import numpy as np\nnp.random.seed(1)\nmodel = Model(random_state=0, C=1.0)\n"
    assert is_seed_only(code, code.replace("random_state=0", "random_state=1"))
    assert is_seed_only(code, code.replace("seed(1)", "seed(2)"))
    rng = "import numpy as np\nrng = np.random.default_rng(0)\nSEED = 3\n"
    assert is_seed_only(rng, rng.replace("default_rng(0)", "default_rng(5)").replace("3", "4"))
    assert is_seed_only("def f(x, seed=0):\n    return x\n", "def f(x, seed=1):\n    return x\n")


def test_real_changes_are_not_seed_only():
    both = PIPELINE.replace('"seed": 1', '"seed": 2').replace('"max_depth": 8', '"max_depth": 9')
    assert not is_seed_only(PIPELINE, both)
    assert not is_seed_only(PIPELINE, PIPELINE.replace('"max_depth": 8', '"max_depth": 9'))
    assert not is_seed_only(PIPELINE, PIPELINE)
    assert not is_seed_only(PIPELINE, PIPELINE.replace("def build():", "def build(:"))


# --- diffs ---------------------------------------------------------------------------------


def test_apply_diff_finds_hunks_whose_line_numbers_are_wrong():
    shifted = GOOD_DIFF.replace("@@ -13,6 +13,7 @@", "@@ -3,6 +3,7 @@")
    assert apply_diff(PIPELINE, shifted) == apply_diff(PIPELINE, GOOD_DIFF)
    assert 'class_weight="balanced"' in apply_diff(PIPELINE, shifted.replace("-3,", "-40,"))


def test_apply_diff_applies_several_hunks_in_order():
    diff = """\
--- a/pipeline.py
+++ b/pipeline.py
@@ -3,3 +3,3 @@
-from sklearn.ensemble import RandomForestClassifier
+from sklearn.ensemble import ExtraTreesClassifier
 from sklearn.pipeline import make_pipeline
 from sklearn.preprocessing import StandardScaler
@@ -8,1 +8,1 @@
-CONFIG = {"n_estimators": 200, "max_depth": 8, "seed": 1}
+CONFIG = {"n_estimators": 400, "max_depth": 8, "seed": 1}
@@ -13,2 +13,2 @@ def build():
-    model = RandomForestClassifier(
+    model = ExtraTreesClassifier(
         n_estimators=CONFIG["n_estimators"],
"""
    new = apply_diff(PIPELINE, diff)
    assert "RandomForest" not in new and new.count("ExtraTreesClassifier") == 2
    assert read_config(new)["n_estimators"] == 400
    assert new.endswith("return make_pipeline(StandardScaler(), model)\n")
    assert len(new.splitlines()) == len(PIPELINE.splitlines())


def test_apply_diff_never_matches_content_loosely():
    loose = GOOD_DIFF.replace('max_depth=CONFIG["max_depth"]', "max_depth=CONFIG['max_depth']")
    with pytest.raises(DiffError, match=r"hunk 1 .*does not apply.*line 15 it expects"):
        apply_diff(PIPELINE, loose)
    second_fails = GOOD_DIFF + "@@ -30,2 +31,2 @@\n-    return None\n+    return 1\n"
    with pytest.raises(DiffError, match="hunk 2"):
        apply_diff(PIPELINE, second_fails)


def test_apply_diff_refuses_other_files_and_empty_diffs():
    with pytest.raises(DiffError, match=r"the diff edits harness\.py; only pipeline\.py"):
        apply_diff(PIPELINE, GOOD_DIFF.replace("pipeline.py", "harness.py"))
    with pytest.raises(DiffError, match=r"edits data/valid_labels\.csv"):
        apply_diff(PIPELINE, "diff --git a/data/valid_labels.csv b/data/valid_labels.csv\n")
    with pytest.raises(DiffError, match="no hunks"):
        apply_diff(PIPELINE, "--- a/pipeline.py\n+++ b/pipeline.py\n")
