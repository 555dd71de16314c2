"""rsync (ssh) mover benchmark: the entrypoints against bare rsync over the same sshd.

Called by run.sh: bench.py --bin BIN --keys KEYS --work WORK [--files N] [--runs R]
[--skip-delta] [--skip-nochange]. CPU is user+sys of every process of a run (RUSAGE_CHILDREN:
sshd and its sessions are reaped by sshd, sshd by this script), which contention from other work
on the machine does not inflate the way it inflates wall time.
"""
import os.path as _p
import sys as _sys
_sys.path.insert(0, _p.join(_p.dirname(_p.abspath(__file__)), ".."))

import argparse
import json
import os
import random
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import time
from benchutil import cpu, free_port, wait_until  # noqa: E402

p = argparse.ArgumentParser()
p.add_argument("--bin", required=True)
p.add_argument("--keys", required=True)
p.add_argument("--work", required=True)
p.add_argument("--files", type=int, default=100000)
p.add_argument("--runs", type=int, default=3)
p.add_argument("--skip-delta", action="store_true")
p.add_argument("--skip-nochange", action="store_true")
A = p.parse_args()
W = A.work
SSHD = shutil.which("sshd") or "/usr/sbin/sshd"
# The source's options as root (images/internal/rsync.PushArgs, privileged).
FLAGS = ["--archive", "--hard-links", "--sparse", "--one-file-system", "--numeric-ids", "--delete",
         "--compress", "--stats", "--timeout=300", "--exclude=/lost+found", "--acls", "--xattrs",
         "--filter=-x system.*", "--filter=-x security.selinux"]


def log(msg):
    print("bench: " + msg, file=sys.stderr, flush=True)


def mover_env(**kw):
    env = {"PATH": os.environ["PATH"] + ":/usr/sbin", "KEYS_DIR": A.keys, "TMPDIR": W + "/tmp"}
    env.update({k: str(v) for k, v in kw.items()})
    return env


def entrypoint_run(src, dst):
    """One full sync with the entrypoints; returns (source wall s, CPU s of all processes)."""
    port = free_port()
    out = W + "/destination.out"
    c0 = cpu()
    with open(out, "w") as f:
        d = subprocess.Popen([A.bin, "destination"], stdout=f, stderr=subprocess.STDOUT,
                             env=mover_env(DATA_DIR=dst, LISTEN_PORT=port, TERMINATION_LOG=W + "/destination.json"))
    wait_until(lambda: "Waiting for the source" in open(out).read(), 30, "destination")
    t0 = time.monotonic()
    subprocess.run([A.bin, "source"], check=True, stdout=open(W + "/source.out", "w"),
                   env=mover_env(DATA_DIR=src, DESTINATION_ADDRESS="127.0.0.1", DESTINATION_PORT=port,
                                 TERMINATION_LOG=W + "/source.json"))
    wall = time.monotonic() - t0
    if d.wait(timeout=120) != 0:
        sys.exit("destination failed: " + open(out).read())
    return wall, cpu() - c0


def plain_sshd_files():
    """A plain sshd (no forced command) with the destination's host key and the source key."""
    d = W + "/plain"
    os.makedirs(d, exist_ok=True)
    for name in ("destination", "source"):
        shutil.copy(os.path.join(A.keys, name), os.path.join(d, name))
        os.chmod(os.path.join(d, name), 0o600)
    shutil.copy(os.path.join(A.keys, "source.pub"), d + "/authorized_keys")
    with open(os.path.join(A.keys, "destination.pub")) as f:
        pub = f.read()
    return d, pub


def bare_run(src, dst):
    """Bare rsync with the entrypoint's options over a plain sshd started for the run."""
    d, pub = plain_sshd_files()
    port = free_port()
    with open(d + "/sshd_config", "w") as f:
        f.write(f"Port {port}\nListenAddress 127.0.0.1\nHostKey {d}/destination\nAuthorizedKeysFile {d}/authorized_keys\n"
                "PidFile none\nUsePAM no\nStrictModes no\nPermitRootLogin yes\nPasswordAuthentication no\nLogLevel ERROR\n")
    with open(d + "/known_hosts", "w") as f:
        f.write(f"[127.0.0.1]:{port} {pub}")
    os.makedirs("/run/sshd", mode=0o755, exist_ok=True)
    c0 = cpu()
    s = subprocess.Popen([SSHD, "-D", "-e", "-f", d + "/sshd_config"], stderr=subprocess.DEVNULL)

    def up():
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return True
        except OSError:
            return False

    wait_until(up, 10, "sshd")
    rsh = f"ssh -F /dev/null -i {d}/source -o UserKnownHostsFile={d}/known_hosts -o StrictHostKeyChecking=yes -o BatchMode=yes -p {port}"
    t0 = time.monotonic()
    subprocess.run(["rsync", *FLAGS, "-e", rsh, src + "/", f"root@127.0.0.1:{dst}/"], check=True, stdout=subprocess.DEVNULL)
    wall = time.monotonic() - t0
    s.terminate()
    s.wait()
    return wall, cpu() - c0


def nochange():
    log(f"creating {A.files} small files")
    src = W + "/nc-src"
    per = max(1, A.files // 100)
    for i in range(A.files):
        d = os.path.join(src, "d%03d" % (i // per))
        if i % per == 0:
            os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, "f%06d" % i), "w") as f:
            f.write("content of file %d\n" % i)
    for name in ("ep", "bare"):
        subprocess.run(["cp", "-al", src, W + "/nc-dst-" + name], check=True)
    methods = {
        "entrypoints (volsync-rsync destination + source, sshd per sync, shutdown)": lambda: entrypoint_run(src, W + "/nc-dst-ep"),
        "bare rsync, same options, over a plain sshd (no forced command)": lambda: bare_run(src, W + "/nc-dst-bare"),
    }
    for fn in methods.values():  # warm-up: page cache, first-run effects
        fn()
    res = {name: [] for name in methods}
    for i in range(A.runs):
        log(f"no-change run {i + 1}/{A.runs}")
        for name, fn in methods.items():  # interleaved so load changes hit both alike
            res[name].append(fn())
    print(f"\n### 1. No-change sync, {A.files} files in 100 directories, {A.runs} runs (after one warm-up each)")
    print("| method | wall s (min / median) | CPU s, all processes (min / median) |")
    print("|---|---|---|")
    for name, runs in res.items():
        walls, cpus = [w for w, _ in runs], [c for _, c in runs]
        print(f"| {name} | {min(walls):.2f} / {statistics.median(walls):.2f} | {min(cpus):.2f} / {statistics.median(cpus):.2f} |")
    ep, bare = res.values()
    wr = statistics.median(w for w, _ in ep) / statistics.median(w for w, _ in bare)
    cr = statistics.median(c for _, c in ep) / statistics.median(c for _, c in bare)
    print(f"| ratio entrypoints / bare (CPU target <= 1.1) | {wr:.2f} | **{cr:.2f}** |")
    print("source result (last run): " + open(W + "/source.json").read())
    for d in (src, W + "/nc-dst-ep", W + "/nc-dst-bare"):
        shutil.rmtree(d)


def delta():
    log("creating 1 GiB in 1024 files")
    src, dst = W + "/d-src", W + "/d-dst"
    os.makedirs(src)
    os.makedirs(dst)
    for i in range(1024):
        with open(os.path.join(src, "f%04d" % i), "wb") as f:
            f.write(os.urandom(1 << 20))
    log("initial sync")
    entrypoint_run(src, dst)
    initial = open(W + "/source.json").read()
    log("changing 1%")
    rng, region, changed = random.Random(42), 80 * 1024, 0
    for i in range(0, 1024, 8):  # 128 files
        with open(os.path.join(src, "f%04d" % i), "r+b") as f:
            f.seek(rng.randrange(0, (1 << 20) - region))
            f.write(os.urandom(region))
        changed += region
    wall, _ = entrypoint_run(src, dst)
    res = json.load(open(W + "/source.json"))
    dres = json.load(open(W + "/destination.json"))
    if subprocess.run(["diff", "-r", src, dst], stdout=subprocess.DEVNULL).returncode != 0:
        sys.exit("destination differs from source")
    print("\n### 2. 1% change of 1 GiB (1024 x 1 MiB, 128 files x 80 KiB rewritten)")
    print("| | bytes |")
    print("|---|---|")
    print(f"| changed bytes | {changed} |")
    print(f"| bytesSent (source result) | {res['bytesSent']} |")
    print(f"| bytes received (destination result) | {dres['bytesSent']} |")
    print(f"| ratio bytesSent / changed (target <= 1.1) | **{res['bytesSent'] / changed:.3f}** |")
    print(f"| delta sync source time, s | {wall:.2f} |")
    print("initial sync result: " + initial)
    print("delta sync result: " + json.dumps(res))


if not A.skip_nochange:
    nochange()
if not A.skip_delta:
    delta()
