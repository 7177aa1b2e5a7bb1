#!/usr/bin/env bash
# Whole-process wall time and peak memory of a single-event `reflex replay` against the
# sample snapshot, with `cat` of the same two files as the baseline measured in the same run
# (process start, reading the inputs, writing output). Targets: under 20 ms and 20 MB.
#
#   bash tests/bench/replay-startup.sh [RUNS]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
runs=${1:-50}
# The package set of the other release builds (tests/bench/scale.sh), so features unify the
# same way and one build serves both.
nice cargo build --release --quiet --locked -p reflex-cli -p reflex-remediate -p reflex-fake-kube
snapshot=events/cluster/voting-app.json
event=events/alertmanager/pod-crashloop-vote-recent-rollout.json
python3 - "$runs" "$snapshot" "$event" <<'PY'
import subprocess, sys, time
runs, snapshot, event = int(sys.argv[1]), sys.argv[2], sys.argv[3]
cases = {
    "baseline: cat": ["cat", snapshot, event],
    "reflex replay": ["target/release/reflex", "replay", "--format", "json", "--cluster", snapshot, event],
}
results = {}
for name, cmd in cases.items():
    times, peaks = [], []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run(cmd, stdout=subprocess.DEVNULL, check=True)
        times.append(time.perf_counter() - t0)
        peaks.append(int(subprocess.run(["/usr/bin/time", "-f", "%M", *cmd], stdout=subprocess.DEVNULL,
                                        stderr=subprocess.PIPE, text=True, check=True).stderr.strip().splitlines()[-1]))
    times.sort()
    results[name] = (times[len(times) // 2], max(peaks))
    print(f"{name:16} median {times[len(times)//2]*1000:6.2f} ms   p90 {times[int(len(times)*0.9)]*1000:6.2f} ms   peak RSS {max(peaks)/1024:5.1f} MB")
base, ours = results["baseline: cat"], results["reflex replay"]
print(f"ratio reflex/cat: wall {ours[0]/base[0]:.1f}x, peak RSS {ours[1]/base[1]:.1f}x")
PY
