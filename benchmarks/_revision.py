"""The source of a revision of assay, to run beside the current one: an earlier commit is
extracted with `git archive` into a folder of the caller's, and put first on PYTHONPATH."""

from __future__ import annotations

import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def source(revision: str | None, work: Path) -> tuple[str, str]:
    """(PYTHONPATH entry holding that revision's `assay`, its short commit); None: the
    current source, its commit marked "-dirty" when src/ has uncommitted changes."""

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()

    if revision is None:
        dirty = "-dirty" if git("status", "--porcelain", "--", "src") else ""
        return str(ROOT / "src"), git("rev-parse", "--short=10", "HEAD") + dirty
    commit = git("rev-parse", "--short=10", revision)
    folder = work / f"src_{commit}"
    if not (folder / "src" / "assay").is_dir():
        folder.mkdir(parents=True, exist_ok=True)
        archive = subprocess.run(
            ["git", "archive", commit, "src"], cwd=ROOT, capture_output=True, check=True
        ).stdout
        subprocess.run(["tar", "-x", "-C", str(folder)], input=archive, check=True)
    return str(folder / "src"), commit
