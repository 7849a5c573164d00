"""The second wall inside a sandboxed Python program: an audit hook (PEP 578), installed
before the program's first line, that refuses network connections, writes outside the
program's output and scratch folders, reads of hidden paths, and signals to processes
outside its own process group.

Run as `python -I _boot.py POLICY.json SCRIPT [ARGS...]`. The namespaces and file
permissions set up by the launcher are the first wall; this one still holds where those are
not available (no root, no namespaces), and it names what was refused. A program can
defeat an audit hook with ctypes; it cannot defeat the first wall that way."""

import json
import os
import runpy
import socket
import sys

_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC
_NETWORK = ("socket.connect", "socket.bind", "socket.sendto", "socket.sendmsg")
_PATH_EVENTS = {
    "os.remove": 0,
    "os.rename": 0,
    "os.replace": 0,
    "os.rmdir": 0,
    "os.mkdir": 0,
    "os.symlink": 1,
    "os.link": 1,
    "os.chmod": 0,
    "os.chown": 0,
    "os.truncate": 0,
    "os.utime": 0,
    "shutil.rmtree": 0,
    "shutil.copyfile": 1,
    "shutil.move": 1,
}


def _under(path, roots):
    return any(path == r or path.startswith(r + os.sep) for r in roots)


def install(policy):
    writable = [os.path.realpath(p) for p in policy["writable"]]
    hidden = [os.path.realpath(p) for p in policy["hidden"]]
    own_group = os.getpgrp()
    network = bool(policy.get("network", False))

    def resolve(path):
        if isinstance(path, int):
            return None  # a file descriptor: already opened through this hook
        if isinstance(path, bytes):
            path = os.fsdecode(path)
        return os.path.realpath(os.fspath(path))

    def refuse(what):
        raise PermissionError(f"assay sandbox: {what} is not allowed")

    def hook(event, args):
        if event in _NETWORK and not network:
            sock = args[0]
            if isinstance(sock, socket.socket) and sock.family in (socket.AF_INET, socket.AF_INET6):
                refuse(f"network access ({event} {args[1]!r})")
        elif event == "open":
            path = resolve(args[0])
            if path is None:
                return
            mode, flags = args[1], args[2]
            writing = (isinstance(mode, str) and any(c in mode for c in "wax+")) or (
                isinstance(flags, int) and flags & _WRITE_FLAGS
            )
            if _under(path, hidden):
                refuse(f"reading {path}")
            if writing and not _under(path, writable):
                refuse(f"writing {path} (write under {writable[0]})")
        elif event in _PATH_EVENTS:
            path = resolve(args[_PATH_EVENTS[event]])
            if path is not None and not _under(path, writable):
                refuse(f"{event} on {path}")
        elif event == "os.kill":
            pid = args[0]
            try:
                outside = os.getpgid(pid) != own_group if pid > 0 else pid not in (0, -own_group)
            except ProcessLookupError:
                return
            if outside:
                refuse(f"signalling process {pid} outside the sandbox")

    sys.addaudithook(hook)


def main():
    with open(sys.argv[1]) as handle:
        policy = json.load(handle)
    script = sys.argv[2]
    sys.argv = sys.argv[2:]
    sys.path.insert(0, os.path.dirname(os.path.abspath(script)))
    install(policy)
    runpy.run_path(script, run_name="__main__")


if __name__ == "__main__":
    main()
