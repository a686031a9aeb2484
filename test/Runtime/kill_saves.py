"""SIGKILL at random moments of saves (within 30 ms of a staging directory
appearing) of training runs that save a checkpoint every step, over the
same directory, until WANTED kills have landed inside a save (a staging or
set-aside directory is left on disk) and WANTED checkpoints were loaded
after a kill, or MAX kills were made;
after each kill the latest checkpoint must load (moe-run --load ...
evaluates it). Every other run resumes and saves again the iteration it
resumed at, so that kills also land while an existing iteration is
replaced. Iterations older than the latest, and the staging directories
of killed saves, are removed between runs.

  kill_saves.py WANTED MAX PLAN DATA DIR
Prints the counts; fails when a checkpoint does not load, or when fewer
than WANTED kills landed inside a save or found a checkpoint to load.
"""

import glob
import os
import random
import shutil
import subprocess
import sys
import time


def latest(directory):
    try:
        with open(os.path.join(directory, "latest_checkpointed_iteration.txt")) as f:
            return int(f.read())
    except FileNotFoundError:
        return None


def staged(directory):
    """The iterations whose saves are being written (iter_N.tmp)."""
    try:
        names = os.listdir(directory)
    except FileNotFoundError:
        return []
    return [int(name[5:-4]) for name in names
            if name.startswith("iter_") and name.endswith(".tmp")]


def main():
    wanted, most = int(sys.argv[1]), int(sys.argv[2])
    plan, data, directory = sys.argv[3:6]
    rng = random.Random(1234)
    common = [plan, "--data", data, "--eval-interval", "0", "--log-interval", "1000"]
    interrupted = checked = trials = 0
    while (interrupted < wanted or checked < wanted) and trials < most:
        trial = trials
        trials += 1
        before = latest(directory)
        # Older iterations, and the staging of saves killed before, go; a
        # set-aside copy (.old) may be the only one of its iteration.
        for old in glob.glob(os.path.join(directory, "iter_*")):
            stale = before is not None and not old.startswith(
                os.path.join(directory, "iter_%07d" % before))
            if (stale or old.endswith(".tmp")) and not old.endswith(".old"):
                shutil.rmtree(old)
        for old in glob.glob(os.path.join(directory, "*.txt.tmp")):
            os.remove(old)  # the tracker's, from a kill while it was written
        aside = set(glob.glob(os.path.join(directory, "*.old")))
        resaving = before is not None and trial % 2 == 1
        if resaving:
            # Resumed at its last step: it saves that iteration again.
            args = ["--resume", "--train-iters", str(before)]
        else:
            args = ["--resume", "--train-iters", "100000", "--save-interval", "1"]
        run = subprocess.Popen(["moe-run", *common, "--save", directory, *args],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        # Aim at saves whatever the start-up takes (a sanitizer build is
        # slow to start): wait for the staging directory of the save of
        # iteration `target` or later, then kill within the next 30 ms,
        # inside that save or just after it. A training run gets 0 to 2
        # saves through first, so that checkpoints also complete on a
        # loaded machine.
        if resaving:
            target = before
        else:
            target = (before or 0) + 1 + rng.randint(0, 2)
        deadline = time.monotonic() + 60
        while (run.poll() is None and time.monotonic() < deadline
               and max(staged(directory), default=-1) < target):
            time.sleep(0.002)
        time.sleep(rng.uniform(0.0, 0.03))
        run.kill()
        _, err = run.communicate()
        if run.returncode not in (0, -9):
            sys.exit(f"trial {trial}: moe-run failed: {err.decode()}")
        if glob.glob(os.path.join(directory, "iter_*.tmp")) or (
                set(glob.glob(os.path.join(directory, "*.old"))) - aside):
            interrupted += 1
        if latest(directory) is None:
            continue
        check = subprocess.run(["moe-run", *common[:3], "--load", directory,
                                "--eval-iters", "1"], capture_output=True, text=True)
        if check.returncode != 0:
            sys.exit(f"trial {trial}: the latest checkpoint does not load:\n"
                     + check.stderr)
        checked += 1
    print(f"{interrupted} kills inside a save of {trials}, {checked} checkpoints loaded")
    if interrupted < wanted or checked < wanted:
        sys.exit(f"only {interrupted} of {trials} kills landed inside a save, "
                 f"and {checked} checkpoints were there to load")


if __name__ == "__main__":
    main()
