"""Starts an mpirun command and waits for it to end, at most TIMEOUT seconds;
with `--kill RANK`, first waits until its standard output shows a logged
training step and kills that rank with SIGKILL. Prints the launch's exit
status, whether it ended in time, how many of its processes are left, and
its standard error.

  watch_launch.py [--kill RANK] TIMEOUT mpirun ... moe-run ...
"""

import os
import signal
import subprocess
import sys
import time


def descendants(root):
    children = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(entry))
    found, todo = [], [root]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def world_rank(pid):
    try:
        with open(f"/proc/{pid}/environ", "rb") as f:
            for item in f.read().split(b"\0"):
                if item.startswith(b"OMPI_COMM_WORLD_RANK="):
                    return int(item.split(b"=", 1)[1])
    except OSError:
        pass
    return None


def alive(pid):
    """Whether `pid` still runs (a zombie has ended)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def main():
    args = sys.argv[1:]
    rank = None
    if args[0] == "--kill":
        rank, args = int(args[1]), args[2:]
    limit, command = float(args[0]), args[1:]
    launch = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    # The ranks, once training has started (or the launch has ended).
    for line in launch.stdout:
        if line.startswith(b"Step "):
            break
    ranks = [p for p in descendants(launch.pid) if world_rank(p) is not None]
    if rank is not None:
        victims = [p for p in ranks if world_rank(p) == rank]
        if not victims:
            sys.exit(f"no process of rank {rank} under mpirun")
        os.kill(victims[0], signal.SIGKILL)
    started = time.monotonic()
    try:
        _, err = launch.communicate(timeout=limit)
        ended = f"within {limit:g} s"
    except subprocess.TimeoutExpired:
        launch.kill()
        _, err = launch.communicate()
        ended = f"after more than {limit:g} s"
    print(f"exit status {launch.returncode}, ended {ended}")
    print(f"{sum(alive(p) for p in ranks)} processes left "
          f"({time.monotonic() - started:.1f} s after the kill or start)")
    sys.stdout.write(err.decode(errors="replace"))


if __name__ == "__main__":
    main()
