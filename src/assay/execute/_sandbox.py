"""The one place generated code runs: a private working copy, its own process group and
(as root) its own uid, limits it cannot raise, no network, no secrets, no hidden data,
and a metric computed by trusted code from the files it wrote. See docs/sandbox.md."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from assay._cpus import usable_cpus
from assay._types import OutcomeStatus
from assay.errors import InvalidOutput, SandboxError
from assay.execute._outcome import Outcome, classify
from assay.execute._watch import (
    OutputCapture,
    UidPool,
    end_all,
    folder_mb,
    processes_of,
    usage,
)
from assay.log import get_logger

logger = get_logger(__name__)
HERE = Path(__file__).resolve().parent
KEPT_ENV = ("PATH", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "TERM")
DISK_CHECK_S = 0.1  # how often the working copy's size is read
_warned: set[str] = set()


@dataclass(frozen=True)
class Limits:
    time_s: float = 60.0  # wall clock
    memory_mb: int = 4096  # resident memory of all the run's processes, and address space
    max_processes: int = 64
    max_open_files: int = 256
    max_file_mb: int = 1024  # one file
    disk_mb: int = 2048  # everything written in the working copy
    cpu_s: float | None = None  # default: time_s x cores + 5
    output_kb: int = 256  # of stdout and of stderr kept (head and tail)
    private_tmp_mb: int = 256  # the private /tmp, /var/tmp and /dev/shm (as root)
    grace_s: float = 2.0  # between SIGTERM and SIGKILL

    def __post_init__(self) -> None:
        for name in ("time_s", "memory_mb", "max_processes", "max_open_files", "disk_mb"):
            value = getattr(self, name)
            if not isinstance(value, int | float) or value <= 0:
                raise SandboxError(f"Limits({name}={value!r}): give a positive number.")

    def rlimits(self) -> dict[str, Any]:
        cpu = self.cpu_s or self.time_s * usable_cpus() + 5
        return {
            "AS": int((self.memory_mb + 1024) * 2**20),  # room for libraries' reservations
            "NPROC": int(self.max_processes),
            "NOFILE": int(self.max_open_files),
            "FSIZE": int(self.max_file_mb * 2**20),
            "CPU": [int(cpu), int(cpu) + 1],  # SIGXCPU first, so the run reads as a timeout
            "CORE": 0,
        }


@dataclass
class Workspace:
    """`work` is the program's working copy (inputs read-only, `outputs` and `tmp`
    writable); `private` holds what the program must not see (the launch spec, hidden
    labels, the outcome) and is never exposed to it."""

    root: Path
    hidden: list[Path] = field(default_factory=list)

    @property
    def work(self) -> Path:
        return self.root / "work"

    @property
    def inputs(self) -> Path:
        return self.work / "inputs"

    @property
    def outputs(self) -> Path:
        return self.work / "outputs"

    @property
    def tmp(self) -> Path:
        return self.work / "tmp"

    @property
    def private(self) -> Path:
        return self.root / "private"


def scrubbed_env(extra: dict[str, str] | None, workspace: Workspace) -> dict[str, str]:
    """Only a few harmless variables, never keys or tokens: what a program needs must be
    passed explicitly in `extra`."""
    env = {k: os.environ[k] for k in KEPT_ENV if k in os.environ}
    env.setdefault("PATH", "/usr/local/bin:/usr/bin:/bin")
    env.update(
        HOME=str(workspace.tmp),
        TMPDIR=str(workspace.tmp),
        PYTHONDONTWRITEBYTECODE="1",
        PYTHONUNBUFFERED="1",  # a killed program's last lines still reach the log
        MALLOC_ARENA_MAX="2",
        OMP_NUM_THREADS=str(usable_cpus()),
    )
    env.update(extra or {})
    return env


def _expose() -> list[str]:
    """What the program's interpreter needs to stay reachable inside the private mounts."""
    import site

    paths = {sys.prefix, sys.base_prefix, os.path.dirname(os.path.realpath(sys.executable))}
    paths.update(site.getsitepackages())
    paths.add(str(HERE.parents[1]))  # the assay package (the Python boot file lives there)
    return sorted(os.path.realpath(p) for p in paths if os.path.exists(p))


class Sandbox:
    """`Sandbox(root).run(command, workspace)` runs a command; `run_python` a script with
    the audit-hook wall. `network=True` lets it reach the network (never by default); `env`
    passes variables through the scrubbing on purpose."""

    def __init__(
        self,
        root: str | Path,
        limits: Limits | None = None,
        *,
        network: bool = False,
        env: dict[str, str] | None = None,
        own_uid: bool | None = None,
    ):
        self.root = Path(root).expanduser().resolve()
        self.limits = limits or Limits()
        self.network = network
        self.env = dict(env or {})
        self.own_uid = os.geteuid() == 0 if own_uid is None else own_uid
        if self.own_uid and os.geteuid() != 0:
            raise SandboxError("own_uid=True needs root: run as root or pass own_uid=False.")
        self._uids = UidPool()

    # -- the working copy ------------------------------------------------------------------
    def workspace(
        self,
        files: dict[str, str | bytes | Path] | None = None,
        inputs: dict[str, str | bytes | Path] | None = None,
        hidden: Iterable[str | Path] = (),
    ) -> Workspace:
        """A new working copy: `files` (the program) at its top, `inputs` under inputs/,
        both read-only to the program; `hidden` paths are refused to it."""
        ws = Workspace(self.root / uuid.uuid4().hex[:12], [Path(h).resolve() for h in hidden])
        for folder in (ws.inputs, ws.outputs, ws.tmp, ws.private):
            folder.mkdir(parents=True)
        for folder, entries in ((ws.work, files or {}), (ws.inputs, inputs or {})):
            for name, content in entries.items():
                target = folder / name
                if target.resolve().parent != folder.resolve():
                    raise SandboxError(f"file name {name!r} must be a plain name, not a path.")
                if isinstance(content, Path):
                    shutil.copyfile(content, target)
                else:
                    target.write_bytes(content if isinstance(content, bytes) else content.encode())
                target.chmod(0o444)
        ws.root.chmod(0o711)
        ws.private.chmod(0o700)
        ws.inputs.chmod(0o555)
        return ws

    # -- running ---------------------------------------------------------------------------
    def run_python(
        self,
        script: str,
        workspace: Workspace,
        args: Iterable[str] = (),
        *,
        evaluate: Callable[[Path], dict] | None = None,
    ) -> Outcome:
        """Run `script` (a file in the working copy) with this Python and the audit hook."""
        policy = workspace.work / ".sandbox-policy.json"
        policy.write_text(
            json.dumps(
                {
                    "writable": [str(workspace.outputs), str(workspace.tmp)],
                    "hidden": [str(workspace.private), *map(str, workspace.hidden)],
                    "network": self.network,
                }
            )
        )
        policy.chmod(0o444)
        command = [sys.executable, "-I", "-u", str(HERE / "_boot.py"), str(policy), script, *args]
        return self.run(command, workspace, evaluate=evaluate)

    def run(
        self,
        command: list[str],
        workspace: Workspace,
        *,
        evaluate: Callable[[Path], dict] | None = None,
    ) -> Outcome:
        """Run `command` in the working copy until it ends or a limit stops it; then, if it
        ended well, `evaluate(outputs_folder)` (trusted code) gives the metrics, or raises
        InvalidOutput."""
        uid = self._uids.acquire() if self.own_uid else None
        try:
            return self._run(command, workspace, uid, evaluate)
        finally:
            if uid is not None:
                self._uids.release(uid)

    def _spec(self, command, workspace, uid) -> Path:
        executable = shutil.which(command[0]) or command[0]
        spec = {
            "argv": [executable, *command[1:]],
            "cwd": str(workspace.work),
            "env": scrubbed_env(self.env, workspace),
            "uid": uid,
            "rlimits": self.limits.rlimits(),
            "network": "allow" if self.network else "isolate",
            "private_tmp_mb": self.limits.private_tmp_mb,
            "expose": [*_expose(), str(workspace.work)],
            "hide": [str(workspace.private), *map(str, workspace.hidden)],
            "report": str(workspace.private / "isolation.json"),
        }
        path = workspace.private / "spec.json"
        path.write_text(json.dumps(spec))
        if uid is not None:
            for folder in (workspace.outputs, workspace.tmp):
                os.chown(folder, uid, uid)
        return path

    def _run(self, command, workspace, uid, evaluate) -> Outcome:
        limits = self.limits
        spec = self._spec(command, workspace, uid)
        started = time.monotonic()
        proc = subprocess.Popen(
            [sys.executable, "-I", "-S", str(HERE / "_launch.py"), str(spec)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
            env={"PATH": os.environ.get("PATH", "/usr/bin:/bin")},
        )
        captures = [OutputCapture(s, limits.output_kb * 1024) for s in (proc.stdout, proc.stderr)]
        for capture in captures:
            capture.start()
        known: dict = {}
        cpu: dict[int, float] = {}
        stopped, peak_mb, next_disk = None, 0.0, 0.0
        while proc.poll() is None:
            elapsed = time.monotonic() - started
            if elapsed > limits.time_s:
                stopped = (OutcomeStatus.TIMEOUT, f"the wall-clock limit of {limits.time_s:g}s")
                break
            rss = usage(processes_of(uid, proc.pid, known), cpu)
            peak_mb = max(peak_mb, rss)
            if rss > limits.memory_mb:
                stopped = (OutcomeStatus.OOM, f"{rss:.0f} MB resident, over {limits.memory_mb} MB")
                break
            if elapsed >= next_disk:  # a page-cache writer adds ~1 GB a second
                next_disk = elapsed + DISK_CHECK_S
                used = folder_mb(workspace.work, limits.disk_mb)
                if used > limits.disk_mb:
                    stopped = (
                        OutcomeStatus.KILLED,
                        f"{used:.0f} MB written in the working copy, over {limits.disk_mb} MB",
                    )
                    break
            time.sleep(0.05)
        # past the disk limit there is nothing to let finish: every moment of grace is
        # more written
        full = stopped is not None and stopped[0] is OutcomeStatus.KILLED
        end_all(proc, uid, known, 0.0 if full else limits.grace_s)
        wall_s = time.monotonic() - started
        for capture in captures:
            capture.join(10)
        out, err = (c.text() for c in captures)
        status, reason = classify(proc.returncode, stopped, err[-4000:])
        metrics: dict = {}
        if status is OutcomeStatus.OK and evaluate is not None:
            try:  # the program is gone: nothing can change its outputs while they are read
                metrics = dict(evaluate(workspace.outputs))
            except InvalidOutput as exc:
                status, reason = OutcomeStatus.INVALID_OUTPUT, str(exc)
        outcome = Outcome(
            status=status,
            returncode=proc.returncode,
            wall_s=wall_s,
            cpu_s=sum(cpu.values()),
            peak_memory_mb=peak_mb,
            stdout=out,
            stderr=err,
            stdout_bytes=captures[0].n_bytes,
            stderr_bytes=captures[1].n_bytes,
            metrics=metrics,
            reason=reason,
            isolation=self._isolation(workspace),
            workdir=str(workspace.work),
        )
        outcome.save(workspace.private / "outcome.json")
        return outcome

    def _isolation(self, workspace: Workspace) -> dict:
        """What the launcher managed; a missing wall is said once per process, loudly."""
        path = workspace.private / "isolation.json"
        facts = json.loads(path.read_text()) if path.exists() else {"network": "unknown"}
        missing = []
        if not self.network and facts.get("network") != "namespace":
            missing.append("network namespace (only the audit hook refuses connections)")
        if self.own_uid and facts.get("mounts") != "private":
            missing.append("private mounts")
        if not self.own_uid:
            missing.append("own uid (not root: limits on processes are shared with this user)")
        for what in missing:
            if what not in _warned:
                _warned.add(what)
                logger.warning("SANDBOX: running without %s; see docs/sandbox.md", what)
        facts["missing"] = missing
        return facts
