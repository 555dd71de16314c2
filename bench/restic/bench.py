"""restic mover benchmark: the entrypoint against bare `restic backup` with the same flags.

Called by run.sh: bench.py --bin BIN --tools DIR --work WORK [--files N] [--runs R]. CPU is
user+sys of the process tree of a run (RUSAGE_CHILDREN: restic is reaped by the entrypoint,
which this script reaps). Memory is sampled from /proc every 20 ms over the whole process tree
(the entrypoint and its restic children, found by their parent PIDs): the peak of the tree's
summed RSS, and each process's own peak (VmHWM); the kernel's ru_maxrss (largest single process)
is reported too.
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


def descendants(pid):
    """pid and every process below it (from the parent of each process in /proc: a Go
    program's children hang off any of its threads, not only the main one)."""
    kids = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as f:
                st = f.read()
        except OSError:
            continue
        ppid = int(st[st.rindex(")") + 2:].split()[1])
        kids.setdefault(ppid, []).append(int(name))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo += kids.get(p, [])
    return out


TICK = os.sysconf("SC_CLK_TCK")


def status(pid):
    """Name, VmRSS and VmHWM (KiB) and CPU seconds of pid; None when it is gone (or a zombie)."""
    name, rss, hwm = "", None, None
    try:
        with open(f"/proc/{pid}/stat") as f:
            st = f.read()
        utime, stime = st[st.rindex(")") + 2:].split()[11:13]
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("Name:"):
                    name = line.split()[1]
                elif line.startswith("VmRSS:"):
                    rss = int(line.split()[1])
                elif line.startswith("VmHWM:"):
                    hwm = int(line.split()[1])
    except OSError:
        return None
    return None if rss is None else (name, rss, hwm, (int(utime) + int(stime)) / TICK)


class Sampler:
    """Samples the process tree of proc every 20 ms until it ends (its members found every
    100 ms): the peak of the summed RSS of the tree, and each process's own peak (VmHWM, the
    kernel's high-water mark), by name."""

    def __init__(self, proc):
        self.proc, self.tree_peak, self.hwm, self.cpu = proc, 0, {}, {}
        self.thread = threading.Thread(target=self.run)
        self.thread.start()

    def run(self):
        tree, n = [], 0
        while self.proc.poll() is None:
            if n % 5 == 0:  # the tree from /proc every 100 ms, its processes' status every 20 ms
                tree = descendants(self.proc.pid)
            n, total = n + 1, 0
            for p in tree:
                st = status(p)
                if st is None:
                    continue
                name, rss, hwm, cpu_s = st
                total += rss
                self.hwm[name] = max(self.hwm.get(name, 0), hwm)
                self.cpu[p] = (name, cpu_s)
            self.tree_peak = max(self.tree_peak, total)
            time.sleep(0.02)

    def join(self):
        """The tree's peak RSS, {name: peak VmHWM} and {name: CPU seconds (as last sampled)}."""
        self.thread.join()
        cpu_s = {}
        for name, c in self.cpu.values():
            cpu_s[name] = cpu_s.get(name, 0) + c
        return self.tree_peak, self.hwm, cpu_s


def timed(argv, e, cwd=None):
    """Runs argv; returns wall seconds, CPU seconds, peak tree RSS (KiB), VmHWM (KiB) and
    sampled CPU seconds by process name."""
    os.sync()  # the previous run's repository writes are not flushed during this one
    c0, t0 = cpu(), time.monotonic()
    proc = subprocess.Popen(argv, env=e, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    sampler = Sampler(proc)
    _, err = proc.communicate()
    peak, hwm, own = sampler.join()
    if proc.returncode != 0:
        sys.exit(f"{argv[0]} failed ({proc.returncode}): {err.decode()[-2000:]}")
    return time.monotonic() - t0, cpu() - c0, peak, hwm, own


def bare(repo, cache):
    return timed([RESTIC, "--cache-dir", cache] + BACKUP, env(repo, cache), cwd=TREE)


def entry(repo, cache):
    e = env(repo, cache)
    e.update({"DATA_DIR": TREE, "FORGET_OPTIONS": "", "TERMINATION_LOG": os.path.join(W, "result")})
    return timed([A.bin, "backup"], e)


def report(title, rows):
    print(f"\n### {title}\n")
    print("| run | wall s (median) | CPU s (median) | peak RSS of the process tree MiB (max) | "
          "by process: peak RSS (VmHWM) MiB (max), CPU s (median, sampled) |")
    print("|---|---|---|---|---|")
    med = {}
    for name, res in rows.items():
        med[name] = statistics.median(r[0] for r in res)
        procs = sorted({p for r in res for p in r[3]})
        per = ", ".join(f"{p} {max(r[3].get(p, 0) for r in res) / 1024:.0f} MiB "
                        f"{statistics.median(r[4].get(p, 0) for r in res):.2f} s" for p in procs)
        print(f"| {name} | {med[name]:.2f} ({', '.join(f'{r[0]:.2f}' for r in res)}) | "
              f"{statistics.median(r[1] for r in res):.2f} | {max(r[2] for r in res) / 1024:.0f} | {per} |")
    print(f"\nentrypoint / bare wall: {med['entrypoint'] / med['bare restic']:.3f}")


log(f"making {A.files} files")
make_tree()
initial = {"bare restic": [], "entrypoint": []}

def order(run):
    """Both, the first one alternating from run to run."""
    both = (("bare restic", bare), ("entrypoint", entry))
    return both if run % 2 == 0 else both[::-1]


for run in range(A.runs):
    for name, fn in order(run):
        repo, cache = fresh(name.split()[0])
        log(f"initial backup {run + 1}/{A.runs}: {name}")
        initial[name].append(fn(repo, cache))
report(f"Initial backup of {A.files} files (new repository)", initial)

nochange = {"bare restic": [], "entrypoint": []}
repos = {"bare restic": (os.path.join(W, "bare-repo"), os.path.join(W, "bare-cache")),
         "entrypoint": (os.path.join(W, "entrypoint-repo"), os.path.join(W, "entrypoint-cache"))}
for run in range(A.runs):
    for name, fn in order(run):
        log(f"no-change backup {run + 1}/{A.runs}: {name}")
        nochange[name].append(fn(*repos[name]))
report(f"No-change incremental backup of {A.files} files", nochange)
print(f"\nru_maxrss (largest single process of all runs): "
      f"{resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024:.0f} MiB")
