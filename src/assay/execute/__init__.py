"""Running code assay did not write: the sandbox, its limits and its outcome records."""

from assay._types import OutcomeStatus
from assay.errors import InvalidOutput
from assay.execute._outcome import Outcome
from assay.execute._sandbox import Limits, Sandbox, Workspace

__all__ = ["InvalidOutput", "Limits", "Outcome", "OutcomeStatus", "Sandbox", "Workspace"]
