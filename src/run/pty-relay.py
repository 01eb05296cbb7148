#!/usr/bin/python3
"""fawkes run's terminal: ARGV runs on a new pseudo-terminal of its own, relayed to this one.

The command (an app's code, in a host) gets a terminal that is not the one fawkes was started
from, like `su --pty`: what it does to its terminal (TIOCSTI, reading it after fawkes is gone)
stays in that pseudo-terminal. While it runs this terminal is raw (^C, ^Z and ^D reach the command
as bytes), the command's follows its size, and the command's exit status is the relay's (128+N
when signal N ended it). Run by the machine's python3: relay.py ARGV...
"""

import errno
import fcntl
import os
import pty
import select
import signal
import sys
import termios
import tty

STDIN, STDOUT = 0, 1


def write_all(fd, data):
    while data:
        data = data[os.write(fd, data):]


def window_size():
    try:
        return fcntl.ioctl(STDIN, termios.TIOCGWINSZ, b"\0" * 8)
    except OSError:
        return None


def copy(master, child):
    """Both ways until the command's side closes, or the command ended and nothing is left to read.
    Returns the command's wait status when it was collected here, else None."""
    inputs = [master, STDIN]
    status = None
    while True:
        ready, _, _ = select.select(inputs, [], [], 0 if status is not None else 0.25)
        if not ready and status is not None:
            return status
        if master in ready:
            try:
                data = os.read(master, 65536)
            except OSError as e:
                if e.errno == errno.EIO:  # every end of the command's side is closed
                    return status
                raise
            if not data:
                return status
            write_all(STDOUT, data)
        if STDIN in ready:
            data = os.read(STDIN, 65536)
            if data:
                write_all(master, data)
            else:
                inputs.remove(STDIN)
        if status is None:
            done, waited = os.waitpid(child, os.WNOHANG)
            if done == child:
                status = waited


def main(argv):
    if not argv:
        sys.stderr.write("usage: pty-relay.py ARGV...\n")
        return 125
    size = window_size()
    pid, master = pty.fork()
    if pid == 0:
        if size is not None:
            fcntl.ioctl(STDIN, termios.TIOCSWINSZ, size)
        try:
            os.execvp(argv[0], argv)
        except OSError as e:
            os.write(2, f"fawkes run: {argv[0]}: {e.strerror}\n".encode())
        os._exit(127)

    def resize(*_):
        now = window_size()
        if now is not None:
            fcntl.ioctl(master, termios.TIOCSWINSZ, now)

    def leave(signum, _frame):
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGWINCH, resize)
    for s in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT, signal.SIGQUIT):
        signal.signal(s, leave)
    saved = termios.tcgetattr(STDIN)
    try:
        tty.setraw(STDIN, termios.TCSANOW)  # what was typed ahead stays, for the command
        status = copy(master, pid)
    finally:
        termios.tcsetattr(STDIN, termios.TCSADRAIN, saved)
        # Closing the master hangs up whatever of the command still holds its terminal.
        os.close(master)
    if status is None:
        _, status = os.waitpid(pid, 0)
    code = os.waitstatus_to_exitcode(status)
    return 128 - code if code < 0 else code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
