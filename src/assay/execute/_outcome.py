"""What a sandboxed run gives back: how it ended, what it cost, the tail of its logs, and
the metrics computed by trusted code from the files it wrote."""

from __future__ import annotations

import json
import signal
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from assay._types import OutcomeStatus


@dataclass(frozen=True)
class Outcome:
    status: OutcomeStatus
    returncode: int | None
    wall_s: float
    cpu_s: float
    peak_memory_mb: float
    stdout: str  # the head and tail of what it printed, at most `Limits.output_kb`
    stderr: str
    stdout_bytes: int
    stderr_bytes: int
    metrics: dict[str, Any] = field(default_factory=dict)
    reason: str = ""  # why it ended that way, in a sentence
    isolation: dict[str, Any] = field(default_factory=dict)
    workdir: str = ""

    @property
    def ok(self) -> bool:
        return self.status is OutcomeStatus.OK

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["status"] = self.status.value
        return out

    def save(self, path: Path) -> Path:
        path.write_text(json.dumps(self.to_dict(), indent=1, default=str))
        return path

    @classmethod
    def load(cls, path: Path) -> Outcome:
        data = json.loads(Path(path).read_text())
        data["status"] = OutcomeStatus(data["status"])
        return cls(**data)


def classify(
    returncode: int | None, stopped: tuple[OutcomeStatus, str] | None, stderr_tail: str
) -> tuple[OutcomeStatus, str]:
    """The status from how the process ended; `stopped` is what the monitor did, if it
    stopped the run (time, memory, disk)."""
    if stopped is not None:
        return stopped
    if returncode is None:
        return OutcomeStatus.KILLED, "the process could not be waited for"
    if returncode < 0:
        sig = -returncode
        name = signal.Signals(sig).name if sig in signal.Signals._value2member_map_ else str(sig)
        if sig == signal.SIGXCPU:
            return OutcomeStatus.TIMEOUT, "the CPU time limit was reached (SIGXCPU)"
        if sig == signal.SIGXFSZ:
            return OutcomeStatus.KILLED, "a file grew past the file size limit (SIGXFSZ)"
        return OutcomeStatus.KILLED, f"killed by {name}"
    if returncode == 125 and "assay sandbox launcher" in stderr_tail:
        return OutcomeStatus.ERROR, "the sandbox could not start the program"
    if returncode != 0:
        if "MemoryError" in stderr_tail or "Cannot allocate memory" in stderr_tail:
            return OutcomeStatus.OOM, "an allocation failed under the memory limit"
        return OutcomeStatus.ERROR, f"exited with status {returncode}"
    return OutcomeStatus.OK, "exited 0"
