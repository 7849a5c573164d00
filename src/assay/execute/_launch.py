"""The sandbox launcher: a fresh process that walls itself in, then becomes the program.

Run as `python -I -S _launch.py SPEC.json` by `Sandbox.run`; standard library only, so it
starts fast and imports nothing the program could have touched. In order:

1. a new network namespace (only a downed loopback: nothing to connect to, 127.0.0.1
   included); as root directly, otherwise inside a new user namespace;
2. as root, a new mount namespace: private, size-capped tmpfs over /tmp, /var/tmp and
   /dev/shm; an empty tmpfs over every hidden path (the labels are not there to read); a
   tmpfs over any directory the program's user could not traverse anyway (such as /root),
   with only the paths it needs (interpreter, working copy) bound back;
3. resource limits with soft = hard, so the program cannot raise them;
4. no-new-privileges, and as root a switch to the run's own unprivileged uid and gid (which
   makes the process limit real: it counts that uid's processes only);
5. exec of the program, in the same process (its pid, session and process group).

What worked is written to the spec's `report` file before privileges are dropped."""

import ctypes
import json
import os
import resource
import stat
import sys

CLONE_NEWNS = 0x00020000
CLONE_NEWUSER = 0x10000000
CLONE_NEWNET = 0x40000000
MS_RDONLY = 0x1
MS_NOSUID = 0x2
MS_NODEV = 0x4
MS_BIND = 0x1000
MS_REC = 0x4000
MS_PRIVATE = 0x40000
PR_SET_NO_NEW_PRIVS = 38
PRIVATE_DIRS = ("/tmp", "/var/tmp", "/dev/shm")
_libc = ctypes.CDLL(None, use_errno=True)


def _check(result, what):
    if result != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"{what}: {os.strerror(errno)}")


def _unshare(flags):
    _check(_libc.unshare(flags), "unshare")


def _mount(source, target, fstype, flags, data=None):
    _check(
        _libc.mount(
            None if source is None else source.encode(),
            target.encode(),
            None if fstype is None else fstype.encode(),
            ctypes.c_ulong(flags),
            None if data is None else data.encode(),
        ),
        f"mount {target}",
    )


def _isolate_network(facts):
    try:
        _unshare(CLONE_NEWNET if os.geteuid() == 0 else CLONE_NEWUSER | CLONE_NEWNET)
        facts["network"] = "namespace"
    except OSError as exc:
        facts["network"] = "none"
        facts["network_error"] = str(exc)


def _traversable_by_others(path):
    mode = os.stat(path).st_mode
    return bool(mode & stat.S_IXOTH)


def _blocking_ancestor(path):
    """The top-most ancestor of `path` that others cannot enter, or None."""
    parts = os.path.abspath(path).split(os.sep)[1:]
    current = ""
    for part in parts[:-1]:
        current += os.sep + part
        if os.path.isdir(current) and not _traversable_by_others(current):
            return current
    return None


def _overmount(directory, keep, mode, size_mb):
    """A fresh tmpfs over `directory`, with each path in `keep` (below it) bound back."""
    fds = []
    for path in keep:
        fds.append((path, os.open(path, os.O_PATH), os.path.isdir(path)))
    _mount("tmpfs", directory, "tmpfs", MS_NOSUID | MS_NODEV, f"size={size_mb}m,mode={mode}")
    for path, fd, is_dir in fds:
        parent = os.path.dirname(path)
        os.makedirs(parent, mode=0o755, exist_ok=True)
        if is_dir:
            os.makedirs(path, exist_ok=True)
        else:
            open(path, "a").close()
        _mount(f"/proc/self/fd/{fd}", path, None, MS_BIND | MS_REC)
        os.close(fd)


def _outermost(paths):
    """Paths not inside another of them (binding a path inside a bound one would write
    mount points into the real directory)."""
    paths = sorted(set(paths))
    return [p for p in paths if not any(p.startswith(q + os.sep) for q in paths if q != p)]


def _isolate_files(spec, facts):
    """Private mounts (root only): nothing outside the working copy can be written, hidden
    paths read as empty directories, world-writable scratch space is private and small."""
    _unshare(CLONE_NEWNS)
    _mount(None, "/", None, MS_REC | MS_PRIVATE)
    expose = _outermost(os.path.realpath(p) for p in spec["expose"] if os.path.exists(p))
    for directory in PRIVATE_DIRS:
        if os.path.isdir(directory) and not os.path.islink(directory):
            keep = [p for p in expose if p.startswith(directory + os.sep)]
            _overmount(directory, keep, "1777", spec["private_tmp_mb"])
    rest = [p for p in expose if not p.startswith(tuple(d + os.sep for d in PRIVATE_DIRS))]
    blocked = sorted({a for p in rest if (a := _blocking_ancestor(p)) is not None})
    for directory in _outermost(blocked):
        _overmount(directory, [p for p in rest if p.startswith(directory + os.sep)], "755", 1)
    for path in spec["hide"]:
        path = os.path.realpath(path)
        if os.path.isdir(path):
            _mount("tmpfs", path, "tmpfs", MS_NOSUID | MS_NODEV | MS_RDONLY, "size=4k,mode=000")
        elif os.path.exists(path):
            _mount("/dev/null", path, None, MS_BIND)
    facts["mounts"] = "private"
    facts["overmounted"] = [*PRIVATE_DIRS, *blocked]


def _limit(spec):
    for name, value in spec["rlimits"].items():
        soft, hard = value if isinstance(value, list) else (value, value)
        resource.setrlimit(getattr(resource, f"RLIMIT_{name}"), (soft, hard))


def main(spec_path):
    with open(spec_path) as handle:
        spec = json.load(handle)
    facts = {"network": "allowed", "mounts": "shared", "uid": os.geteuid()}
    # opened now: the private mounts below hide the folder it is in
    report = os.open(spec["report"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
    if spec["network"] == "isolate":
        _isolate_network(facts)
    if os.geteuid() == 0 and spec["uid"] is not None:
        try:
            _isolate_files(spec, facts)
        except OSError as exc:
            facts["mounts"] = "shared"
            facts["mounts_error"] = str(exc)
    _limit(spec)
    _check(_libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "prctl(no_new_privs)")
    if os.geteuid() == 0 and spec["uid"] is not None:
        facts["uid"] = spec["uid"]
    os.write(report, json.dumps(facts).encode())
    os.close(report)
    if os.geteuid() == 0 and spec["uid"] is not None:
        os.setgroups([])
        os.setgid(spec["uid"])
        os.setuid(spec["uid"])
    os.chdir(spec["cwd"])
    os.execve(spec["argv"][0], spec["argv"], spec["env"])


if __name__ == "__main__":
    try:
        main(sys.argv[1])
    except BaseException as exc:  # exec failed or a wall could not be built: never run unwalled
        sys.stderr.write(f"assay sandbox launcher: {type(exc).__name__}: {exc}\n")
        os._exit(125)
