"""Watching a sandboxed process tree from outside: its output (kept to a cap), its memory,
its disk use, its time; and ending it, all of it.

The run's processes are found by their uid when the sandbox gave them one of their own
(root: every process of that uid is the run's, however it detached), else as descendants
of the program seen while it ran (a process that detaches between two looks can escape;
see docs/sandbox.md)."""

from __future__ import annotations

import collections
import contextlib
import os
import signal
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import psutil

UID_FIRST, UID_COUNT = 61_000, 1_000  # uids handed to sandboxed runs when running as root


class OutputCapture(threading.Thread):
    """Drains a pipe to its end (so the program never blocks on a full pipe), keeping the
    first and last `cap_bytes / 2` and counting the rest."""

    def __init__(self, stream, cap_bytes: int):
        super().__init__(daemon=True)
        self.stream, self.half = stream, max(1, cap_bytes // 2)
        self.head = bytearray()
        self.tail: collections.deque[bytes] = collections.deque()
        self.tail_bytes = 0
        self.n_bytes = 0

    def run(self) -> None:
        with contextlib.suppress(OSError, ValueError):
            while chunk := self.stream.read1(1 << 16):
                self.n_bytes += len(chunk)
                room = self.half - len(self.head)
                if room > 0:
                    self.head += chunk[:room]
                    chunk = chunk[room:]
                if chunk:
                    self.tail.append(chunk)
                    self.tail_bytes += len(chunk)
                    while self.tail_bytes - len(self.tail[0]) >= self.half:
                        self.tail_bytes -= len(self.tail.popleft())

    def text(self) -> str:
        tail = b"".join(self.tail)[-self.half :]
        cut = self.n_bytes - len(self.head) - len(tail)
        middle = f"\n[... {cut} bytes not kept ...]\n".encode() if cut > 0 else b""
        return (bytes(self.head) + middle + tail).decode("utf-8", errors="replace")


class UidPool:
    """One unprivileged uid per concurrent run, claimed with an exclusive lock file; a lock
    whose owner process is gone is taken over."""

    def __init__(self, folder: Path | None = None):
        self.folder = folder or Path(tempfile.gettempdir()) / ".assay-sandbox-uids"

    def acquire(self) -> int:
        self.folder.mkdir(mode=0o700, exist_ok=True)
        for uid in range(UID_FIRST, UID_FIRST + UID_COUNT):
            lock = self.folder / str(uid)
            try:
                fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
            except FileExistsError:
                with contextlib.suppress(OSError, ValueError):
                    if not psutil.pid_exists(int(lock.read_text() or 0)):
                        lock.unlink()
                continue
            with os.fdopen(fd, "w") as handle:
                handle.write(str(os.getpid()))
            return uid
        raise RuntimeError(f"all {UID_COUNT} sandbox uids are in use")

    def release(self, uid: int) -> None:
        with contextlib.suppress(FileNotFoundError):
            (self.folder / str(uid)).unlink()


def processes_of(uid: int | None, root_pid: int, known: dict) -> list[psutil.Process]:
    """The run's live processes; `known` (pid -> create time) accumulates descendants seen
    so far, for runs without a uid of their own."""
    if uid is not None:
        out = []
        for proc in psutil.process_iter(["uids"]):
            with contextlib.suppress(psutil.Error):
                if proc.info["uids"] and proc.info["uids"].real == uid:
                    out.append(proc)
        return out
    with contextlib.suppress(psutil.Error):
        root = psutil.Process(root_pid)
        for proc in [root, *root.children(recursive=True)]:
            with contextlib.suppress(psutil.Error):
                known.setdefault(proc.pid, proc.create_time())
    alive = []
    for pid, created in list(known.items()):
        with contextlib.suppress(psutil.Error):
            proc = psutil.Process(pid)
            if proc.create_time() == created and proc.status() != psutil.STATUS_ZOMBIE:
                alive.append(proc)
    return alive


def usage(procs: list[psutil.Process], cpu: dict[int, float]) -> float:
    """Resident memory of `procs` in MB; records each one's CPU seconds in `cpu`."""
    total = 0
    for proc in procs:
        with contextlib.suppress(psutil.Error), proc.oneshot():
            total += proc.memory_info().rss
            times = proc.cpu_times()
            cpu[proc.pid] = max(cpu.get(proc.pid, 0.0), times.user + times.system)
    return total / 2**20


def folder_mb(folder: Path, limit_mb: float) -> float:
    """Size of the files below `folder` in MB (stops counting past twice the limit)."""
    total, stop = 0, 2 * limit_mb * 2**20
    for base, _, files in os.walk(folder):
        for name in files:
            with contextlib.suppress(OSError):
                total += os.lstat(os.path.join(base, name)).st_blocks * 512
            if total > stop:
                return total / 2**20
    return total / 2**20


def end_all(proc: subprocess.Popen, uid: int | None, known: dict, grace_s: float) -> None:
    """SIGTERM to the program's process group, SIGKILL after `grace_s`, then SIGKILL to
    every other process of the run (detached grandchildren included)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(grace_s)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    for _ in range(20):
        left = processes_of(uid, proc.pid, known)
        if not left:
            break
        if uid is not None:  # kill(-1) as that uid reaches every process it owns
            kill = ["kill", "-KILL", "-1"]
            quiet = subprocess.DEVNULL
            subprocess.run(
                kill, user=uid, group=uid, extra_groups=[], check=False, stdout=quiet, stderr=quiet
            )
        for leftover in left:
            with contextlib.suppress(psutil.Error):
                leftover.kill()
        time.sleep(0.05)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(5)
