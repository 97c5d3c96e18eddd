#!/usr/bin/python3
"""SIGKILLs sandboxd at random moments while clients start, wait for, stop and destroy tasks,
with at least LIVE tasks running all the time, and checks after every restart and at the end:

  lost        a task whose start was acknowledged, not destroyed, that sandboxd does not list
  wrong_exit  a wait that reported another exit code than the task's (or than the stop's)
  orphans     a task process running that sandboxd does not list as a running task
  twice       a task that ran more than once (each task appends its marker to MARKS once)
  leftovers   state directories or cgroups left once every task is destroyed

The clients follow the rules a Nomad client's driver does (docs/driver.md): a start with an
unknown outcome (sandboxctl exit 3) is settled with destroy --force; a stop or destroy whose
answer was lost is sent again; waits are sent again.

Usage: faults-random.py --ctl SANDBOXCTL --socket S --state STATEDIR --cgroup-glob GLOB
       --marks FILE --prefix P [--kills N] [--live M] [--seed X] -- DAEMON-COMMAND...
Prints TAP-style diagnostics ('# ...') and one last line 'totals kills=.. lost=.. ...'."""
import argparse
import glob
import os
import random
import signal
import subprocess
import sys
import threading
import time

ap = argparse.ArgumentParser()
ap.add_argument("--ctl", required=True)
ap.add_argument("--socket", required=True)
ap.add_argument("--state", required=True)
ap.add_argument("--cgroup-glob", required=True)
ap.add_argument("--marks", required=True)
ap.add_argument("--prefix", required=True)
ap.add_argument("--log", required=True)
ap.add_argument("--kills", type=int, default=100)
ap.add_argument("--live", type=int, default=50)
ap.add_argument("--seed", type=int, default=None)
ap.add_argument("daemon", nargs=argparse.REMAINDER)
a = ap.parse_args()
daemon_cmd = a.daemon[1:] if a.daemon and a.daemon[0] == "--" else a.daemon
seed = a.seed if a.seed is not None else int.from_bytes(os.urandom(4), "little")
rnd = random.Random(seed)
print(f"# seed {seed}", flush=True)

totals = dict(kills=0, starts=0, unknown_starts=0, undone=0, lost=0, wrong_exit=0, orphans=0, twice=0,
              leftovers=0, exits_checked=0)
lock = threading.RLock()


def diag(msg):
    with lock:
        print("# " + msg, flush=True)


def ctl(*args, timeout=30):
    try:
        p = subprocess.run([a.ctl, "--socket", a.socket, *args], capture_output=True, text=True, timeout=timeout)
        return p.returncode, p.stdout, p.stderr
    except subprocess.TimeoutExpired:
        return 124, "", "timeout"


def transport_error(rc, err):
    """sandboxd did not answer (it was killed): no outcome to check."""
    return rc == 124 or any(x in err for x in ("closed the connection", "connecting to sandboxd", "sending hello",
                                                "reading sandboxd", "sending the request", "Connection reset",
                                                "Connection refused", "No such file"))


# ---- the daemon

daemon = None
logf = open(a.log, "ab")


def daemon_start():
    global daemon
    daemon = subprocess.Popen(daemon_cmd, stdout=logf, stderr=logf)
    for _ in range(400):
        if os.path.exists(a.socket) and ctl("list", timeout=5)[0] == 0:
            return
        if daemon.poll() is not None:
            break
        time.sleep(0.025)
    print(f"Bail out! sandboxd did not come up (exit {daemon.poll()})", flush=True)
    sys.exit(1)


def daemon_kill():
    daemon.send_signal(signal.SIGKILL)
    daemon.wait()
    totals["kills"] += 1


# ---- tasks

class Task:
    def __init__(self, name, kind, code=0, sleep=0.0, trap=False):
        self.name = name
        self.kind = kind          # "short": exits by itself with code; "long": runs until stopped
        self.code = code
        self.sleep = sleep
        self.trap = trap          # ignores SIGTERM: a stop ends it at its deadline (137)
        self.state = "new"        # new, unknown, acked, gone
        self.expect = None        # the exit code a wait must report (None: not decided yet)
        self.stopping = False
        self.waited = False       # a wait reported its exit (checked)
        self.destroy_sent = False

    def marker(self):
        return f"fault-{a.prefix}-{self.name}"

    def argv(self):
        body = f'echo "$0" >>{a.marks}; '
        if self.kind == "short":
            body += f"sleep {self.sleep:.2f}; exit {self.code}"
        else:
            body += ("trap '' TERM; " if self.trap else "") + "while :; do sleep 1; done"
        return ["/bin/sh", "-c", body, self.marker()]


tasks = {}
counter = 0


def new_task(kind):
    global counter
    counter += 1
    name = f"r{counter}"
    if kind == "short":
        t = Task(name, kind, code=rnd.randint(1, 120), sleep=rnd.choice([0, 0.05, 0.3, 1.0, 2.0]))
    else:
        t = Task(name, kind, trap=rnd.random() < 0.3)
    tasks[name] = t
    return t


def op_start(t):
    rc, out, err = ctl("start", "--name", t.name, "--unveil", "rw:" + a.marks, "--", *t.argv())
    with lock:
        totals["starts"] += 1
        if rc == 0:
            t.state = "acked"
            if t.kind == "short":
                t.expect = t.code
        elif rc == 3:
            t.state = "unknown"
            totals["unknown_starts"] += 1
        else:
            t.state = "gone"  # refused (or sandboxd not reachable): nothing started
            if not transport_error(rc, err):
                diag(f"start {t.name} refused: rc {rc}: {err.strip()}")


def op_wait(t):
    rc, out, err = ctl("wait", t.name, timeout=60)
    with lock:
        if t.state != "acked" or transport_error(rc, err):
            return None
        if "no task named" in err:
            return None
        if t.expect is not None and rc == t.expect:
            totals["exits_checked"] += 1
            t.waited = True
        elif t.expect is not None and t.kind == "long" and t.stopping and rc in (137, 143):
            totals["exits_checked"] += 1
            t.waited = True
        else:
            totals["wrong_exit"] += 1
            diag(f"WRONG EXIT {t.name} ({t.kind}, stopping={t.stopping}): wait rc {rc}, expected {t.expect}: {err.strip()}")
            t.waited = True
        return rc


def op_stop(t):
    t.stopping = True
    t.expect = 137 if t.trap else 143
    ctl("stop", "--timeout", "1s", t.name)


def op_destroy(t):
    t.destroy_sent = True
    rc, out, err = ctl("destroy", "--force", t.name)
    with lock:
        if rc == 0 or "no task named" in err:
            t.state = "gone"


# ---- checks

def marker_pids():
    """Live task processes of this run, by marker."""
    found = {}
    want = f"fault-{a.prefix}-"
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/cmdline", "rb") as f:
                argv = f.read().split(b"\0")
            with open(f"/proc/{d}/stat") as f:
                st = f.read().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if st == "Z" or len(argv) < 4 or not argv[3].decode(errors="replace").startswith(want):
            continue
        found.setdefault(argv[3].decode()[len(want):], []).append(int(d))
    return found


def listed():
    rc, out, err = ctl("list", "--json")
    if rc != 0:
        return None
    import json
    return {t["name"]: t["state"] for t in json.loads(out)}


def check_after_restart():
    ls = listed()
    if ls is None:
        diag("list failed after restart")
        return
    with lock:
        for t in tasks.values():
            if t.state == "acked" and t.name not in ls:
                if not t.destroy_sent:
                    totals["lost"] += 1
                    diag(f"LOST {t.name}: acknowledged, never destroyed, not listed")
                t.state = "gone"
    # orphans: a live process whose task is not listed as running (give kills a moment)
    for attempt in range(20):
        alive = marker_pids()
        ls = listed() or {}
        bad = [n for n in alive if ls.get(n) not in ("running", "starting")]
        if not bad:
            break
        time.sleep(0.1)
    for n in bad:
        totals["orphans"] += 1
        diag(f"ORPHAN {n}: pids {alive[n]} run, sandboxd lists it as {ls.get(n, 'nothing')}")
    # every task directory belongs to a listed task
    dirs = os.listdir(os.path.join(a.state, "tasks"))
    if len([d for d in dirs if not d.startswith(".")]) != len(ls):
        totals["leftovers"] += 1
        diag(f"LEFTOVER: {len(dirs)} task directories, {len(ls)} tasks listed")


def resolve_unknowns():
    """The client's rule after a lost answer: settle unknown starts with destroy --force. A
    start that sandboxd does not know after its restart must have nothing running."""
    unknown = [t for t in tasks.values() if t.state == "unknown"]
    results = {}

    def settle(t):
        results[t.name] = ctl("destroy", "--force", t.name)

    threads = [threading.Thread(target=settle, args=(t,)) for t in unknown]
    for th in threads:
        th.start()
    for th in threads:
        th.join(60)
    undone = [t.name for t in unknown if "no task named" in results.get(t.name, (0, "", ""))[2]]
    for t in unknown:
        t.state = "gone"
    totals["undone"] += len(undone)
    alive = [n for n in undone if n in marker_pids()]
    if alive:
        time.sleep(0.3)
        alive = [n for n in undone if n in marker_pids()]
    for n in alive:
        totals["orphans"] += 1
        diag(f"ORPHAN {n}: 'no task named' after a restart, and it runs")


# ---- the run

daemon_start()
background = []
# the live population
for _ in range(a.live):
    op_start(new_task("long"))
diag(f"{sum(1 for t in tasks.values() if t.state == 'acked')} live tasks started")

for k in range(a.kills):
    live = [t for t in tasks.values() if t.state == "acked" and t.kind == "long" and not t.stopping]
    ops = []
    for _ in range(max(0, a.live - len(live)) + rnd.randint(1, 4)):
        t = new_task("long")
        ops.append((op_start, t))
    for _ in range(rnd.randint(2, 6)):
        ops.append((op_start, new_task("short")))
    rnd.shuffle(live)
    for t in live[:rnd.randint(0, 2)]:
        ops.append((op_stop, t))
    for t in live[2:2 + rnd.randint(0, 2)]:
        ops.append((op_destroy, t))
    # exited or stopped ones, their outcome checked: destroy them
    for t in [t for t in tasks.values() if t.state == "acked" and t.waited][:6]:
        ops.append((op_destroy, t))
    # waits for everything whose exit we expect
    for t in [t for t in tasks.values() if t.state == "acked" and t.expect is not None and not t.waited]:
        ops.append((op_wait, t))
    threads = background + [threading.Thread(target=f, args=(t,)) for f, t in ops]
    for th in threads[len(background):]:
        th.start()
    time.sleep(rnd.uniform(0, 0.25))
    daemon_kill()
    for th in threads:
        th.join(90)
    daemon_start()
    # the shim's rules: settle unknown starts; stops and destroys are sent again
    resolve_unknowns()
    resends = [threading.Thread(target=ctl, args=("stop", "--timeout", "1s", t.name)) for t in tasks.values()
               if t.state == "acked" and t.stopping and not t.waited]
    for th in resends:
        th.start()
    check_after_restart()
    background = resends  # joined after the next kill: a stop answers when its task is gone
    if (k + 1) % 10 == 0:
        diag(f"{k + 1} kills: " + " ".join(f"{x}={v}" for x, v in totals.items()))

# the end: every outcome collected, everything destroyed
for t in list(tasks.values()):
    if t.state == "acked" and t.expect is not None and not t.waited:
        op_wait(t)
for t in list(tasks.values()):
    if t.state in ("acked", "unknown"):
        op_destroy(t)
time.sleep(0.2)
rest = marker_pids()
for n, pids in rest.items():
    totals["orphans"] += 1
    diag(f"ORPHAN at the end: {n} (pids {pids})")
ls = listed()
if ls:
    totals["leftovers"] += len(ls)
    diag(f"LEFTOVER tasks still listed: {sorted(ls)[:10]}")
daemon.send_signal(signal.SIGTERM)
daemon.wait()
left = [p for p in glob.glob(os.path.join(a.state, "tasks", "*"))]
for g in glob.glob(a.cgroup_glob):
    for root, dirs, files in os.walk(g):
        left += [os.path.join(root, d) for d in dirs]
if left:
    totals["leftovers"] += len(left)
    diag("LEFTOVER: " + " ".join(left[:10]))
counts = {}
with open(a.marks) as f:
    for line in f:
        counts[line.strip()] = counts.get(line.strip(), 0) + 1
for m, c in counts.items():
    if m.startswith(f"fault-{a.prefix}-") and c > 1:
        totals["twice"] += 1
        diag(f"TWICE: {m} ran {c} times")
print("totals " + " ".join(f"{x}={v}" for x, v in totals.items()), flush=True)
