"""Helpers the mover benchmarks share (bench/rsync-tls/nochange.py, bench/rsync/bench.py)."""
import resource
import socket
import sys
import time


def cpu():
    """User+sys CPU seconds of every child process reaped so far (RUSAGE_CHILDREN)."""
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def free_port():
    """A TCP port free on loopback right now."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_until(cond, timeout, what):
    """Polls cond every 20 ms; exits with a message after timeout seconds."""
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            sys.exit("timeout waiting for " + what)
        time.sleep(0.02)
