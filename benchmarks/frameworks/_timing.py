"""Single-row latency, measured the same way for every framework: the median time of
predicting one row at a time (20 rows), after the batch prediction warmed everything up."""

from __future__ import annotations

import time

import numpy as np


def single_row_ms(predict, test, n_rows: int = 20) -> float:
    times = []
    for i in range(min(n_rows, len(test))):
        row = test.iloc[[i]]
        started = time.perf_counter()
        predict(row)
        times.append(time.perf_counter() - started)
    return 1000 * float(np.median(times))
