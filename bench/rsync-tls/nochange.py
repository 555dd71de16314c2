"""No-change sync benchmark: the rsync-tls entrypoints against bare rsync to an rsync daemon.

Called by run.sh: nochange.py BIN PSK WORKDIR SRC DST_TLS DST_BARE RUNS
Wall time is the client's; CPU is user+sys of every process of the run (client, server,
stunnel, rsync daemons), from RUSAGE_CHILDREN, which contention from other work on the machine
does not inflate the way it inflates wall time.
"""
import os.path as _p
import sys as _sys
_sys.path.insert(0, _p.join(_p.dirname(_p.abspath(__file__)), ".."))

import os
import resource
import socket
import statistics
import subprocess
import sys
import time
from benchutil import cpu, free_port, wait_until  # noqa: E402

BIN, PSK, WORK, SRC, DST_TLS, DST_BARE, RUNS = sys.argv[1:8]
RUNS = int(RUNS)
FULL_FLAGS = ["-aHSAX", "--delete", "-z", "--numeric-ids", "--exclude=/lost+found", "--timeout=300"]
READY = "Waiting for the source"


def entrypoint_run():
    port = free_port()
    env = dict(os.environ, DATA_DIR=DST_TLS, KEY_FILE=PSK, LISTEN_PORT=str(port), TMPDIR=WORK + "/tmp",
               TERMINATION_LOG=WORK + "/server.json")
    out = open(WORK + "/server.out", "w+")
    c0 = cpu()
    srv = subprocess.Popen([BIN, "server"], env=env, stdout=out, stderr=subprocess.STDOUT)
    wait_until(lambda: READY in open(WORK + "/server.out").read(), 30, "server")
    env = dict(os.environ, DATA_DIR=SRC, KEY_FILE=PSK, DESTINATION_ADDRESS="127.0.0.1", DESTINATION_PORT=str(port),
               TMPDIR=WORK + "/tmp", TERMINATION_LOG=WORK + "/client.json")
    t0 = time.monotonic()
    subprocess.run([BIN, "client"], env=env, stdout=subprocess.DEVNULL, check=True)
    wall = time.monotonic() - t0
    if srv.wait(timeout=120) != 0:
        sys.exit("server failed: " + open(WORK + "/server.out").read())
    return wall, cpu() - c0


def bare_run(flags):
    port = free_port()
    conf = WORK + "/rsyncd.conf"
    with open(conf, "w") as f:
        f.write("use chroot = no\nnumeric ids = yes\nlog file = /dev/null\n")
        if os.geteuid() == 0:
            f.write("uid = 0\ngid = 0\n")
        f.write(f"[data]\npath = {DST_BARE}\nread only = no\n")
    c0 = cpu()
    d = subprocess.Popen(["rsync", "--daemon", "--no-detach", "--config=" + conf, "--address=127.0.0.1",
                          "--port=" + str(port)])

    def up():
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return True
        except OSError:
            return False

    wait_until(up, 10, "rsync daemon")
    t0 = time.monotonic()
    subprocess.run(["rsync", *flags, SRC + "/", f"rsync://127.0.0.1:{port}/data/"], check=True)
    wall = time.monotonic() - t0
    d.terminate()
    d.wait()
    return wall, cpu() - c0


methods = {
    "entrypoint client (stunnel TLS 1.3 PSK; -aHSAX --delete -z --numeric-ids)": entrypoint_run,
    "bare rsync -a, daemon over plain TCP": lambda: bare_run(["-a"]),
    "bare rsync, the entrypoint's flags, daemon over plain TCP": lambda: bare_run(FULL_FLAGS),
}
for fn in methods.values():  # warm-up: page cache, first-run effects
    fn()
res = {name: [] for name in methods}
for i in range(RUNS):
    print(f"bench: no-change run {i + 1}/{RUNS}", file=sys.stderr)
    for name, fn in methods.items():  # interleaved so load changes hit every method alike
        res[name].append(fn())

print("| method | wall s (min / median) | CPU s, all processes (min / median) |")
print("|---|---|---|")
for name, runs in res.items():
    walls, cpus = [w for w, _ in runs], [c for _, c in runs]
    print(f"| {name} | {min(walls):.2f} / {statistics.median(walls):.2f} | {min(cpus):.2f} / {statistics.median(cpus):.2f} |")
names = list(methods)
ep, bare, same = (res[n] for n in names)


def ratio(a, b, i):
    return statistics.median(x[i] for x in a) / statistics.median(x[i] for x in b)


print(f"| ratio entrypoint / bare -a | {ratio(ep, bare, 0):.2f} | {ratio(ep, bare, 1):.2f} |")
print(f"| ratio entrypoint / bare with the same flags (cost of TLS + entrypoint) | {ratio(ep, same, 0):.2f} | {ratio(ep, same, 1):.2f} |")
print(f"| ratio bare same flags / bare -a (cost of the fidelity flags) | {ratio(same, bare, 0):.2f} | {ratio(same, bare, 1):.2f} |")
