#!/usr/bin/env bash
# What one decision costs on a large cluster: the fake API server is seeded with a
# generated voting-app-shaped cluster (`fake-cluster`, default 5,000 nodes, 100,000 pods,
# 2,000 Deployments), and for each action kind and each verdict path that reads the
# cluster one `reflex replay --kubeconfig` (release build, dry run: every planned call is
# sent with dryRun=All) is measured: API requests made, bytes read, wall time and peak RSS
# of the process. Each row has its baseline from the same run: one GET of the alert's
# object (curl), or `kubectl get` of the largest collection the decision reads. Then the
# replay of a snapshot file of 1,000 added nodes and 20,000 pods, against `cat` of it.
#
#   bash tests/bench/scale.sh            (NODES=5000 PODS=100000 DEPLOYMENTS=2000 RUNS=3)
#
# The generated snapshots go to target/scale/ (about 150 MB and 30 MB; git-ignored).
# Not part of tests/run.sh.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
nodes=${NODES:-5000}
pods=${PODS:-100000}
deployments=${DEPLOYMENTS:-2000}
runs=${RUNS:-3}
# The same package set as the other release builds, so features unify the same way and
# nothing is rebuilt twice (reflex-remediate is built too).
nice cargo build --release --quiet --locked -p reflex-cli -p reflex-remediate -p reflex-fake-kube
kubectl=$(bash tests/kubectl.sh)
mkdir -p target/scale
big=target/scale/cluster-${nodes}.json
small=target/scale/cluster-1000.json
[ -s "$big" ] || target/release/fake-cluster --nodes "$nodes" --pods "$pods" \
    --deployments "$deployments" --out "$big"
[ -s "$small" ] || target/release/fake-cluster --nodes 1000 --pods 20000 --deployments 400 \
    --out "$small"
python3 - "$big" "$small" "$kubectl" "$runs" <<'PY'
import json, os, subprocess, sys, tempfile, time, urllib.request

big, small, kubectl, runs = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])

def peak_kb(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0

# The fake API server: its start-up (to the URL line) and its memory once seeded.
t0 = time.perf_counter()
fake = subprocess.Popen(["target/release/fake-kube", "--snapshot", big, "--controllers", "off"],
                        stdout=subprocess.PIPE, text=True)
url = fake.stdout.readline().strip()
started = time.perf_counter() - t0
print(f"fake API server: {os.path.getsize(big)/1e6:.0f} MB snapshot seeded in {started:.2f} s, "
      f"peak RSS {peak_kb(fake.pid)/1024:.0f} MB")
kubeconfig = tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False)
kubeconfig.write(f"""apiVersion: v1
kind: Config
clusters: [{{name: fake, cluster: {{server: "{url}"}}}}]
users: [{{name: fake, user: {{token: fake}}}}]
contexts: [{{name: fake, context: {{cluster: fake, user: fake}}}}]
current-context: fake
""")
kubeconfig.close()

def admin(method, path):
    req = urllib.request.Request(url + "/_fake/" + path, method=method)
    with urllib.request.urlopen(req) as answer:
        return json.loads(answer.read())

def timed(cmd, keep=True):
    """(median wall s, peak RSS KB, stdout of the last run) over `runs` runs; `keep=False`
    sends stdout to /dev/null (a baseline that prints the file is not charged for Python
    reading it)."""
    walls, peaks, out = [], [], ""
    for _ in range(runs):
        t = time.perf_counter()
        p = subprocess.run(["/usr/bin/time", "-f", "%M", *cmd], text=True,
                           stdout=subprocess.PIPE if keep else subprocess.DEVNULL,
                           stderr=subprocess.PIPE)
        walls.append(time.perf_counter() - t)
        peaks.append(int(p.stderr.strip().splitlines()[-1]))
        out = p.stdout or ""
    walls.sort()
    return walls[len(walls) // 2], max(peaks), out

def baseline_get(path):
    walls = []
    for _ in range(runs):
        t = time.perf_counter()
        with urllib.request.urlopen(url + path) as answer:
            size = len(answer.read())
        walls.append(time.perf_counter() - t)
    walls.sort()
    return walls[len(walls) // 2], size

# (label, event, baseline: ("get", path) | ("kubectl", args))
vote_pod = "/api/v1/namespaces/production/pods/vote-6f7c9b8d5-x2k4q"
worker_pod = "/api/v1/namespaces/production/pods/worker-69d4c8b7f-h7s2d"
cases = [
    ("restart pod", "events/alertmanager/pod-crashloop-worker.json", ("get", worker_pod)),
    ("rollback", "events/alertmanager/pod-crashloop-vote-recent-rollout.json", ("get", vote_pod)),
    ("rollout restart", "events/eventbridge/pod-restarts-worker.json",
     ("get", "/apis/apps/v1/namespaces/production/deployments/worker")),
    ("replace node (node group)", "events/alertmanager/node-not-ready-sick-node.json",
     ("kubectl", ["get", "nodes", "-o", "json"])),
    ("replace node (Karpenter)", "events/alertmanager/node-not-ready-karpenter.json",
     ("kubectl", ["get", "nodes", "-o", "json"])),
    ("suppressed: bare pod on node", "events/alertmanager/node-unreachable-node-b-bare-pod.json",
     ("kubectl", ["get", "nodes", "-o", "json"])),
    ("suppressed: PDB blocks drain", "events/alertmanager/node-not-ready-db-node-pdb-blocks-drain.json",
     ("kubectl", ["get", "nodes", "-o", "json"])),
    ("ignored: node gone", "events/alertmanager/node-not-ready-node-gone.json",
     ("kubectl", ["get", "nodes", "-o", "json"])),
    ("suppressed: opted out", "events/alertmanager/pod-crashloop-db-skip-annotation.json",
     ("get", "/api/v1/namespaces/production/pods/db-0")),
    ("ignored: pod gone", "events/alertmanager/pod-not-ready-pod-gone.json", ("get", vote_pod)),
    ("notify: nothing to roll back", "events/alertmanager/deployment-replicas-mismatch-result.json",
     ("get", "/apis/apps/v1/namespaces/production/deployments/result")),
]
print(f"\n{'decision':30} {'verdict/action':24} {'requests':>8} {'bytes read':>11} {'wall':>9} {'peak RSS':>9}   baseline (same run)")
for label, event, (kind, what) in cases:
    admin("DELETE", "requests")
    wall, peak, out = timed(["target/release/reflex", "replay", "--format", "json",
                             "--kubeconfig", kubeconfig.name, event])
    log = admin("GET", "requests")
    record = json.loads(out.splitlines()[-1]) if out.strip() else {}
    action = record.get("action")
    action = action.get("kind") if isinstance(action, dict) else action
    verdict = f"{record.get('verdict')}/{action or '-'}"
    per_run = len(log) // runs
    read = sum(r.get("bytes") or 0 for r in log) // runs
    if kind == "get":
        b_wall, b_size = baseline_get(what)
        base = f"one GET {b_wall*1000:.1f} ms, {b_size} B"
    else:
        b_wall, b_peak, b_out = timed([kubectl, "--kubeconfig", kubeconfig.name, *what])
        base = f"kubectl {' '.join(what)}: {b_wall*1000:.0f} ms, {b_peak/1024:.0f} MB, {len(b_out)/1e6:.1f} MB out"
    print(f"{label:30} {verdict:24} {per_run:>8} {read:>11,} {wall*1000:>6.0f} ms {peak/1024:>6.0f} MB   {base}")
print(f"\nfake API server peak RSS after the runs: {peak_kb(fake.pid)/1024:.0f} MB")
fake.terminate()
fake.wait()
os.unlink(kubeconfig.name)

# Replay of a snapshot file: the whole file is loaded for one event.
size = os.path.getsize(small)
event = "events/alertmanager/pod-crashloop-vote-recent-rollout.json"
r_wall, r_peak, _ = timed(["target/release/reflex", "replay", "--format", "json", "--cluster", small, event])
c_wall, c_peak, _ = timed(["cat", small, event], keep=False)
print(f"\nreplay of a {size/1e6:.1f} MB snapshot (1,000 added nodes, 20,000 pods): "
      f"{r_wall*1000:.0f} ms, peak RSS {r_peak/1024:.0f} MB ({r_peak*1024/size:.1f}x the file); "
      f"baseline cat: {c_wall*1000:.0f} ms, {c_peak/1024:.1f} MB")
PY
