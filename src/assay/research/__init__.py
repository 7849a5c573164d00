"""Autoresearch for any dataset: a frozen harness with a hidden holdout, one editable
pipeline.py in a git workspace, a loop that keeps only changes that beat the noise.

    harness = init_research("data.csv", "target", "ws/")
    ResearchLoop("ws/", SearchProposer(0), budget_per_exp_s=60, max_exp=20).run()
"""

from assay.errors import ResearchError
from assay.research._change import Change, ProposalContext, Proposer
from assay.research._config import read_config, write_config
from assay.research._ensemble import ExperimentEnsemble, choose_ensemble
from assay.research._harness import Harness, RunResult
from assay.research._init import init_research
from assay.research._ledger import ExperimentStatus, Ledger, noise_floor
from assay.research._loop import LoopSummary, ResearchLoop
from assay.research._proposers import ProposerTeam, SearchProposer, search_team
from assay.research._report import (
    HoldoutRow,
    ResearchStatus,
    holdout_scores,
    plot_progress,
    research_status,
)
from assay.store._experiments import ExperimentRecord

__all__ = [
    "Change",
    "ExperimentEnsemble",
    "ExperimentRecord",
    "ExperimentStatus",
    "Harness",
    "HoldoutRow",
    "Ledger",
    "LoopSummary",
    "ProposalContext",
    "Proposer",
    "ProposerTeam",
    "ResearchError",
    "ResearchLoop",
    "ResearchStatus",
    "RunResult",
    "SearchProposer",
    "choose_ensemble",
    "holdout_scores",
    "init_research",
    "noise_floor",
    "plot_progress",
    "read_config",
    "research_status",
    "search_team",
    "write_config",
]
