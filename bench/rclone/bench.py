"""rclone mover benchmark: the entrypoint against bare `rclone sync` with the same flags.

Called by run.sh: bench.py --bin BIN --tools DIR --work WORK [--files N] [--big-mib M]
[--big-files K] [--runs R] [--big-runs B] [--skip-nochange] [--skip-big]. CPU is user+sys of the process tree
of a run (RUSAGE_CHILDREN: rclone is reaped by the entrypoint, which this script reaps); the S3
server's CPU (a long-running process) is read from /proc and reported apart.
"""
import os.path as _p
import sys as _sys
_sys.path.insert(0, _p.join(_p.dirname(_p.abspath(__file__)), ".."))

import argparse
import os
import re
import secrets
import shutil
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request
from benchutil import cpu, free_port, wait_until  # noqa: E402

p = argparse.ArgumentParser()
p.add_argument("--bin", required=True)
p.add_argument("--tools", required=True)
p.add_argument("--work", required=True)
p.add_argument("--files", type=int, default=100000)
p.add_argument("--big-mib", type=int, default=1024)
p.add_argument("--big-files", type=int, default=8)
p.add_argument("--runs", type=int, default=5)
p.add_argument("--big-runs", type=int, default=3)
p.add_argument("--skip-nochange", action="store_true")
p.add_argument("--skip-big", action="store_true")
A = p.parse_args()
W = A.work
RCLONE = os.path.join(A.tools, "rclone")
SECTION = "bench"
BUCKET = "bench"
MANIFEST = ".volsync-rclone-manifest.json.gz"
# What the entrypoint runs for its data sync (images/rclone: NewRclone, syncArgs, rcloneDefaults).
SYNC_FLAGS = ["--skip-links", "--one-file-system", "--no-update-dir-modtime",
              "--exclude", "/lost+found/**", "--exclude", "/" + MANIFEST]
DEFAULTS = {"RCLONE_TRANSFERS": "10", "RCLONE_CHECKSUM": "1", "RCLONE_STATS": "20s"}


def log(msg):
    print("bench: " + msg, file=sys.stderr, flush=True)


class Server:
    """A versitygw (posix backend) on loopback with random root credentials."""

    def __init__(self):
        self.root = os.path.join(W, "s3")
        os.makedirs(self.root)
        self.port = free_port()
        self.access, self.secret = "AKIA" + secrets.token_hex(8).upper(), secrets.token_hex(20)
        self.proc = subprocess.Popen(
            [os.path.join(A.tools, "versitygw"), "--access", self.access, "--secret", self.secret,
             "--port", f"127.0.0.1:{self.port}", "--quiet", "posix", self.root],
            stdout=subprocess.DEVNULL, stderr=open(os.path.join(W, "versitygw.log"), "w"),
            env={"PATH": os.environ["PATH"]})
        wait_until(self.answers, 30, "versitygw")
        self.conf = os.path.join(W, "rclone.conf")
        with open(self.conf, "w") as f:
            f.write(f"[{SECTION}]\ntype = s3\nprovider = Other\naccess_key_id = {self.access}\n"
                    f"secret_access_key = {self.secret}\nendpoint = http://127.0.0.1:{self.port}\n"
                    "region = us-east-1\nforce_path_style = true\n")
        subprocess.run([RCLONE, "--config", self.conf, "mkdir", f"{SECTION}:{BUCKET}"], check=True, env=clean_env())

    def answers(self):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{self.port}/", timeout=1)
        except urllib.error.HTTPError:
            return True  # an S3 error (403): the server is up
        except OSError:
            return False
        return True

    def cpu(self):
        """User+sys CPU seconds of the server so far."""
        with open(f"/proc/{self.proc.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=30)


def clean_env(**kw):
    """The environment a mover gets in a pod: no AWS_CA_BUNDLE or other host settings."""
    env = {"PATH": A.tools + ":/usr/bin:/bin", "HOME": W, "TMPDIR": os.path.join(W, "tmp")}
    env.update(kw)
    return env


def entrypoint(direction, data, path):
    """One entrypoint run; returns (wall s, CPU s of its process tree, stdout)."""
    env = clean_env(DIRECTION=direction, DATA_DIR=data, RCLONE_CONFIG=S.conf, RCLONE_CONFIG_SECTION=SECTION,
                    RCLONE_DEST_PATH=f"{BUCKET}/{path}", PRIVILEGED_MOVER="1", TERMINATION_LOG=os.path.join(W, "result.json"))
    c0, t0 = cpu(), time.monotonic()
    r = subprocess.run([A.bin], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wall = time.monotonic() - t0
    if r.returncode != 0:
        sys.exit(f"entrypoint {direction} failed: {r.stderr}\n{r.stdout[-4000:]}")
    return wall, cpu() - c0, r.stdout


def bare(src, dst):
    """Bare `rclone sync` with the entrypoint's flags and environment, and to a volume the
    reference's `sync -f` after it (the entrypoint's syncfs); returns (wall s, CPU s)."""
    args = [RCLONE, "--config", S.conf, "--use-json-log", "--stats-log-level", "NOTICE", "--log-level", "NOTICE",
            "sync", src, dst, *SYNC_FLAGS]
    c0, t0 = cpu(), time.monotonic()
    r = subprocess.run(args, env=clean_env(**DEFAULTS), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if r.returncode != 0:
        sys.exit(f"bare rclone sync failed: {r.stderr[-4000:]}")
    if not dst.startswith(SECTION + ":"):
        subprocess.run(["sync", "-f", dst], check=True)
    wall = time.monotonic() - t0
    return wall, cpu() - c0


def remote(path):
    return f"{SECTION}:{BUCKET}/{path}/"


def measure(methods, runs):
    """Runs every method once (warm-up), then R times interleaved; returns {name: [(wall, cpu, server cpu)]}."""
    for fn in methods.values():
        fn()
    res = {name: [] for name in methods}
    for i in range(runs):
        log(f"run {i + 1}/{runs}")
        for name, fn in methods.items():
            s0 = S.cpu()
            wall, c = fn()[:2]
            res[name].append((wall, c, S.cpu() - s0))
    return res


def table(title, res):
    print(f"\n### {title}")
    print("| method | wall s (min / median) | CPU s, mover + rclone (min / median) | S3 server CPU s (median) |")
    print("|---|---|---|---|")
    for name, runs in res.items():
        walls, cpus, srv = [r[0] for r in runs], [r[1] for r in runs], [r[2] for r in runs]
        print(f"| {name} | {min(walls):.2f} / {statistics.median(walls):.2f} | {min(cpus):.2f} / {statistics.median(cpus):.2f} | {statistics.median(srv):.2f} |")
    ep, b = list(res.values())
    wr = statistics.median(r[0] for r in ep) / statistics.median(r[0] for r in b)
    cr = statistics.median(r[1] for r in ep) / statistics.median(r[1] for r in b)
    print(f"| ratio entrypoint / bare (target <= 1.1) | **{wr:.2f}** | **{cr:.2f}** | |")


def manifest_cost(source_out, dest_out, first_upload):
    m = re.search(r"Manifest: (\d+) entries, (\d+) bytes; walked in ([0-9.]+)s, encoded in ([0-9.]+)s", source_out)
    u = re.search(r"Manifest uploaded in ([0-9.]+)s \((\d+) bytes sent\)", source_out)
    a = re.search(r"Manifest applied in ([0-9.]+)s: (\d+) entries", dest_out)
    f = re.search(r"Manifest fetched and decoded in ([0-9.]+)s", dest_out)
    pr = re.search(r"Volume prepared in ([0-9.]+)s", dest_out)
    if not (m and u and a and f and pr):
        sys.exit("no manifest figures in the entrypoint's log")
    entries, size = int(m.group(1)), int(m.group(2))
    print(f"\n### 3. The manifest's cost, {entries} entries (from the entrypoint's log, last no-change run)")
    print("| step | |")
    print("|---|---|")
    print(f"| size (gzip'ed JSON lines) | {size} bytes ({size / entries:.1f} bytes/entry) |")
    print(f"| source: walk (lstat, xattrs) | {float(m.group(3)):.2f} s |")
    print(f"| source: encode | {float(m.group(4)):.2f} s |")
    print(f"| source: upload (copyto; unchanged manifest: checked, not sent) | {float(u.group(1)):.2f} s, {u.group(2)} bytes sent |")
    print(f"| source: first upload (copyto, sent) | {first_upload:.2f} s |")
    print(f"| destination: fetch (copyto) + decode | {float(f.group(1)):.2f} s |")
    print(f"| destination: prepare (walk the volume, nothing to remove) | {float(pr.group(1)):.2f} s |")
    print(f"| destination: apply (lstat, xattrs of every entry; nothing to change) | {float(a.group(1)):.2f} s |")


def nochange():
    log(f"creating {A.files} small files")
    src = os.path.join(W, "nc-src")
    per = max(1, A.files // 100)
    for i in range(A.files):
        d = os.path.join(src, "d%03d" % (i // per))
        if i % per == 0:
            os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, "f%06d" % i), "w") as f:
            f.write("content of file %d\n" % i)
    dst_ep, dst_bare = os.path.join(W, "nc-dst-ep"), os.path.join(W, "nc-dst-bare")
    log("initial upload (entrypoint)")
    wall, c, out = entrypoint("source", src, "nc")
    up = re.search(r"Manifest uploaded in ([0-9.]+)s", out)
    first_upload = float(up.group(1)) if up else 0.0
    print(f"\ninitial upload of {A.files} files (entrypoint, source, once): {wall:.1f} s wall, {c:.1f} s CPU")
    # The destinations start as copies of the volume (what a first download makes; the warm-up
    # run of the entrypoint then only sets directory times).
    for d in (dst_ep, dst_bare):
        subprocess.run(["cp", "-a", src, d], check=True)
    outs = {}

    def ep(direction, data):
        def run():
            r = entrypoint(direction, data, "nc")
            outs[direction] = r[2]
            return r
        return run

    res = measure({
        "entrypoint source (walk + manifest + rclone sync + manifest copyto)": ep("source", src),
        "bare rclone sync, volume -> S3": lambda: bare(src, remote("nc")),
    }, A.runs)
    table(f"1a. No-change sync, source (volume -> S3), {A.files} files in 100 directories, {A.runs} runs after a warm-up", res)
    print("source result (last run): " + open(os.path.join(W, "result.json")).read())
    res = measure({
        "entrypoint destination (manifest fetch + prepare + rclone sync + apply + syncfs)": ep("destination", dst_ep),
        "bare rclone sync + sync -f (the reference's), S3 -> volume": lambda: bare(remote("nc"), dst_bare),
    }, A.runs)
    table(f"1b. No-change sync, destination (S3 -> volume), {A.files} files, {A.runs} runs after a warm-up", res)
    print("destination result (last run): " + open(os.path.join(W, "result.json")).read())
    manifest_cost(outs["source"], outs["destination"], first_upload)
    for d in (src, dst_ep, dst_bare):
        shutil.rmtree(d)
    subprocess.run([RCLONE, "--config", S.conf, "purge", remote("nc")], check=True, env=clean_env())


def big():
    n, size = A.big_files, (A.big_mib << 20) // A.big_files
    log(f"creating {A.big_mib} MiB in {n} files")
    src = os.path.join(W, "big-src")
    os.makedirs(src)
    for i in range(n):
        with open(os.path.join(src, "f%02d" % i), "wb") as f:
            for _ in range(size >> 20):
                f.write(os.urandom(1 << 20))
    counter = [0]

    def purge_after(fn):
        def run():
            counter[0] += 1
            path = "big%d" % counter[0]
            r = fn(path)
            subprocess.run([RCLONE, "--config", S.conf, "purge", remote(path)], check=True, env=clean_env())
            return r
        return run

    res = measure({
        "entrypoint source, initial upload": purge_after(lambda path: entrypoint("source", src, path)),
        "bare rclone sync, initial upload": purge_after(lambda path: bare(src, remote(path))),
    }, A.big_runs)
    table(f"2. Initial upload of {A.big_mib} MiB in {n} files of random data, {A.big_runs} runs after a warm-up", res)
    ep = statistics.median(r[0] for r in res[next(iter(res))])
    print(f"entrypoint throughput (median): {A.big_mib / ep:.0f} MiB/s")
    shutil.rmtree(src)


os.makedirs(os.path.join(W, "tmp"), exist_ok=True)
S = Server()
try:
    if not A.skip_nochange:
        nochange()
    if not A.skip_big:
        big()
finally:
    S.stop()
