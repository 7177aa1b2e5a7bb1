#!/usr/bin/env bash
# What one decision costs on a large cluster: the fake API server is seeded with a
# generated voting-app-shaped cluster (`fake-cluster`, default 5,000 nodes, 100,000 pods,
# 2,000 Deployments), and for each action kind and each verdict path that reads the
# cluster one `reflex replay --kubeconfig` (release build, dry run: every planned call is
# sent with dryRun=All) is measured: API requests made, bytes read, wall time and peak RSS
# of the process. Each row has its baseline from the same run: one GET of the alert's
# object (curl), or `kubectl get` of the largest collection the decision reads. Then the
# `remediate` function itself (release binary, dry run) against the same fake API server:
# it runs under `cargo lambda watch --only-lambda-apis` (the Lambda runtime API emulator)
# with moto for AWS (tests/e2e/aws_setup.py makes the template's resources), each event
# wrapped in the SNS event the alerts topic delivers and sent to the emulator's Invoke API.
# For each decision of the table a fresh process: the invocation's wall time and the
# process's peak RSS, against its peak RSS once ready, before any event. Then ALERTS
# distinct alerts (KubePodCrashLooping, one per pod of the cluster) through one process in
# a row, against as many alerts no rule matches through another: alerts per second and
# peak RSS. Last, the replay of a snapshot file of 1,000 added nodes and 20,000 pods,
# against `cat` of it.
#
#   bash tests/bench/scale.sh   (NODES=5000 PODS=100000 DEPLOYMENTS=2000 RUNS=3
#                                ALERTS=1000 REMEDIATE=1; REMEDIATE=0 skips remediate)
#
# The generated snapshots go to target/scale/ (about 150 MB and 30 MB; git-ignored). moto
# and cargo-lambda are pip-installed into .venv on first use, as tests/e2e/lib.sh does.
# The fake API server needs about 2 GB of memory at 5,000 nodes. Not part of tests/run.sh.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
nodes=${NODES:-5000}
pods=${PODS:-100000}
deployments=${DEPLOYMENTS:-2000}
runs=${RUNS:-3}
remediate=${REMEDIATE:-1}
alerts=${ALERTS:-1000}
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
if [ "$remediate" != 0 ]; then
    # moto's server and cargo-lambda in the project-local venv, as tests/e2e/lib.sh has them.
    [ -x .venv/bin/python ] || python3 -m venv .venv
    [ -x .venv/bin/moto_server ] || .venv/bin/pip install --quiet 'moto[server]==5.2.5'
    [ -x .venv/bin/cargo-lambda ] || .venv/bin/pip install --quiet 'cargo-lambda==1.9.2'
fi
python3 - "$big" "$small" "$kubectl" "$runs" "$remediate" "$alerts" <<'PY'
import atexit, json, os, subprocess, sys, tempfile, time, urllib.error, urllib.request

big, small, kubectl, runs = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
remediate_runs, alerts = sys.argv[5] != "0", int(sys.argv[6])

def started(proc):
    """`proc`, stopped when this script ends, whichever way it ends."""
    atexit.register(lambda: proc.poll() is None and proc.terminate())
    return proc

def peak_kb(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0

# The fake API server: its start-up (to the URL line) and its memory once seeded.
t0 = time.perf_counter()
fake = started(subprocess.Popen(["target/release/fake-kube", "--snapshot", big, "--controllers", "off"],
                                stdout=subprocess.PIPE, text=True))
url = fake.stdout.readline().strip()
seeded_in = time.perf_counter() - t0
print(f"fake API server: {os.path.getsize(big)/1e6:.0f} MB snapshot seeded in {seeded_in:.2f} s, "
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

# `remediate` itself on the same cluster: the release binary under `cargo lambda watch`'s
# runtime API emulator, against moto (tests/e2e/aws_setup.py makes the template's
# resources) and this fake API server, in dry-run mode, the events wrapped in the SNS
# event the alerts topic delivers. First one fresh process per decision: its peak RSS
# (VmHWM once the invocation answered) against the same process once ready, before any
# event. Then one process and `alerts` distinct alerts (KubePodCrashLooping for as many
# pods) in a row, against the same number of alerts no rule matches.
if remediate_runs:
    import socket
    venv = ".venv/bin/"
    def free_port():
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            return sock.getsockname()[1]
    def wait_for(test, what, seconds=60):
        deadline = time.time() + seconds
        while time.time() < deadline:
            if test():
                return
            time.sleep(0.05)
        sys.exit(f"scale.sh: no {what} after {seconds} s")
    def answers(u):
        try:
            urllib.request.urlopen(u, timeout=1).read()
            return True
        except urllib.error.HTTPError:
            return True
        except OSError:
            return False
    moto_url = f"http://127.0.0.1:{free_port()}"
    moto = started(subprocess.Popen([venv + "moto_server", "-H", "127.0.0.1", "-p", moto_url.rsplit(":", 1)[1]],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    wait_for(lambda: answers(moto_url + "/moto-api/"), "moto")
    rt_port = free_port()
    watch_log = tempfile.NamedTemporaryFile("w+", suffix=".log", delete=False)
    watch = started(subprocess.Popen([venv + "cargo-lambda", "lambda", "watch", "--only-lambda-apis",
                                      "-A", "127.0.0.1", "-P", str(rt_port)],
                                     stdout=watch_log, stderr=subprocess.STDOUT))
    wait_for(lambda: "starting Runtime server" in open(watch_log.name).read(), "runtime API")
    invoke_url = f"http://127.0.0.1:{rt_port}/2015-03-31/functions/_/invocations"
    topic = "arn:aws:sns:us-east-1:111122223333:reflex-alerts"
    template = json.load(open("events/sns-alertmanager/pod-crashloop-worker.json"))

    def sent_now():
        # Delivered as it is sent: an old send time is a stale delivery, not acted on.
        return time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())

    def sns(webhook):
        event = json.loads(json.dumps(template))
        event["Records"][0]["Sns"]["Message"] = json.dumps(webhook)
        event["Records"][0]["Sns"]["Timestamp"] = sent_now()
        return json.dumps(event).encode()

    def eventbridge(event):
        event["time"] = sent_now()
        return json.dumps(event).encode()

    def fresh_aws():
        urllib.request.urlopen(urllib.request.Request(moto_url + "/moto-api/reset", method="POST")).read()
        out = subprocess.run([venv + "python", "tests/e2e/aws_setup.py", moto_url, "scale"],
                             capture_output=True, text=True, check=True).stdout
        return [l for l in out.splitlines() if l.startswith("REFLEX_") and "ALERTS" not in l]

    def start_remediate(reflex_env, log):
        env = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/"),
               "AWS_LAMBDA_RUNTIME_API": f"http://127.0.0.1:{rt_port}/.rt",
               "AWS_LAMBDA_FUNCTION_NAME": "_", "AWS_LAMBDA_FUNCTION_VERSION": "1",
               "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256", "AWS_REGION": "us-east-1",
               "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
               "AWS_ENDPOINT_URL": moto_url, "RUST_LOG": "info",
               "REFLEX_MODE": "dry-run", "REFLEX_CLUSTER_NAME": "voting-prod",
               "REFLEX_POLICY_PATH": "", "REFLEX_KUBECONFIG": kubeconfig.name,
               "REFLEX_ALERTS_TOPIC_ARN": topic}
        env.update(l.split("=", 1) for l in reflex_env)
        proc = started(subprocess.Popen(["target/release/remediate"], env=env, stdout=log,
                                        stderr=subprocess.STDOUT))
        wait_for(lambda: "remediate ready" in open(log.name).read(), "remediate ready")
        return proc

    def invoke(body):
        req = urllib.request.Request(invoke_url, data=body, method="POST",
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=120) as answer:
                return json.loads(answer.read() or b"null")
        except urllib.error.HTTPError as failed:
            # The function returned an error (Lambda would retry or dead-letter the event).
            body = failed.read().decode(errors="replace")
            try:
                return {"error": json.loads(body).get("errorType", body[:60])}
            except ValueError:
                return {"error": body[:60]}

    def last_reason(path):
        """The reason of the last audit record the function logged (what went wrong, for a
        row that failed or was rejected)."""
        why = ""
        for line in open(path):
            try:
                fields = json.loads(line).get("fields", {})
            except ValueError:
                continue
            if fields.get("message") == "audit record":
                why = fields.get("reason", "")[:120]
                record = json.loads(fields.get("record") or "{}")
                failed = [step for step in record.get("steps", []) if step.get("result") == "failed"]
                if failed:
                    why = f"{failed[0]['op']} failed: {failed[0].get('detail', '')[:160]}"
        return why

    def summary(answer):
        if isinstance(answer, dict) and "error" in answer:
            return f"error: {answer['error']}"
        records = answer.get("records", []) if isinstance(answer, dict) else []
        if not records:
            return str(answer)[:40]
        r = records[0]
        return f"{r['verdict']}/{(r.get('action') or '-').split(' ')[0]}"

    print(f"\n`remediate` (release, dry run) on the same cluster, one fresh process per decision")
    print(f"{'decision':30} {'verdict/action':24} {'wall':>9} {'peak RSS':>9}   baseline: the process ready, no event yet")
    for label, event, _ in cases:
        walls, peaks, idles, verdict = [], [], [], ""
        for _ in range(runs):
            reflex_env = fresh_aws()
            log = tempfile.NamedTemporaryFile("w+", suffix=".log", delete=False)
            proc = start_remediate(reflex_env, log)
            idles.append(peak_kb(proc.pid))
            t = time.perf_counter()
            body = json.load(open(event))
            answer = invoke(sns(body) if "alertmanager" in event else eventbridge(body))
            walls.append(time.perf_counter() - t)
            peaks.append(peak_kb(proc.pid))
            verdict = summary(answer)
            proc.terminate()
            proc.wait()
            why = last_reason(log.name)
            os.unlink(log.name)
        walls.sort()
        shown = "" if verdict.startswith(("planned", "ignored", "suppressed")) else f"   ({why})"
        print(f"{label:30} {verdict:24} {walls[len(walls)//2]*1000:>6.0f} ms {max(peaks)/1024:>6.0f} MB"
              f"   {max(idles)/1024:.0f} MB{shown}")

    # Throughput: `alerts` distinct pods, one alert each, through one process in a row.
    pods = json.loads(urllib.request.urlopen(f"{url}/api/v1/pods?limit={alerts}").read())["items"]
    def crashloop(pod):
        return {"receiver": "reflex", "status": "firing", "version": "4", "groupKey": "{}:{}",
                "alerts": [{"status": "firing", "labels": {
                    "alertname": "KubePodCrashLooping", "cluster": "voting-prod",
                    "namespace": pod["metadata"]["namespace"], "pod": pod["metadata"]["name"],
                    "container": pod["spec"]["containers"][0]["name"], "reason": "CrashLoopBackOff",
                    "severity": "warning"},
                    "annotations": {}, "startsAt": "2026-11-20T09:30:00.117Z",
                    "endsAt": "0001-01-01T00:00:00Z", "generatorURL": "", "fingerprint": ""}]}
    def unmatched(i):
        alert = crashloop(pods[i % len(pods)])
        alert["alerts"][0]["labels"]["alertname"] = f"ScaleBenchNoRule{i}"
        return alert
    print(f"\n`remediate` throughput: {len(pods)} distinct alerts through one process, one after another")
    for label, bodies in [("KubePodCrashLooping, one per pod", [sns(crashloop(p)) for p in pods]),
                          ("baseline: an alert no rule matches", [sns(unmatched(i)) for i in range(len(pods))])]:
        reflex_env = fresh_aws()
        log = tempfile.NamedTemporaryFile("w+", suffix=".log", delete=False)
        proc = start_remediate(reflex_env, log)
        verdicts = {}
        t = time.perf_counter()
        for body in bodies:
            v = summary(invoke(body))
            verdicts[v] = verdicts.get(v, 0) + 1
        wall = time.perf_counter() - t
        peak = peak_kb(proc.pid)
        proc.terminate()
        proc.wait()
        os.unlink(log.name)
        mix = ", ".join(f"{n} {v}" for v, n in sorted(verdicts.items(), key=lambda kv: -kv[1]))
        print(f"{label:36} {len(bodies)/wall:>7.1f} alerts/s ({wall:.1f} s, "
              f"{wall/len(bodies)*1000:.1f} ms each), peak RSS {peak/1024:.0f} MB; {mix}")
    watch.terminate()
    watch.wait()
    moto.terminate()
    moto.wait()
    os.unlink(watch_log.name)
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
