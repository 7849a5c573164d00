"""Many processes writing to one store at once, on SQLite and on PostgreSQL: no lost writes,
no locking errors, and processes opening a fresh store together all get the same schema."""

from __future__ import annotations

import multiprocessing

from assay.store import RunState, TrialRecord, TrialState, open_store

N_PROCESSES = 8
N_TRIALS = 100


def _write_trials(url: str, run_id: str, worker: int, barrier) -> None:
    store = open_store(url)  # each process opens its own store, as real workers do
    barrier.wait(timeout=60)  # start writing together to maximise contention
    for i in range(N_TRIALS):
        trial_no = worker * N_TRIALS + i
        store.record_trial(
            TrialRecord(
                run_id=run_id,
                trial_no=trial_no,
                model=f"worker{worker}",
                config={"i": i, "nested": {"worker": worker}},
                state=TrialState.COMPLETE,
                score=i / N_TRIALS,
                fold_scores=(0.1, 0.2),
            )
        )
    store.close()


def _context():
    """Fresh interpreters: a fork of a test process that earlier tests left with threads
    (servers, clusters) can hang or die in the child, which is not what is tested here."""
    return multiprocessing.get_context("spawn")


def test_eight_processes_write_800_trials_without_errors(store_url: str) -> None:
    url = store_url
    store = open_store(url)
    run_id = store.start_run(task="binary").run_id
    store.close()  # no pooled connection is inherited by the forked workers

    ctx = _context()
    barrier = ctx.Barrier(N_PROCESSES)
    workers = [
        ctx.Process(target=_write_trials, args=(url, run_id, w, barrier))
        for w in range(N_PROCESSES)
    ]
    for proc in workers:
        proc.start()
    for proc in workers:
        proc.join(timeout=120)

    assert [proc.exitcode for proc in workers] == [0] * N_PROCESSES
    trials = store.trials(run_id)
    assert len(trials) == N_PROCESSES * N_TRIALS
    assert [t.trial_no for t in trials] == list(range(N_PROCESSES * N_TRIALS))
    assert {t.model for t in trials} == {f"worker{w}" for w in range(N_PROCESSES)}
    run = store.get_run(run_id)
    assert run.n_trials == N_PROCESSES * N_TRIALS  # the per-run counter lost no increment
    assert run.state is RunState.RUNNING  # workers exiting did not mark the parent's run stale
    store.close()


def _open_and_write(url: str, barrier) -> None:
    barrier.wait(timeout=60)  # every process finds the database empty and sets it up
    with open_store(url) as store:
        run_id = store.start_run().run_id
        store.record_llm_call(run_id, model="m")


def test_processes_opening_a_fresh_store_together_take_turns_creating_it(store_url: str) -> None:
    ctx = _context()
    barrier = ctx.Barrier(4)
    openers = [ctx.Process(target=_open_and_write, args=(store_url, barrier)) for _ in range(4)]
    for proc in openers:
        proc.start()
    for proc in openers:
        proc.join(timeout=120)
    assert [proc.exitcode for proc in openers] == [0] * 4
    with open_store(store_url) as store:
        assert len(store.runs()) == 4
