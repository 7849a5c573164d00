"""The research workspace as a git repository, driven through the `git` command.

Every experiment is a commit on the `research` branch, marked by an `Assay-Experiment: N`
trailer and pinned by `refs/experiments/N`, so a discarded experiment's code stays
reachable (and checkable) after the branch moves back to the best commit. Commits carry a
fixed identity given with `-c`, so no global git configuration is needed.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from assay.errors import ResearchError
from assay.log import get_logger

logger = get_logger(__name__)

BRANCH = "research"
POINTER = ".assay-research.json"
PIPELINE = "pipeline.py"
PROGRAM = "program.md"
TRAILER = "Assay-Experiment"
EXPERIMENT_REFS = "refs/experiments/"
PENDING = "assay-pending"
_GIT_CONFIG = (
    "-c",
    "user.name=assay research",
    "-c",
    "user.email=research@assay.invalid",
    "-c",
    "commit.gpgsign=false",
    "-c",
    "core.hooksPath=/dev/null",  # a user's hooks must not run inside the loop
    "-c",
    "advice.detachedHead=false",
)


class Repo:
    """A git working tree (the workspace itself or one of its worktrees)."""

    def __init__(self, path: str | Path):
        self.path = Path(path).resolve()

    def _run(self, args: tuple[str, ...]) -> subprocess.CompletedProcess:
        try:
            return subprocess.run(
                ["git", *_GIT_CONFIG, *args],
                cwd=self.path,
                capture_output=True,
                text=True,
                env={**os.environ, "GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C"},
            )
        except FileNotFoundError as exc:
            raise ResearchError("research workspaces need the `git` command: install git") from exc

    def git(self, *args: str) -> str:
        """Run git here; its output, or ResearchError with git's message."""
        done = self._run(args)
        if done.returncode != 0:
            why = done.stderr.strip() or done.stdout.strip()
            raise ResearchError(f"git {' '.join(args)} failed in {self.path}: {why}")
        return done.stdout.strip()

    def ok(self, *args: str) -> bool:
        """Whether a git command succeeds (for questions such as --is-ancestor)."""
        return self._run(args).returncode == 0

    @classmethod
    def init(cls, path: Path) -> Repo:
        path.mkdir(parents=True, exist_ok=True)
        repo = cls(path)
        repo.git("init", "-q", "-b", BRANCH)
        return repo

    # -- reading ----------------------------------------------------------------------------
    def head(self) -> str:
        return self.git("rev-parse", "HEAD")

    def branch(self) -> str:
        return self.git("rev-parse", "--abbrev-ref", "HEAD")

    def has_commit(self, commit: str | None) -> bool:
        return bool(commit) and self.ok("cat-file", "-e", f"{commit}^{{commit}}")

    def is_ancestor(self, older: str, newer: str) -> bool:
        return self.ok("merge-base", "--is-ancestor", older, newer)

    def commits_between(self, older: str, newer: str) -> list[str]:
        """Commits reachable from `newer` but not `older`, oldest first."""
        out = self.git("rev-list", "--reverse", f"{older}..{newer}")
        return out.split() if out else []

    def parent(self, commit: str) -> str | None:
        out = self.git("rev-list", "--parents", "-n", "1", commit).split()
        return out[1] if len(out) > 1 else None

    def experiment_of(self, commit: str) -> int | None:
        """The experiment number in a commit's trailer; None for other commits."""
        message = self.git("log", "-1", "--format=%B", commit)
        match = re.search(rf"^{TRAILER}: (\d+)\s*$", message, re.M)
        return int(match.group(1)) if match else None

    def show(self, commit: str, path: str = PIPELINE) -> str:
        return self.git("show", f"{commit}:{path}") + "\n"

    def is_dirty(self, path: str = PIPELINE) -> bool:
        return bool(self.git("status", "--porcelain", "--", path))

    # -- writing ----------------------------------------------------------------------------
    @property
    def pending_marker(self) -> Path:
        """Present while the loop writes, commits or resets pipeline.py: an uncommitted edit found
        with it is the loop's own (killed mid-way), without it a person's."""
        return Path(self.git("rev-parse", "--absolute-git-dir")) / PENDING

    @contextmanager
    def _pending(self, what: str) -> Iterator[None]:
        """The pending marker around a change of pipeline.py; left in place when the change
        stops mid-way (a kill, or git failing) for the next run to reconcile."""
        marker = self.pending_marker
        marker.write_text(what)
        yield
        marker.unlink()

    def commit_experiment(self, exp_no: int, text: str, description: str) -> str:
        """Write pipeline.py, commit it with the experiment trailer, pin it by a ref."""
        with self._pending(str(exp_no)):
            (self.path / PIPELINE).write_text(text)
            self.git("add", PIPELINE)
            message = f"exp {exp_no}: {description}\n\n{TRAILER}: {exp_no}\n"
            self.git("commit", "-q", "--allow-empty", "-m", message)
            commit = self.head()
            self.git("update-ref", f"{EXPERIMENT_REFS}{exp_no}", commit)
        return commit

    def reset(self, commit: str) -> None:
        """Move the current branch (or detached HEAD) to `commit`. `--keep` leaves a user's
        uncommitted edits of other files (program.md) alone; `--hard` is the fallback. Under
        the pending marker, as a commit is: git rewrites pipeline.py before it moves the
        branch, so a kill in between leaves an edit that is the loop's own."""
        with self._pending("reset"):
            if self.is_dirty():
                self.git("checkout", "--", PIPELINE)
            if self.ok("reset", "-q", "--keep", commit) and self.head() == commit:
                return
            logger.warning(
                "git reset --keep %s failed in %s; resetting hard", commit[:10], self.path
            )
            self.git("reset", "-q", "--hard", commit)

    def experiment_refs(self) -> dict[int, str]:
        out = self.git("for-each-ref", "--format=%(refname) %(objectname)", EXPERIMENT_REFS)
        refs = {}
        for line in out.splitlines():
            name, commit = line.split()
            refs[int(name.rsplit("/", 1)[1])] = commit
        return refs

    def delete_experiment_ref(self, exp_no: int) -> None:
        self.ok("update-ref", "-d", f"{EXPERIMENT_REFS}{exp_no}")

    def remove_stale_locks(self) -> list[Path]:
        """Lock files a killed git left behind; call only while holding the run lock."""
        git_dir = self.path / ".git"
        if git_dir.is_file():  # a worktree: .git is a file naming the real folder
            git_dir = Path(self.git("rev-parse", "--git-dir")).resolve()
        stale = [p for p in git_dir.rglob("*.lock") if p.is_file()]
        for path in stale:
            path.unlink(missing_ok=True)
        if stale:
            logger.warning("removed stale git locks: %s", ", ".join(str(p) for p in stale))
        return stale


def prepare_worktrees(repo: Repo, root: Path, n: int, commit: str) -> list[Repo]:
    """`n` detached worktrees of `repo` under `root`, each at `commit`; leftovers of a
    killed run are reused or replaced."""
    repo.git("worktree", "prune")
    root.mkdir(parents=True, exist_ok=True)
    listed = repo.git("worktree", "list", "--porcelain")
    registered = {
        Path(line[9:]).resolve() for line in listed.splitlines() if line.startswith("worktree ")
    }
    slots = []
    for i in range(n):
        path = (root / f"w{i}").resolve()
        if path not in registered or not (path / ".git").exists():
            shutil.rmtree(path, ignore_errors=True)
            repo.git("worktree", "prune")
            repo.git("worktree", "add", "-q", "--detach", "-f", str(path), commit)
        slot = Repo(path)
        slot.git("reset", "-q", "--hard", commit)
        slots.append(slot)
    return slots


def remove_worktrees(repo: Repo, root: Path) -> None:
    for path in sorted(root.glob("w*")):
        if not repo.ok("worktree", "remove", "--force", str(path)):
            shutil.rmtree(path, ignore_errors=True)
    repo.ok("worktree", "prune")


def read_pointer(ws: str | Path) -> dict:
    """The workspace's `.assay-research.json`: only used to find the harness."""
    path = Path(ws) / POINTER
    if not path.is_file():
        raise ResearchError(
            f"{Path(ws)} is not a research workspace (no {POINTER}): create one with "
            "`assay research init DATA --target COL --dir WS`"
        )
    try:
        pointer = json.loads(path.read_text())
        str(pointer["research_id"]), str(pointer["harness"])
    except (ValueError, KeyError, TypeError) as exc:
        raise ResearchError(
            f"{path} is damaged ({exc}); it must name research_id and harness"
        ) from exc
    return pointer
