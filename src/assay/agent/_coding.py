"""The coding agent: writes a Python script for a step no tool covers, runs it in the
sandbox, and repairs it from the traceback a bounded number of times.

The script sees the session's data as `inputs/data.csv` and writes to `outputs/`; a
script that writes `outputs/data.csv` changes the session's data (a new feature, a
filter). Its other outputs (plots, tables) are copied into the session folder."""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field

from assay.execute import Limits, Outcome, Sandbox
from assay.llm._blocks import PYTHON_TAGS, code_blocks
from assay.log import get_logger

logger = get_logger(__name__)

SYSTEM = """You write one complete Python script for a data step. Rules:
- The data is the CSV file inputs/data.csv (read it with pandas).
- Write every result under outputs/. To change the data for the next steps (a new column,
  a filter), write the whole table to outputs/data.csv. Plots go to outputs/*.png
  (matplotlib with the Agg backend).
- No network, no files outside the working folder, no input().
- Print a short summary of what you did.
Answer with the script in one ```python fenced block and nothing else."""


@dataclass
class CodeResult:
    ok: bool
    task: str
    attempts: int
    code: str = ""
    outcome: Outcome | None = None
    outputs: list[str] = field(default_factory=list)
    data_changed: bool = False

    def summary(self) -> str:
        if self.outcome is None:
            return f"No code was produced for {self.task!r}."
        head = (
            f"The script ran ({self.attempts} attempt{'s' * (self.attempts > 1)})."
            if self.ok
            else f"The script failed after {self.attempts} attempts: {self.outcome.status.value}, "
            f"{self.outcome.reason}.\n{self.outcome.stderr[-1500:]}"
        )
        lines = [head, self.outcome.stdout[-1500:].strip()]
        if self.data_changed:
            lines.append("The session's data was replaced by outputs/data.csv.")
        if self.outputs:
            lines.append("Files: " + ", ".join(self.outputs))
        return "\n".join(line for line in lines if line)


def extract_code(text: str | None) -> str:
    """The fenced block if there is one, else the whole reply."""
    blocks = [block.code for block in code_blocks(text, PYTHON_TAGS)]
    return max(blocks, key=len).strip() if blocks else (text or "").strip()


class CodingAgent:
    def __init__(self, llm, sandbox: Sandbox | None = None, *, max_attempts: int = 3):
        self.llm = llm
        self.sandbox = sandbox
        self.max_attempts = max_attempts

    def run(self, task: str, state) -> CodeResult:
        from assay.llm import Message

        sandbox = self.sandbox or Sandbox(state.folder / "sandbox", Limits(time_s=120))
        data = state.folder / "code_input.csv"
        if state.frame is not None:
            state.frame.to_csv(data, index=False)
        context = (
            f"Task: {task}\nColumns of inputs/data.csv: {state.columns}\n"
            f"Target: {state.target or 'not set'}"
        )
        messages = [Message("system", SYSTEM), Message("user", context)]
        result = CodeResult(False, task, 0)
        for attempt in range(1, self.max_attempts + 1):
            reply = self.llm.complete(messages).message
            code = extract_code(reply.content)
            workspace = sandbox.workspace(
                files={"step.py": code},
                inputs={"data.csv": data} if data.exists() else {},
            )
            outcome = sandbox.run_python("step.py", workspace)
            logger.info("coding attempt %d: %s", attempt, outcome.status.value)
            result = CodeResult(outcome.ok, task, attempt, code, outcome)
            if outcome.ok:
                self._collect(result, workspace, state)
                return result
            messages += [
                Message("assistant", reply.content),
                Message(
                    "user",
                    f"The script failed ({outcome.status.value}: {outcome.reason}). The end of "
                    f"its error output:\n{outcome.stderr[-3000:]}\nFix it and send the whole "
                    "script again.",
                ),
            ]
        return result

    @staticmethod
    def _collect(result: CodeResult, workspace, state) -> None:
        import pandas as pd

        steps = state.folder / "code"
        folder = steps / f"{len(list(steps.glob('*'))) if steps.exists() else 0:02d}"
        folder.mkdir(parents=True)
        (folder / "step.py").write_text(result.code)
        for path in sorted(workspace.outputs.iterdir()):
            if not path.is_file() or path.is_symlink():
                continue
            copy = folder / path.name
            shutil.copyfile(path, copy)
            if path.name == "data.csv":
                state.frame = pd.read_csv(copy)
                state.data = str(copy)
                state.predictor_path = None
                result.data_changed = True
            else:
                result.outputs.append(str(copy))
                state.artifacts.append(str(copy))
