"""Search: serializable spaces, the portfolio of default configs and the time budget."""

from assay.search._budget import Budget, CostModel, fold_cost_s, folds_for_budget
from assay.search._portfolio import (
    Candidate,
    Searcher,
    is_trial_list,
    load_portfolio,
    read_portfolio,
    save_portfolio,
)
from assay.search._space import Choice, Distribution, Float, Int

__all__ = [
    "Budget",
    "Candidate",
    "Choice",
    "CostModel",
    "Distribution",
    "Float",
    "Int",
    "Searcher",
    "fold_cost_s",
    "folds_for_budget",
    "is_trial_list",
    "load_portfolio",
    "read_portfolio",
    "save_portfolio",
]
