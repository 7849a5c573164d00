"""The LLM proposer driving the research loop end to end, the model played by the scripted
OpenAI-compatible server over HTTP: a diff that applies and improves, a diff that does not
apply, code that crashes and is fixed, and a change to the harness that is refused."""

from __future__ import annotations

from research_helpers import git

from assay.llm import OpenAIBackend
from assay.research import Ledger, ResearchLoop
from assay.research._llm_proposer import LLMProposer
from assay.testing import ScriptedOpenAIServer

IMPROVE = """DESCRIPTION: use the informative columns a and b
```diff
--- a/pipeline.py
+++ b/pipeline.py
@@ -9,3 +9,3 @@
 # --- assay:config ---
-CONFIG = {"columns": ["d"], "jitter": 0.3, "features": [], "automl": {}, "single_model": None}
+CONFIG = {"columns": ["a", "b"], "jitter": 0.3, "features": [], "automl": {}, "single_model": None}
 # --- end config ---
```"""

STALE = """DESCRIPTION: drop the jitter
```diff
--- a/pipeline.py
+++ b/pipeline.py
@@ -9,3 +9,3 @@
 # --- assay:config ---
-CONFIG = {"columns": ["c"], "jitter": 0.9}
+CONFIG = {"columns": ["c"], "jitter": 0.0}
 # --- end config ---
```"""

CRASH = """DESCRIPTION: standardize with a helper
```diff
--- a/pipeline.py
+++ b/pipeline.py
@@ -20,2 +20,2 @@
 mu, sd = X.mean(0), X.std(0) + 1e-9
-X, V = (X - mu) / sd, (V - mu) / sd
+X, V = standardize(X), standardize(V)
```"""

FIX = """DESCRIPTION: standardize with a helper (fixed: define it)
```diff
--- a/pipeline.py
+++ b/pipeline.py
@@ -20,2 +20,3 @@
 mu, sd = X.mean(0), X.std(0) + 1e-9
-X, V = standardize(X), standardize(V)
+standardize = lambda M: (M - mu) / sd  # noqa: E731
+X, V = standardize(X), standardize(V)
```"""

HARNESS = """DESCRIPTION: read the labels directly
```diff
--- a/harness.py
+++ b/harness.py
@@ -1,1 +1,1 @@
-SPLIT_SEED = 0
+SPLIT_SEED = 1
```"""


def test_llm_proposer_through_the_loop(fast_ws):
    ws, harness = fast_ws
    script = [IMPROVE, STALE, STALE, CRASH, FIX, HARNESS]
    with ScriptedOpenAIServer(script) as server:
        backend = OpenAIBackend(server.base_url, "local", timeout_s=30, max_retries=0)
        summary = ResearchLoop(ws, LLMProposer(backend), max_exp=5, n_noise_seeds=2).run()
        requests = server.requests
    records = Ledger(ws, harness.id, store=False).read()
    statuses = [r.status.value for r in records]
    assert statuses[:4] == ["baseline", "keep", "refused", "crash"], statuses
    assert statuses[4] in ("keep", "discard") and statuses[5] == "refused"
    baseline, improved, stale, crashed, fixed, harness_edit = records
    # the diff that applies improves by more than the noise floor and is the branch head
    assert improved.score > baseline.score + summary.noise_floor
    assert improved.description.startswith("use the informative columns a and b [gain +")
    # the diff that does not apply was retried once, then refused with the hunk named
    assert "does not apply" in requests[2]["messages"][-1]["content"]
    assert "hunk" in stale.description and stale.commit is None
    # the crash: its traceback went back to the model, and the fix ran
    assert "NameError" in requests[4]["messages"][-1]["content"]
    assert fixed.source == "fix" and fixed.score is not None
    # the harness edit is refused without running
    assert "harness.py" in harness_edit.description and harness_edit.commit is None
    head = git(ws, "rev-parse", "HEAD")
    assert head in (improved.commit, fixed.commit)
    assert '"columns": ["a", "b"]' in (ws / "pipeline.py").read_text().replace("'", '"')
    assert crashed.commit is not None and git(ws, "cat-file", "-t", crashed.commit) == "commit"
