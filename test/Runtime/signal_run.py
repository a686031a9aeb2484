"""Runs a command, and once a line of its standard output matches PATTERN
sends it SIGNAL (INT or TERM); echoes its output and prints its exit status.
Fails if it runs past TIMEOUT seconds.

  signal_run.py SIGNAL PATTERN TIMEOUT command ...
"""

import re
import signal
import subprocess
import sys
import threading


def main():
    name, pattern, timeout = sys.argv[1], re.compile(sys.argv[2]), float(sys.argv[3])
    process = subprocess.Popen(sys.argv[4:], stdout=subprocess.PIPE, text=True)
    timer = threading.Timer(timeout, process.kill)
    timer.start()
    sent = False
    for line in process.stdout:
        sys.stdout.write(line)
        if not sent and pattern.search(line):
            process.send_signal(getattr(signal, "SIG" + name))
            sent = True
            print(f"-- sent SIG{name}")
    status = process.wait()
    timer.cancel()
    if not timer.is_alive() and status == -signal.SIGKILL:
        sys.exit(f"timed out after {timeout} s")
    print(f"exit status {status}")


if __name__ == "__main__":
    main()
