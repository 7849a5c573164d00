"""How many epochs a deadline allows, planned from the first steps' pace: by the work of
the batches (their padded tokens), not by their count, because the first batches of a
shuffle can be much shorter than the epoch's average."""

from __future__ import annotations

import time

import pytest

from assay.models._training import REPLAN_AFTER_STEPS, LearningRateSchedule, train_epochs


class _Net:
    def train(self) -> None:
        pass


class _Scheduler:
    def step(self) -> None:
        pass


def _planned_epochs(weighted: bool) -> int:
    """Ten epochs planned; the first REPLAN_AFTER_STEPS batches of each epoch cost one unit
    (1 ms), the next as many forty (40 ms): 0.82 s an epoch, with 2 s to the deadline."""
    cheap = list(range(REPLAN_AFTER_STEPS))
    batches = [[i] for i in cheap] + [[100 + i] for i in cheap]
    work = {i: 1.0 for i in cheap} | {100 + i: 40.0 for i in cheap}
    plan = LearningRateSchedule(10, len(batches))
    train_epochs(
        _Net(),
        plan,
        lambda: batches,
        lambda batch: time.sleep(work[batch[0]] / 1000),
        _Scheduler(),
        None,
        deadline=time.perf_counter() + 2.0,
        patience=1,
        replan=True,
        batch_cost=(lambda batch: work[batch[0]]) if weighted else None,
    )
    return plan.n_epochs


@pytest.mark.parametrize("weighted", [True, False])
def test_the_plan_counts_the_work_of_the_batches_not_their_number(weighted):
    epochs = _planned_epochs(weighted)
    if weighted:  # 2 s / 0.82 s; sleeping longer than asked only lowers it
        assert 1 <= epochs <= 2
    else:  # the first batches' pace says 0.04 s an epoch: the plan keeps all ten
        assert epochs == 10
