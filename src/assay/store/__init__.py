"""Where runs and trials are kept: append-only records in SQLite or PostgreSQL."""

from assay._types import RunState, TrialState
from assay.store._records import RunRecord, TrialRecord
from assay.store._sql import SQLStore, open_store

__all__ = ["RunRecord", "RunState", "SQLStore", "TrialRecord", "TrialState", "open_store"]
