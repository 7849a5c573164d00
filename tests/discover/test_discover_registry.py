"""The component registry under concurrent writers: two discovery runs (or a run and its
confirmation) may register the same winner at once. Each save must land whole, none may
fail, and no temporary file may stay in the registry folder."""

from __future__ import annotations

import json
import sys
import threading

from assay.discover import Hypothesis, Kind, list_components, load_component, save_component

N_WRITERS = 6
N_ROUNDS = 40


def test_concurrent_saves_of_one_component_all_land_whole(assay_home):
    winner = Hypothesis(Kind.ACTIVATION, "def activation(x):\n    return x * 0.5\n", "grammar")
    start = threading.Barrier(N_WRITERS + 1)
    stop = threading.Event()
    errors: list[BaseException] = []
    torn: list[str] = []

    def write(worker: int) -> None:
        try:
            start.wait()
            for round_ in range(N_ROUNDS):  # sizes differ, so a torn file cannot parse
                details = {"worker": worker, "round": round_, "pad": "x" * 50_000 * worker}
                save_component(winner, details)
        except BaseException as exc:  # reported by the assertion below
            errors.append(exc)

    def read() -> None:
        start.wait()
        path = assay_home / "components" / f"{winner.id}.json"
        while not stop.is_set():
            try:
                text = path.read_text()
            except FileNotFoundError:
                continue
            try:
                json.loads(text)
            except ValueError:
                torn.append(text[-40:])

    threads = [threading.Thread(target=write, args=(i,)) for i in range(N_WRITERS)]
    reader = threading.Thread(target=read)
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)  # switch threads often, so writes interleave every run
    try:
        for thread in [*threads, reader]:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        stop.set()
        reader.join()
        sys.setswitchinterval(interval)

    assert errors == [], f"{len(errors)} saves failed, the first: {errors[0]!r}"
    assert torn == [], f"a reader saw {len(torn)} half-written registry files"
    assert load_component(f"discovered:{winner.id}").code == winner.code
    (entry,) = list_components(Kind.ACTIVATION)
    assert entry["round"] == N_ROUNDS - 1 and len(entry["pad"]) == 50_000 * entry["worker"]
    assert [p.name for p in (assay_home / "components").iterdir()] == [f"{winner.id}.json"]
