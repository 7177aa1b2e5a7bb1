//! `reflex policy test` end to end through the real binary: the summary line and exit codes,
//! what a failing test prints, test files that cannot be run, `--policy`, `at:`, inline
//! alerts, and the default policy's own test file.

// Test helpers outside #[test] functions: a panic there is a failed test too.
#![allow(clippy::unwrap_used)]
mod common;

use std::process::Output;

use common::{edited_snapshot, event, reflex, repo, snapshot, temp_file};

/// `reflex policy test ARGS`: exit code, stdout, stderr.
fn policy_test(args: &[&str]) -> (i32, String, String) {
    let mut all = vec!["policy", "test"];
    all.extend_from_slice(args);
    let Output {
        status,
        stdout,
        stderr,
    } = reflex(&all);
    (
        status.code().expect("exit code"),
        String::from_utf8(stdout).unwrap(),
        String::from_utf8(stderr).unwrap(),
    )
}

fn last_line(stdout: &str) -> &str {
    stdout.lines().last().unwrap_or_default()
}

/// A test file against the sample snapshot (an absolute path, so the file may live anywhere).
fn against_sample(tests: &str) -> String {
    format!("cluster: {}\ntests:\n{tests}", snapshot())
}

const CRASHLOOP_WORKER_RESTARTS: &str = "
  - name: worker crash loop restarts the pod
    event: EVENT
    expect:
      - { rule: kube-pod-crash-looping, action: restart_pod, target: { kind: Pod, namespace: production, name: worker-69d4c8b7f-h7s2d }, verdict: planned }
";

fn crashloop_worker(expect_action: &str) -> String {
    CRASHLOOP_WORKER_RESTARTS
        .replace("EVENT", &event("alertmanager/pod-crashloop-worker.json"))
        .replace("action: restart_pod", &format!("action: {expect_action}"))
}

#[test]
fn passing_tests_exit_0_and_end_with_the_summary_line() {
    let file = temp_file(
        "pt-pass.yaml",
        &against_sample(&format!(
            "{}
  - name: a resolved alert is ignored
    event: {}
    expect:
      - {{ action: null, verdict: ignored }}
",
            crashloop_worker("restart_pod"),
            event("alertmanager/pod-crashloop-worker-resolved.json")
        )),
    );
    let (code, out, err) = policy_test(&[&file]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("  ok    worker crash loop restarts the pod\n"),
        "{out}"
    );
    assert!(
        out.contains("  ok    a resolved alert is ignored\n"),
        "{out}"
    );
    assert_eq!(last_line(&out), "2 passed, 0 failed", "{out}");
}

#[test]
fn a_failing_expectation_exits_1_with_expected_and_got_per_key() {
    let file = temp_file(
        "pt-fail.yaml",
        &against_sample(&format!(
            "{}
  - name: the sick node is replaced
    event: {}
    expect:
      - {{ action: replace_node, verdict: planned }}
",
            crashloop_worker("rollback"),
            event("alertmanager/node-not-ready-sick-node.json")
        )),
    );
    let (code, out, err) = policy_test(&[&file]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(
        out.contains("  FAIL  worker crash loop restarts the pod\n"),
        "{out}"
    );
    assert!(out.contains("  ok    the sick node is replaced\n"), "{out}");
    // One row per differing key, the columns aligned under their headers; keys that match
    // are not listed.
    let rows: Vec<&str> = out
        .lines()
        .skip_while(|l| !l.contains("FAIL"))
        .filter(|l| {
            let l = l.trim_start();
            l.starts_with("key ") || l.starts_with("action ")
        })
        .collect();
    assert_eq!(rows.len(), 2, "{out}");
    let (header, action) = (rows[0], rows[1]);
    assert_eq!(header.find("expected"), action.find("rollback"), "{out}");
    assert_eq!(header.find("got"), action.find("restart_pod"), "{out}");
    assert!(!out.contains("target.name"), "{out}");
    assert!(
        out.contains("created 17 days before the alert (more than 1h); so restart_pod instead"),
        "the record's reason is shown: {out}"
    );
    assert_eq!(last_line(&out), "1 passed, 1 failed", "{out}");
}

#[test]
fn an_input_yielding_more_alerts_than_expected_fails_and_says_so() {
    let file = temp_file(
        "pt-count.yaml",
        &against_sample(&format!(
            "  - name: one rollback expected
    event: {}
    expect:
      - {{ action: rollback, verdict: planned }}
",
            event("scenarios/cooldown-vote-rollback-twice.json")
        )),
    );
    let (code, out, _) = policy_test(&[&file]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("expected 1 alert, the input yielded 2"),
        "{out}"
    );
    assert!(
        out.contains(
            "alert 2  KubePodCrashLooping (alertmanager, firing): suppressed rollback Deployment production/vote (not expected)"
        ),
        "{out}"
    );
    assert_eq!(last_line(&out), "0 passed, 1 failed", "{out}");
}

/// Runs a test file that must be refused: exit 2, nothing run, stderr containing `why`.
fn refused(name: &str, contents: &str, why: &str) {
    let file = temp_file(name, contents);
    let (code, out, err) = policy_test(&[&file]);
    assert_eq!(code, 2, "{name}: {out}{err}");
    assert_eq!(last_line(&out), "0 passed, 0 failed", "{name}: {out}");
    assert!(
        err.contains("refused") && err.contains(why),
        "{name}: {err}"
    );
}

#[test]
fn test_files_that_cannot_be_run_exit_2_naming_the_problem() {
    let worker = event("alertmanager/pod-crashloop-worker.json");
    refused(
        "pt-unknown-key.yaml",
        &format!(
            "tests:\n  - name: x\n    event: {worker}\n    expect:\n      - {{ verdcit: planned }}\n"
        ),
        "tests[0].expect[0]: unknown field `verdcit`",
    );
    refused(
        "pt-unknown-top-key.yaml",
        &format!("cluser: x.json\ntests:\n  - name: x\n    event: {worker}\n    expect: [{{}}]\n"),
        "unknown field `cluser`",
    );
    refused(
        "pt-unknown-verdict.yaml",
        &format!(
            "tests:\n  - name: x\n    event: {worker}\n    expect:\n      - {{ verdict: plannd }}\n"
        ),
        "unknown variant `plannd`",
    );
    refused(
        "pt-missing-event.yaml",
        "tests:\n  - name: x\n    event: no-such-event.json\n    expect:\n      - { verdict: planned }\n",
        "tests[0] (\"x\"): event: cannot read",
    );
    refused(
        "pt-both.yaml",
        &format!(
            "tests:\n  - name: x\n    event: {worker}\n    alert: {{ source: alertmanager, name: A, status: firing, starts_at: '2026-11-20T09:30:00Z' }}\n    expect: [{{}}]\n"
        ),
        "gives both event and alert",
    );
    refused(
        "pt-neither.yaml",
        "tests:\n  - name: x\n    expect: [{}]\n",
        "gives neither event nor alert",
    );
    refused(
        "pt-nonsense-alert.yaml",
        "tests:\n  - name: x\n    alert: { source: alertmanager, name: A, status: insufficient_data, starts_at: '2026-11-20T09:30:00Z' }\n    expect: [{}]\n",
        "alert: status: insufficient_data is a CloudWatch alarm state",
    );
    refused(
        "pt-bad-start.yaml",
        "tests:\n  - name: x\n    alert: { source: alertmanager, name: A, status: firing, starts_at: yesterday }\n    expect: [{}]\n",
        "alert: starts_at:",
    );
    refused(
        "pt-bad-snapshot.yaml",
        &format!(
            "cluster: {worker}\ntests:\n  - name: x\n    event: {worker}\n    expect: [{{}}]\n"
        ),
        "cluster snapshot",
    );
}

const BAD_POLICY: &str = "rules:\n  - name: explode\n    match: { alertname: [A] }\n    class: pod_not_ready\n    action: replace_node\n    target: { kind: Pod, namespace: a, name: b }\n";

#[test]
fn a_bad_policy_exits_2_whether_the_file_or_the_command_line_names_it() {
    let policy = temp_file("pt-bad-policy.yaml", BAD_POLICY);
    let tests = format!(
        "policy: {policy}\n{}",
        against_sample(&crashloop_worker("restart_pod"))
    );
    refused("pt-names-bad-policy.yaml", &tests, "rule \"explode\"");

    let file = temp_file(
        "pt-good.yaml",
        &against_sample(&crashloop_worker("restart_pod")),
    );
    let (code, _, err) = policy_test(&["--policy", &policy, &file]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("rule \"explode\""), "{err}");
}

const NOTIFY_POLICY: &str = "rules:
  - name: crash-loops-page-on-call
    match: { source: alertmanager, alertname: [KubePodCrashLooping] }
    class: pod_crash_loop
    action: notify
    target: { kind: Pod, namespace: \"{namespace}\", name: \"{pod}\" }
";

#[test]
fn the_command_line_policy_wins_over_the_files() {
    // The file names a policy that only notifies; the test expects the default policy's
    // restart. Run as written it fails; with --policy the default policy is tested.
    let notify = temp_file("pt-notify-policy.yaml", NOTIFY_POLICY);
    let file = temp_file(
        "pt-names-notify.yaml",
        &format!(
            "policy: {notify}\n{}",
            against_sample(&crashloop_worker("restart_pod"))
        ),
    );
    let (code, out, _) = policy_test(&[&file]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains(&format!("policy {notify};")), "{out}");
    assert!(out.contains("crash-loops-page-on-call"), "{out}");

    let default = repo().join("shared/core/policy/default.yaml");
    let default = default.to_str().unwrap();
    let (code, out, err) = policy_test(&["--policy", default, &file]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains(&format!("policy {default};")), "{out}");
    assert_eq!(last_line(&out), "1 passed, 0 failed", "{out}");
}

#[test]
fn paths_in_a_test_file_are_relative_to_it() {
    let dir = std::env::temp_dir().join(format!("reflex-pt-relative-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("events")).unwrap();
    std::fs::copy(snapshot(), dir.join("cluster.json")).unwrap();
    std::fs::copy(
        event("alertmanager/pod-crashloop-worker.json"),
        dir.join("events/worker.json"),
    )
    .unwrap();
    std::fs::write(dir.join("policy.yaml"), NOTIFY_POLICY).unwrap();
    std::fs::write(
        dir.join("notify.test.yaml"),
        "policy: policy.yaml\ncluster: cluster.json\ntests:\n  - name: the crash loop pages\n    event: events/worker.json\n    expect:\n      - { rule: crash-loops-page-on-call, action: notify, verdict: planned }\n",
    )
    .unwrap();
    let (code, out, err) = policy_test(&[dir.join("notify.test.yaml").to_str().unwrap()]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("policy policy.yaml; snapshot cluster.json; 1 test"),
        "{out}"
    );
}

#[test]
fn the_evaluation_time_changes_the_outcome() {
    // Node ip-10-0-3-199 was cordoned by reflex at 09:20, so its replacement is in flight
    // for 30 minutes: the sick node waits at its alert's time (09:30), and is replaced when
    // evaluated at 10:00, when that cordon no longer counts.
    let cluster = edited_snapshot(
        "pt-cordoned.json",
        "Node",
        "ip-10-0-3-199.ec2.internal",
        |node| {
            node["spec"]["unschedulable"] = true.into();
            node["metadata"]["annotations"]["reflex/cordoned-by"] =
                "reflex rule kube-node-not-ready for KubeNodeNotReady at 2026-11-20T09:20:00.000Z"
                    .into();
        },
    );
    let sick = event("alertmanager/node-not-ready-sick-node.json");
    let file = temp_file(
        "pt-at.yaml",
        &format!(
            "cluster: {cluster}
tests:
  - name: at the alert's time another replacement is in flight
    event: {sick}
    expect:
      - {{ action: replace_node, verdict: suppressed, reason: a node replacement is already in flight (ip-10-0-3-199.ec2.internal) }}
  - name: half an hour later that cordon no longer counts
    at: 2026-11-20T10:00:00Z
    event: {sick}
    expect:
      - {{ action: replace_node, target: {{ kind: Node, name: ip-10-0-2-41.ec2.internal }}, verdict: planned }}
"
        ),
    );
    let (code, out, err) = policy_test(&[&file]);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(last_line(&out), "2 passed, 0 failed", "{out}");
}

#[test]
fn inline_alerts_run_like_the_events_their_sources_send() {
    // The same crash loop, once as the sample event and once written out: the same decision.
    // And a CloudWatch alarm written out as labels finds the rule of its metric.
    let file = temp_file(
        "pt-inline.yaml",
        &against_sample(&format!(
            "{}
  - name: the same crash loop, written out
    alert:
      source: alertmanager
      name: KubePodCrashLooping
      status: firing
      starts_at: 2026-11-20T09:30:00.117Z
      labels: {{ namespace: production, pod: worker-69d4c8b7f-h7s2d }}
    expect:
      - {{ rule: kube-pod-crash-looping, action: restart_pod, target: {{ kind: Pod, namespace: production, name: worker-69d4c8b7f-h7s2d }}, verdict: planned, reason: so restart_pod instead }}
  - name: a status check alarm written out
    alert:
      source: cloudwatch
      name: node-status
      status: firing
      starts_at: 2026-11-20T09:30:00Z
      labels: {{ metric_namespace: AWS/EC2, metric_name: StatusCheckFailed_System, InstanceId: i-0b7d3a9f1e6c24c58 }}
    expect:
      - {{ class: instance_unhealthy, action: replace_node, target: {{ kind: Node, name: ip-10-0-2-41.ec2.internal }}, verdict: planned }}
  - name: the same alarm back to OK
    alert:
      source: cloudwatch
      name: node-status
      status: resolved
      starts_at: 2026-11-20T09:40:00Z
      labels: {{ metric_namespace: AWS/EC2, metric_name: StatusCheckFailed_System, InstanceId: i-0b7d3a9f1e6c24c58 }}
    expect:
      - {{ rule: ec2-status-check-failed, action: null, verdict: ignored }}
",
            crashloop_worker("restart_pod")
        )),
    );
    let (code, out, err) = policy_test(&[&file]);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(last_line(&out), "4 passed, 0 failed", "{out}");
}

#[test]
fn every_test_starts_with_an_empty_ledger() {
    // The same rollback twice, in two tests: each is planned, the second test does not see
    // the first test's action (within one event it would be in cooldown).
    let vote = event("alertmanager/pod-crashloop-vote-recent-rollout.json");
    let test = format!(
        "  - name: vote rolls back
    event: {vote}
    expect:
      - {{ action: rollback, verdict: planned }}
"
    );
    let file = temp_file("pt-fresh.yaml", &against_sample(&test.repeat(2)));
    let (code, out, err) = policy_test(&[&file]);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(last_line(&out), "2 passed, 0 failed", "{out}");
}

#[test]
fn the_default_policy_passes_its_own_tests() {
    let (code, out, err) = policy_test(&["shared/core/policy/default.test.yaml"]);
    assert_eq!(code, 0, "{out}{err}");
    let ok = out.lines().filter(|l| l.starts_with("  ok    ")).count();
    assert!(ok >= 40, "{out}");
    assert!(
        out.starts_with("shared/core/policy/default.test.yaml: default policy; snapshot ../../../events/cluster/voting-app.json;"),
        "{out}"
    );
    assert_eq!(last_line(&out), format!("{ok} passed, 0 failed"), "{out}");
}

#[test]
fn several_files_add_up_and_an_unusable_one_makes_the_exit_2() {
    let good = temp_file(
        "pt-several-good.yaml",
        &against_sample(&crashloop_worker("restart_pod")),
    );
    let bad = temp_file(
        "pt-several-failing.yaml",
        &against_sample(&crashloop_worker("rollback")),
    );
    let (code, out, _) = policy_test(&[&good, &bad]);
    assert_eq!(code, 1, "{out}");
    assert_eq!(last_line(&out), "1 passed, 1 failed", "{out}");

    let (code, out, err) = policy_test(&[&good, "no-such-tests.yaml", &bad]);
    assert_eq!(code, 2, "{out}{err}");
    assert!(
        err.contains("test file no-such-tests.yaml refused"),
        "{err}"
    );
    assert_eq!(last_line(&out), "1 passed, 1 failed", "{out}");
}

#[test]
fn policy_check_points_at_policy_test() {
    let file = repo().join("shared/core/policy/default.yaml");
    let out = reflex(&["policy", "check", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        last_line(&text).starts_with(&format!(
            "test what it decides: reflex policy test --policy {}",
            file.display()
        )),
        "{text}"
    );
}

#[test]
fn a_reader_that_goes_away_does_not_turn_a_pass_into_an_error() {
    use std::process::{Command, Stdio};

    // `reflex policy test ... | head -0`: the reader is gone before the first line.
    let mut child = Command::new(env!("CARGO_BIN_EXE_reflex"))
        .args(["policy", "test", "shared/core/policy/default.test.yaml"])
        .current_dir(repo())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();

    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.is_empty(), "{stderr}");
}

#[test]
fn a_test_may_name_a_snapshot_of_its_own_and_it_wins_over_the_files() {
    // The same Karpenter node alert: the file's snapshot (the pool with one NotReady node)
    // plans the replacement; a test naming the pool-down snapshot sees the pool's cap.
    let alert = event("alertmanager/node-not-ready-karpenter.json");
    let file = temp_file(
        "pt-own-cluster.yaml",
        &format!(
            "cluster: {}
tests:
  - name: the file's snapshot
    event: {alert}
    expect:
      - {{ action: replace_node, verdict: planned, reason: delete the NodeClaim }}
  - name: the test's own snapshot
    cluster: {}
    event: {alert}
    expect:
      - {{ action: replace_node, verdict: suppressed, reason: \"NodePool default: 2 of 5 nodes are NotReady\" }}
",
            event("cluster/voting-app-karpenter.json"),
            event("cluster/voting-app-karpenter-pool-down.json"),
        ),
    );
    let (code, stdout, stderr) = policy_test(&[&file]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert_eq!(last_line(&stdout), "2 passed, 0 failed", "{stdout}");

    let missing = temp_file(
        "pt-own-cluster-missing.yaml",
        &format!(
            "tests:
  - name: a snapshot that is not there
    cluster: no-such-snapshot.json
    event: {alert}
    expect:
      - {{ verdict: planned }}
"
        ),
    );
    let (code, stdout, stderr) = policy_test(&[&missing]);
    assert_eq!(code, 2, "{stdout}{stderr}");
    assert!(
        stderr.contains("a snapshot that is not there") && stderr.contains("cluster"),
        "{stderr}"
    );
}
