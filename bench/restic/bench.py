"""restic mover benchmark: the entrypoint against bare `restic backup` with the same flags.

Called by run.sh: bench.py --bin BIN --tools DIR --work WORK [--files N] [--runs R]. CPU is
user+sys of the process tree of a run (RUSAGE_CHILDREN: restic is reaped by the entrypoint,
which this script reaps). Peak RSS is sampled from /proc (the entrypoint and its children)
every 20 ms; the kernel's ru_maxrss (largest single process) is reported too.
"""
import os.path as _p
import sys as _sys
_sys.path.insert(0, _p.join(_p.dirname(_p.abspath(__file__)), ".."))

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import threading
import time
from benchutil import cpu  # noqa: E402

p = argparse.ArgumentParser()
p.add_argument("--bin", required=True)
p.add_argument("--tools", required=True)
p.add_argument("--work", required=True)
p.add_argument("--files", type=int, default=100000)
p.add_argument("--runs", type=int, default=3)
A = p.parse_args()
W = A.work
RESTIC = os.path.join(A.tools, "restic")
PASSWORD = "bench-password"
TREE = os.path.join(W, "tree")
# What the entrypoint runs for its backup (images/restic: NewRestic, backup).
BACKUP = ["--json", "backup", "--host", "volsync", "--exclude", "lost+found", "."]


def log(msg):
    print("bench: " + msg, file=sys.stderr, flush=True)


def env(repo, cache):
    return {"PATH": A.tools + ":/usr/bin:/bin", "RESTIC_REPOSITORY": repo, "RESTIC_PASSWORD": PASSWORD,
            "RESTIC_CACHE_DIR": cache, "RESTIC_PROGRESS_FPS": "0.1", "TMPDIR": W}


def make_tree():
    """N files of 0.5-2.5 KiB of random data in 100 directories."""
    per = max(1, A.files // 100)
    for d in range(100):
        dd = os.path.join(TREE, f"d{d:03}")
        os.makedirs(dd)
        for i in range(per):
            with open(os.path.join(dd, f"f{i:05}"), "wb") as f:
                f.write(os.urandom(512 + (i * 37) % 2048))


def fresh(name):
    """A new initialised repository and an empty cache."""
    repo, cache = os.path.join(W, name + "-repo"), os.path.join(W, name + "-cache")
    for d in (repo, cache):
        shutil.rmtree(d, ignore_errors=True)
    os.makedirs(cache)
    subprocess.run([RESTIC, "init"], env=env(repo, cache), check=True, stdout=subprocess.DEVNULL)
    return repo, cache


def tree_rss(pid):
    """Resident set of pid and its descendants, in KiB."""
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        try:
            with open(f"/proc/{p}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
            with open(f"/proc/{p}/task/{p}/children") as f:
                todo += [int(c) for c in f.read().split()]
        except OSError:
            pass
    return total


def timed(argv, e, cwd=None):
    """Runs argv; returns wall seconds, CPU seconds, peak tree RSS (KiB)."""
    c0, t0 = cpu(), time.monotonic()
    proc = subprocess.Popen(argv, env=e, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    peak = [0]

    def sample():
        while proc.poll() is None:
            peak[0] = max(peak[0], tree_rss(proc.pid))
            time.sleep(0.02)
    th = threading.Thread(target=sample)
    th.start()
    _, err = proc.communicate()
    th.join()
    if proc.returncode != 0:
        sys.exit(f"{argv[0]} failed ({proc.returncode}): {err.decode()[-2000:]}")
    return time.monotonic() - t0, cpu() - c0, peak[0]


def bare(repo, cache):
    return timed([RESTIC, "--cache-dir", cache] + BACKUP, env(repo, cache), cwd=TREE)


def entry(repo, cache):
    e = env(repo, cache)
    e.update({"DATA_DIR": TREE, "FORGET_OPTIONS": "", "TERMINATION_LOG": os.path.join(W, "result")})
    return timed([A.bin, "backup"], e)


def report(title, rows):
    print(f"\n### {title}\n")
    print("| run | wall s (median) | CPU s (median) | peak RSS of the tree MiB (max) |")
    print("|---|---|---|---|")
    med = {}
    for name, res in rows.items():
        med[name] = statistics.median(r[0] for r in res)
        print(f"| {name} | {med[name]:.2f} ({', '.join(f'{r[0]:.2f}' for r in res)}) | "
              f"{statistics.median(r[1] for r in res):.2f} | {max(r[2] for r in res) / 1024:.0f} |")
    print(f"\nentrypoint / bare wall: {med['entrypoint'] / med['bare restic']:.3f}")


log(f"making {A.files} files")
make_tree()
initial = {"bare restic": [], "entrypoint": []}
for run in range(A.runs):
    for name, fn in (("bare restic", bare), ("entrypoint", entry)):
        repo, cache = fresh(name.split()[0])
        log(f"initial backup {run + 1}/{A.runs}: {name}")
        initial[name].append(fn(repo, cache))
report(f"Initial backup of {A.files} files (new repository)", initial)

nochange = {"bare restic": [], "entrypoint": []}
repos = {"bare restic": (os.path.join(W, "bare-repo"), os.path.join(W, "bare-cache")),
         "entrypoint": (os.path.join(W, "entrypoint-repo"), os.path.join(W, "entrypoint-cache"))}
for run in range(A.runs):
    for name, fn in (("bare restic", bare), ("entrypoint", entry)):
        log(f"no-change backup {run + 1}/{A.runs}: {name}")
        nochange[name].append(fn(*repos[name]))
report(f"No-change incremental backup of {A.files} files", nochange)
print(f"\nru_maxrss (largest single process of all runs): "
      f"{resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024:.0f} MiB")
