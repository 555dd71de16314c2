"""syncthing mover benchmark: three peers through the entrypoint against three bare syncthings.

Called by run.sh: bench.py --bin BIN --tools DIR --work WORK [--files N] [--dirs D] [--runs R].
The clock covers writing the files into peer 1's folder, POST /rest/db/scan on peer 1 (its
answer comes when the scan is done) and the transfer, until GET /rest/db/status on peers 2 and
3 (polled every 200 ms) shows the whole tree, nothing needed and the folder idle. CPU is
user+sys of every syncthing process of the three peers inside the clock (/proc/PID/stat);
memory is each process's VmHWM (the kernel's high-water mark) read just before it is stopped.
"""
import os.path as _p
import sys as _sys
_sys.path.insert(0, _p.join(_p.dirname(_p.abspath(__file__)), ".."))

import argparse
import http.client
import json
import os
import random
import signal
import ssl
import statistics
import subprocess
import sys
import time
from benchutil import free_port  # noqa: E402

p = argparse.ArgumentParser()
p.add_argument("--bin", required=True)
p.add_argument("--tools", required=True)
p.add_argument("--work", required=True)
p.add_argument("--files", type=int, default=10000)
p.add_argument("--dirs", type=int, default=100)
p.add_argument("--runs", type=int, default=3)
A = p.parse_args()
W = A.work
SYNCTHING = os.path.join(A.tools, "syncthing")
FOLDER = "syncthing-folder-id"  # images/contract/syncthing FolderID
POLL = 0.2
SAMPLE = 200  # files compared byte for byte on peers 2 and 3 after each run
TICK = os.sysconf("SC_CLK_TCK")
PGIDS = os.path.join(W, "pgids")
live_pgids = set()
configs = {}


def log(msg):
    print("bench: " + msg, file=sys.stderr, flush=True)


def save_pgids():
    with open(PGIDS, "w") as f:
        f.write("".join(f"{g}\n" for g in sorted(live_pgids)))


def base_env():
    home = os.path.join(W, "home")
    os.makedirs(home, exist_ok=True)
    return {"PATH": A.tools + ":/usr/bin:/bin", "HOME": home}


class Peer:
    """One syncthing: its directories, ports, API key and process."""

    def __init__(self, variant, run, i):
        self.name = f"peer{i + 1}"
        self.dir = os.path.join(W, f"{variant}-{run}", self.name)
        self.home, self.data = os.path.join(self.dir, "config"), os.path.join(self.dir, "data")
        os.makedirs(self.home)
        os.makedirs(self.data)
        self.api_port, self.data_port = free_port(), free_port()
        while self.data_port == self.api_port:
            self.data_port = free_port()
        self.key = os.urandom(16).hex()
        self.proc, self.conn, self.id = None, None, None
        self.tls = False

    def listen(self):
        return f"tcp://127.0.0.1:{self.data_port}"

    def start(self, argv, env):
        self.logf = open(os.path.join(self.dir, "log"), "wb")
        self.proc = subprocess.Popen(argv, env=env, stdout=self.logf, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        live_pgids.add(self.proc.pid)
        save_pgids()

    def _connect(self):
        if self.tls:
            ctx = ssl.create_default_context(cafile=CERT)  # exactly the API certificate
            ctx.check_hostname = False
            return http.client.HTTPSConnection("127.0.0.1", self.api_port, context=ctx, timeout=600)
        return http.client.HTTPConnection("127.0.0.1", self.api_port, timeout=600)

    def api(self, method, path, body=None, retry=60.0):
        """A JSON API call with the key (a persistent connection; transport errors retried
        for retry seconds: the API starts, or restarts its listener after a GUI change)."""
        deadline = time.monotonic() + retry
        data = None if body is None else json.dumps(body).encode()
        while True:
            try:
                if self.conn is None:
                    self.conn = self._connect()
                headers = {"X-API-Key": self.key}
                if data is not None:
                    headers["Content-Type"] = "application/json"
                self.conn.request(method, path, body=data, headers=headers)
                resp = self.conn.getresponse()
                out = resp.read()
                break
            except (OSError, http.client.HTTPException) as e:
                if self.conn is not None:
                    self.conn.close()
                    self.conn = None
                if self.proc.poll() is not None:
                    sys.exit(f"{self.dir}: syncthing exited ({self.proc.returncode}); see its log:\n"
                             + open(os.path.join(self.dir, "log"), errors="replace").read()[-3000:])
                if time.monotonic() > deadline:
                    sys.exit(f"{self.dir}: {method} {path}: {e}")
                time.sleep(0.1)
        if resp.status != 200:
            sys.exit(f"{self.dir}: {method} {path}: {resp.status} {out[:500]!r}")
        return json.loads(out) if out.strip() else None

    def pids(self):
        """The syncthing processes: the started one and its children (bare `serve` is a
        monitor process running syncthing as its child; the entrypoint exec's syncthing with
        STMONITORED=yes, one process)."""
        kids = []
        for name in os.listdir("/proc"):
            if name.isdigit():
                try:
                    with open(f"/proc/{name}/stat") as f:
                        st = f.read()
                except OSError:
                    continue
                if int(st[st.rindex(")") + 2:].split()[1]) == self.proc.pid:
                    kids.append(int(name))
        return [self.proc.pid] + kids

    def stop(self):
        if self.conn is not None:
            self.conn.close()
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        # The group may outlive its leader for a moment (a child still exiting).
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        live_pgids.discard(self.proc.pid)
        save_pgids()
        self.logf.close()


def cpu_s(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            st = f.read()
    except OSError:
        return 0.0
    utime, stime = st[st.rindex(")") + 2:].split()[11:13]
    return (int(utime) + int(stime)) / TICK


def hwm_kib(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def wait_for(cond, timeout, what):
    deadline = time.monotonic() + timeout
    while True:
        why = cond()
        if not why:
            return
        if time.monotonic() > deadline:
            sys.exit(f"timeout ({timeout} s) waiting for {what}: {why}")
        time.sleep(POLL)


# ---- the API certificate of "ours" (the controller's Secret), made once ----

CERTS = os.path.join(W, "certs")
CERT = os.path.join(CERTS, "https-cert.pem")


def make_api_cert():
    os.makedirs(CERTS)
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                    "-nodes", "-days", "365", "-subj", "/CN=syncthing-api",
                    "-addext", "subjectAltName=DNS:syncthing-api",
                    "-keyout", os.path.join(CERTS, "https-key.pem"), "-out", CERT],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


# ---- the two ways of setting up three peers ----

def start_ours(run):
    peers = [Peer("ours", run, i) for i in range(3)]
    for pr in peers:
        pr.tls = True
        e = base_env()
        e.update({"SYNCTHING_CONFIG_DIR": pr.home, "SYNCTHING_DATA_DIR": pr.data,
                  "SYNCTHING_CERT_DIR": CERTS, "STGUIAPIKEY": pr.key, "PRIVILEGED_MOVER": "0",
                  "SYNCTHING_API_ADDRESS": f"127.0.0.1:{pr.api_port}",
                  "SYNCTHING_LISTEN_ADDRESS": pr.listen(),
                  "TERMINATION_LOG": os.path.join(pr.dir, "termination-log")})
        pr.start([A.bin, "run"], e)
    for pr in peers:
        pr.id = pr.api("GET", "/rest/system/status")["myID"]
    # The controller's way: the whole configuration read, the peers added, written back.
    for pr in peers:
        cfg = pr.api("GET", "/rest/config")
        folder = [f for f in cfg["folders"] if f["id"] == FOLDER]
        if len(folder) != 1:
            sys.exit(f"{pr.dir}: no folder {FOLDER} in {cfg['folders']}")
        for o in peers:
            if o is pr:
                continue
            cfg["devices"].append({"deviceID": o.id, "name": o.name, "addresses": [o.listen()],
                                   "introducer": False})
            folder[0]["devices"].append({"deviceID": o.id})
        pr.api("PUT", "/rest/config", cfg)
    return peers


BARE_CONFIG = """<configuration version="37">
    <folder id="{folder}" label="synced volume" path="{data}" type="sendreceive">
{folder_devices}
    </folder>
{devices}
    <gui enabled="true" tls="false">
        <address>127.0.0.1:{api_port}</address>
        <apikey>{key}</apikey>
    </gui>
    <options>
        <listenAddress>{listen}</listenAddress>
        <globalAnnounceEnabled>false</globalAnnounceEnabled>
        <localAnnounceEnabled>false</localAnnounceEnabled>
        <relaysEnabled>false</relaysEnabled>
        <natEnabled>false</natEnabled>
    </options>
</configuration>
"""


def start_bare(run):
    """Device keys from `syncthing generate`, then a config.xml of one's own (what it omits
    gets syncthing's defaults when it loads the file), then `syncthing serve`."""
    peers = [Peer("bare", run, i) for i in range(3)]
    for pr in peers:
        out = subprocess.run([SYNCTHING, "generate", "--home=" + pr.home, "--no-default-folder"],
                             env=base_env(), check=True, capture_output=True, text=True)
        pr.id = out.stdout.split("Device ID: ")[1].split()[0] if "Device ID: " in out.stdout \
            else out.stderr.split("Device ID: ")[1].split()[0]
    for pr in peers:
        devices = "\n".join(
            f'    <device id="{o.id}" name="{o.name}" compression="metadata" introducer="false">\n'
            f'        <address>{o.listen() if o is not pr else "dynamic"}</address>\n    </device>'
            for o in peers)
        with open(os.path.join(pr.home, "config.xml"), "w") as f:
            f.write(BARE_CONFIG.format(
                folder=FOLDER, data=pr.data, api_port=pr.api_port, key=pr.key, listen=pr.listen(),
                folder_devices="\n".join(f'        <device id="{o.id}"></device>' for o in peers),
                devices=devices))
    for pr in peers:
        pr.start([SYNCTHING, "serve", "--home=" + pr.home, "--no-browser", "--no-restart",
                  "--no-upgrade", "--skip-port-probing", "--no-default-folder"], base_env())
    for pr in peers:
        got = pr.api("GET", "/rest/system/status")["myID"]
        if got != pr.id:
            sys.exit(f"{pr.dir}: device ID {got}, generated {pr.id}")
    return peers


def ready(peers):
    """'' when every peer is connected to the two others, the folder is shared and valid on
    both ends of each pair and idle everywhere; otherwise what is missing."""
    for pr in peers:
        conns = pr.api("GET", "/rest/system/connections")["connections"]
        for o in peers:
            if o is pr:
                continue
            if not conns.get(o.id, {}).get("connected"):
                return f"{pr.name} not connected to {o.name}"
            comp = pr.api("GET", f"/rest/db/completion?folder={FOLDER}&device={o.id}")
            if comp.get("remoteState") != "valid":
                return f"{pr.name}: folder on {o.name} is {comp.get('remoteState')}"
        st = pr.api("GET", f"/rest/db/status?folder={FOLDER}")
        if st["state"] != "idle":
            return f"{pr.name} is {st['state']}"
    return ""


def check_config(variant, peers):
    """Both variants: the effective configuration (GET /rest/config) has the three devices on
    the folder, the listen address and no announce, relays or NAT. Returns peer 1's folder,
    options and GUI settings without what differs by nature (IDs, paths, ports, keys)."""
    for pr in peers:
        cfg = pr.api("GET", "/rest/config")
        o, f = cfg["options"], [f for f in cfg["folders"] if f["id"] == FOLDER]
        if (len(f) != 1 or sorted(d["deviceID"] for d in f[0]["devices"]) != sorted(x.id for x in peers)
                or o["listenAddresses"] != [pr.listen()] or o["globalAnnounceEnabled"]
                or o["localAnnounceEnabled"] or o["relaysEnabled"] or o["natEnabled"]):
            sys.exit(f"{variant} {pr.name}: unexpected configuration {json.dumps(cfg)[:3000]}")
        if pr is peers[0]:
            first = cfg
    skip = {"id", "path", "devices", "listenAddresses", "address", "apiKey", "urUniqueID", "label"}
    flat = {}
    for part in ("options", "gui"):
        flat.update({f"{part}.{k}": v for k, v in first[part].items() if k not in skip})
    f = [f for f in first["folders"] if f["id"] == FOLDER][0]
    flat.update({f"folder.{k}": v for k, v in f.items() if k not in skip})
    return flat


def write_tree(root, rng):
    per = A.files // A.dirs
    extra = A.files - per * A.dirs
    for d in range(A.dirs):
        dd = os.path.join(root, f"d{d:03}")
        os.mkdir(dd)
        for i in range(per + (1 if d < extra else 0)):
            with open(os.path.join(dd, f"f{i:05}"), "wb") as f:
                f.write(rng.randbytes(rng.randint(1024, 4096)))


def synced(st):
    return (st["state"] == "idle" and st["needTotalItems"] == 0
            and st["globalFiles"] == st["localFiles"] == A.files
            and st["globalDirectories"] == st["localDirectories"] == A.dirs)


def one_run(variant, run):
    t_setup = time.monotonic()
    peers = (start_ours if variant == "ours" else start_bare)(run)
    try:
        wait_for(lambda: ready(peers), 180, "three connected idle peers")
        configs.setdefault(variant, check_config(variant, peers))
        setup = time.monotonic() - t_setup
        time.sleep(1)  # let the last index exchanges settle
        pids = [pid for pr in peers for pid in pr.pids()]
        c0 = sum(cpu_s(pid) for pid in pids)
        rng = random.Random(run)

        t0 = time.monotonic()
        write_tree(peers[0].data, rng)
        t_write = time.monotonic() - t0
        peers[0].api("POST", f"/rest/db/scan?folder={FOLDER}")
        t_scan = time.monotonic() - t0
        done = {}
        deadline = t0 + 900
        while len(done) < 2:
            for pr in peers[1:]:
                if pr.name not in done and synced(pr.api("GET", f"/rest/db/status?folder={FOLDER}")):
                    done[pr.name] = time.monotonic() - t0
            if len(done) < 2:
                if time.monotonic() > deadline:
                    sys.exit(f"{variant} run {run}: not synced after 900 s: {done}")
                time.sleep(POLL)
        wall = time.monotonic() - t0
        cpu = sum(cpu_s(pid) for pid in pids) - c0

        # Check: the trees on peers 2 and 3 are peer 1's (counts, and a sample byte for byte).
        rels = []
        for dirpath, dirnames, filenames in os.walk(peers[0].data):
            dirnames[:] = [d for d in dirnames if not d.startswith(".st")]
            rels += [os.path.relpath(os.path.join(dirpath, f), peers[0].data)
                     for f in filenames if not f.startswith(".st")]
        if len(rels) != A.files:
            sys.exit(f"peer1 has {len(rels)} files")
        for pr in peers[1:]:
            n = sum(len([f for f in fs if not f.startswith(".st")])
                    for dp, ds, fs in os.walk(pr.data) if "/.st" not in dp)
            if n != A.files:
                sys.exit(f"{variant} run {run}: {pr.name} has {n} files, want {A.files}")
            for rel in random.Random(run + 1000).sample(rels, min(SAMPLE, len(rels))):
                with open(os.path.join(peers[0].data, rel), "rb") as a, open(os.path.join(pr.data, rel), "rb") as b:
                    if a.read() != b.read():
                        sys.exit(f"{variant} run {run}: {pr.name}/{rel} differs from peer1's")

        # Peak RSS of each syncthing process (and the bare monitor processes), by role.
        rss = {"syncthing": 0, "monitor": 0}
        for pr in peers:
            ps = pr.pids()
            if variant == "bare":
                rss["monitor"] = max(rss["monitor"], hwm_kib(ps[0]))
                rss["syncthing"] = max([rss["syncthing"]] + [hwm_kib(x) for x in ps[1:]])
            else:
                rss["syncthing"] = max(rss["syncthing"], hwm_kib(ps[0]))
                if len(ps) > 1:
                    sys.exit(f"ours: syncthing (pid {ps[0]}) has children {ps[1:]}")
        if variant == "bare" and len(pids) != 6:
            sys.exit(f"bare: expected a monitor and a syncthing per peer, found pids {pids}")
        res = {"wall": wall, "write": t_write, "scan": t_scan, "peer2": done["peer2"],
               "peer3": done["peer3"], "cpu": cpu, "setup": setup, "rss": rss}
        log(f"{variant} run {run + 1}: {wall:.2f} s (write {t_write:.2f} s, scan returned at "
            f"{t_scan:.2f} s, peer2 {done['peer2']:.2f} s, peer3 {done['peer3']:.2f} s), CPU {cpu:.2f} s, "
            f"setup {setup:.1f} s, VmHWM syncthing {rss['syncthing'] / 1024:.0f} MiB")
        return res
    finally:
        for pr in peers:
            pr.stop()


def main():
    make_api_cert()
    results = {"bare": [], "ours": []}
    for run in range(A.runs):
        order = ("bare", "ours") if run % 2 == 0 else ("ours", "bare")
        for variant in order:
            log(f"run {run + 1}/{A.runs}: {variant}")
            results[variant].append(one_run(variant, run))

    def med(v, k):
        return statistics.median(r[k] for r in results[v])

    print(f"\n### {A.files} files of 1-4 KiB in {A.dirs} directories, peer 1 to peers 2 and 3 "
          f"({A.runs} runs each, median)\n")
    print("| variant | sync wall s (runs) | write s | scan returned s | peer 2 / peer 3 done s | "
          "CPU s of the 3 peers in the clock | peak RSS per syncthing process MiB (max) | setup s |")
    print("|---|---|---|---|---|---|---|---|")
    names = {"bare": "bare `syncthing serve`", "ours": "ours `volsync-syncthing run`"}
    for v in ("bare", "ours"):
        rss = max(r["rss"]["syncthing"] for r in results[v]) / 1024
        mon = max(r["rss"]["monitor"] for r in results[v]) / 1024
        rss_s = f"{rss:.0f}" + (f" (+ monitor {mon:.0f})" if mon else "")
        runs = ", ".join(f"{r['wall']:.2f}" for r in results[v])
        print(f"| {names[v]} | {med(v, 'wall'):.2f} ({runs}) | "
              f"{med(v, 'write'):.2f} | {med(v, 'scan'):.2f} | {med(v, 'peer2'):.2f} / {med(v, 'peer3'):.2f} | "
              f"{med(v, 'cpu'):.2f} | {rss_s} | {med(v, 'setup'):.1f} |")
    a, b = configs["bare"], configs["ours"]
    diff = [f"{k}: bare {a.get(k)!r}, ours {b.get(k)!r}" for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k)]
    print("\nEffective configuration (GET /rest/config: options, gui, the folder), where the variants differ:")
    print("\n".join("- " + d for d in diff) or "- nothing")
    print(f"\nours / bare sync wall: {med('ours', 'wall') / med('bare', 'wall'):.3f}; "
          f"CPU: {med('ours', 'cpu') / med('bare', 'cpu'):.3f}")


def on_term(signum, frame):
    sys.exit(128 + signum)


signal.signal(signal.SIGTERM, on_term)
try:
    main()
finally:
    # Whatever happened, no peer outlives the benchmark.
    for g in list(live_pgids):
        try:
            os.killpg(g, signal.SIGKILL)
        except ProcessLookupError:
            pass
