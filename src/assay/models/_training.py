"""What the networks trained by epochs share (the image and sound CNNs, the fine-tuned
text encoder): importing torch with a clear error, torch's thread count given back, the
rows held out to stop on, the scaled regression target, the held-out loss, the
learning-rate plan, and the epoch loop with early stopping and a deadline. Under row
weights a batch's loss is each row's loss times its weight over the batch's weight sum,
and the held-out loss is weighted alike (the MLP uses the same two)."""

from __future__ import annotations

import functools
import io
import math
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np

from assay._cpus import torch_threads_kept
from assay._types import Task
from assay.errors import ArtifactError, ConfigError

REPLAN_AFTER_STEPS = 20  # steps timed before the plan is cut to what the deadline allows


def import_torch(model: str, extra: str = "nn"):
    try:
        import torch
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise ConfigError(
            f"model {model!r} needs PyTorch: pip install 'assay[{extra}]' (with "
            "torch==2.13.0 in the same call)."
        ) from exc
    return torch


def keeps_torch_threads(method):
    """A torch model's fit or prediction that sets torch's thread count to its `n_jobs`
    and, on return, gives the process back the count it had (see `torch_threads_kept`).
    Torch is imported first (the method imports it anyway) so the count before is known."""

    @functools.wraps(method)
    def kept(self, *args, **kwargs):
        try:
            import torch  # noqa: F401 - for its thread count; the method uses it
        except ImportError:  # the method says which extra to install
            return method(self, *args, **kwargs)
        with torch_threads_kept(self.n_jobs):
            return method(self, *args, **kwargs)

    return kept


def stopping_rows(X, y, w, X_val, y_val, w_val, n_estimators: int | None, random_state: int):
    """(X, y, w, X_val, y_val, w_val): the rows to stop on that the fit was given, or, when
    none are and the epochs are not fixed, a tenth of the training rows (from 20 rows on),
    their weights with them."""
    if X_val is not None or n_estimators is not None or len(X) < 20:
        return X, y, w, X_val, y_val, w_val
    held = np.random.default_rng(random_state).permutation(len(X))[: len(X) // 10]
    mask = np.zeros(len(X), dtype=bool)
    mask[held] = True
    if w is None:
        return X.iloc[~mask], y[~mask], None, X.iloc[mask], y[mask], None
    return X.iloc[~mask], y[~mask], w[~mask], X.iloc[mask], y[mask], w[mask]


class AdamW:
    """AdamW as `torch.optim.AdamW` computes it (its single-tensor path, no amsgrad), in
    plain tensor operations. Creating any `torch.optim` optimizer imports torch._dynamo and
    sympy: 1 s and about 100 MB in the fitting process, for an update of six lines."""

    def __init__(self, torch, params, lr: float, weight_decay: float = 0.01) -> None:
        self.params = [p for p in params if p.requires_grad]
        self.lr, self.weight_decay, self.betas, self.eps = lr, weight_decay, (0.9, 0.999), 1e-8
        self.moments = [(torch.zeros_like(p), torch.zeros_like(p)) for p in self.params]
        self.n_steps = 0
        self._no_grad = torch.no_grad

    def zero_grad(self) -> None:
        for p in self.params:
            p.grad = None

    def step(self) -> None:
        self.n_steps += 1
        beta1, beta2 = self.betas
        bias1, bias2 = 1 - beta1**self.n_steps, 1 - beta2**self.n_steps
        with self._no_grad():
            for p, (mean, square) in zip(self.params, self.moments, strict=True):
                if p.grad is None:
                    continue
                p.mul_(1 - self.lr * self.weight_decay)
                mean.lerp_(p.grad, 1 - beta1)
                square.mul_(beta2).addcmul_(p.grad, p.grad, value=1 - beta2)
                denominator = (square.sqrt() / math.sqrt(bias2)).add_(self.eps)
                p.addcdiv_(mean, denominator, value=-self.lr / bias1)


def row_weights(w: np.ndarray | None) -> np.ndarray | None:
    """Row weights as float32 scaled to mean 1 (a batch's loss divides by their sum, so
    the scale cancels; this only keeps tiny or huge weights inside float32), or None."""
    if w is None:
        return None
    w = np.asarray(w, dtype=np.float64)
    return (w / w.mean()).astype(np.float32)


def weight_tensor(torch, w: np.ndarray | None):
    """`row_weights` as a tensor, or None."""
    weights = row_weights(w)
    return None if weights is None else torch.as_tensor(weights)


def batch_loss(torch, task: Task, out, target, weight=None):
    """Cross-entropy (classification) or squared error (regression) of a batch: the mean
    over its rows, or under `weight` (a tensor of the batch's rows' weights) the sum of
    each row's loss times its weight over the weights' sum."""
    functional = torch.nn.functional
    loss = functional.cross_entropy if Task(task).is_classification else functional.mse_loss
    if weight is None:
        return loss(out, target)
    per_row = loss(out, target, reduction="none").reshape(len(weight), -1).mean(dim=1)
    return (per_row * weight).sum() / weight.sum()


def target_tensor(torch, y, task: Task, mean: float = 0.0, std: float = 1.0):
    """Class indices, or the regression target scaled to mean 0 and deviation 1."""
    if Task(task).is_classification:
        return torch.as_tensor(np.asarray(y), dtype=torch.long)
    scaled = (np.asarray(y, dtype=np.float64) - mean) / std
    return torch.as_tensor(scaled, dtype=torch.float32).reshape(-1, 1)


def held_out_loss(out: np.ndarray, y, task: Task, w: np.ndarray | None = None) -> float:
    """Log loss of probabilities (classification) or RMSE of values (regression), each
    row's part weighted by `w` (None: alike)."""
    y = np.asarray(y)
    if Task(task).is_classification:
        losses = -np.log(np.clip(out[np.arange(len(y)), y], 1e-12, 1))
        return float(np.average(losses, weights=w))
    return float(np.sqrt(np.average((out - y) ** 2, weights=w)))


class LearningRateSchedule:
    """The learning rate over training: a warm-up over the first 15% of the steps, then a
    cosine down to 2% of the peak. The plan may be cut short once the first steps show how
    many epochs fit before the deadline, so a network ends its schedule instead of being
    stopped at a high learning rate."""

    def __init__(self, n_epochs: int, n_batches: int):
        self.n_epochs, self.n_batches = int(n_epochs), int(n_batches)

    def shorten(self, n_epochs: int) -> None:
        self.n_epochs = max(1, min(self.n_epochs, n_epochs))

    def factor(self, step: int) -> float:
        total = self.n_epochs * self.n_batches
        warm = max(1, int(0.15 * total))
        if step < warm:
            return (step + 1) / warm
        progress = min(1.0, (step - warm) / max(1, total - warm))
        return 0.02 + 0.98 * 0.5 * (1 + math.cos(math.pi * progress))


def train_epochs(
    net: Any,
    plan: LearningRateSchedule,
    batches: Callable[[], Iterable[Any]],
    step: Callable[[Any], None],
    scheduler: Any,
    held_out: Callable[[], float] | None,
    *,
    deadline: float | None,
    patience: int,
    replan: bool,
    batch_cost: Callable[[Any], float] | None = None,
) -> int:
    """Epochs of `step(batch)` for each of `batches()`, the scheduler stepped after each;
    with `held_out`, the epoch of the lowest held-out loss is kept and training stops
    `patience` epochs after it; at `deadline` (a time.perf_counter() value) it stops, and
    with `replan` the plan is first cut to the epochs the timed first steps say will fit.
    `batch_cost(batch)` is the work of a batch (its padded tokens, when batches differ in
    length), so the first steps' pace is scaled by the work of a whole epoch rather than
    by its count of batches; None: every batch alike. Returns the epochs kept."""
    best, best_state, best_epoch, epoch, n_steps = math.inf, None, 0, 0, 0
    started = time.perf_counter()
    replan_at = min(REPLAN_AFTER_STEPS, plan.n_batches) if replan and deadline else -1
    cost = batch_cost or (lambda batch: 1.0)

    def late() -> bool:
        return deadline is not None and time.perf_counter() > deadline

    while epoch < plan.n_epochs:
        epoch += 1
        net.train()
        epoch_batches = list(batches())
        for batch in epoch_batches:
            step(batch)
            scheduler.step()
            n_steps += 1
            if n_steps == replan_at and deadline is not None:  # in the first epoch
                done = sum(map(cost, epoch_batches[:n_steps]))
                epoch_s = (time.perf_counter() - started) / done * sum(map(cost, epoch_batches))
                plan.shorten(int((deadline - started) / epoch_s))
            if late():
                break
        if held_out is not None:
            value = held_out()
            if value < best - 1e-6:
                best, best_epoch = value, epoch
                best_state = {k: v.detach().clone() for k, v in net.state_dict().items()}
            elif epoch - best_epoch >= patience:
                break
        if late():
            break
    if best_state is None:
        return epoch
    net.load_state_dict(best_state)
    return best_epoch


def save_weights(torch, net: Any, path: Path) -> None:
    """The network's tensors only (no pickled code), for `load_weights`."""
    buffer = io.BytesIO()
    torch.save(net.state_dict(), buffer)
    path.write_bytes(buffer.getvalue())


def load_weights(torch, path: Path, build: Callable[[], Any], what: str) -> Any:
    """`build()` with the tensors `save_weights` wrote, read with weights_only=True (a file
    that would need unpickling is refused), in evaluation mode."""
    try:
        state = torch.load(io.BytesIO(path.read_bytes()), weights_only=True)
        net = build()
        net.load_state_dict(state)
    except Exception as exc:  # a truncated, foreign or mismatched file
        raise ArtifactError(f"{path} is not a readable {what} network: {exc}") from exc
    net.eval()
    return net
