//! Approvals through the real binary (ARCHITECTURE section 11): a rule that says
//! `approval: required` records its plan as `awaiting_approval` under `replay --execute`,
//! and `reflex approve ID` performs it on the cluster as it is then, once; each refusal
//! (unknown id, nothing awaiting, expired, used, changed target) over an audit log file;
//! two approvals at once over a file and over the DynamoDB table (moto) give one action; a
//! rollback approved with a kubeconfig acts on the live (fake) cluster as its user.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a panic in a test is a failed test

mod common;

use std::process::Output;
use std::sync::LazyLock;

use chrono::{TimeDelta, Utc};
use common::{edited_snapshot, event, moto_env, pairs, replay_json, snapshot, temp_file};
use reflex_core::ledger::Ledger;
use serde_json::Value;

/// The default policy with `approval: required` on the pod-not-ready rule.
static POLICY: LazyLock<String> = LazyLock::new(|| {
    let default = std::fs::read_to_string(common::repo().join("shared/core/policy/default.yaml"))
        .unwrap()
        .replacen(
            "    class: pod_not_ready\n    action: restart_pod\n",
            "    class: pod_not_ready\n    action: restart_pod\n    approval: required\n",
            1,
        );
    assert!(default.contains("approval: required"));
    temp_file("approval-policy.yaml", &default)
});
static SNAPSHOT: LazyLock<String> = LazyLock::new(snapshot);
const POD_NOT_READY: &str = "alertmanager/pod-not-ready-result.json";
const POD: &str = "result-84b6d9c7f-tq5wl";

/// Runs `reflex` as the local user `approver`.
fn run(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut env = env.to_vec();
    env.push(("USER", "approver"));
    common::reflex_env(args, &env)
}

fn stderr(out: &Output) -> String {
    String::from_utf8(out.stderr.clone()).unwrap()
}

/// The one JSON record an `approve --format json` printed.
fn printed(out: &Output) -> Value {
    let stdout = String::from_utf8(out.stdout.clone()).unwrap();
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 1, "one record: {stdout}\n{}", stderr(out));
    serde_json::from_str(lines[0]).unwrap()
}

/// A fresh audit log path.
fn fresh_log(name: &str) -> String {
    let path = temp_file(name, "");
    std::fs::remove_file(&path).unwrap();
    path
}

/// The records of an audit log.
fn logged(log: &str) -> Vec<Value> {
    std::fs::read_to_string(log)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// `replay --execute` of the pod-not-ready alert into `log` at `now`, on `cluster`: the
/// one record.
fn awaiting(log: &str, now: chrono::DateTime<Utc>, cluster: &str) -> Value {
    let now = reflex_core::audit::rfc3339(now);
    let (code, records) = replay_json(&[
        "--policy",
        &POLICY,
        "--cluster",
        cluster,
        "--execute",
        "--audit-log",
        log,
        "--now",
        &now,
        &event(POD_NOT_READY),
    ]);
    assert_eq!(code, 0, "{records:?}");
    assert_eq!(records.len(), 1);
    records.into_iter().next().unwrap()
}

/// `reflex approve ID --audit-log LOG --cluster SNAPSHOT --format json`.
fn approve(id: &str, log: &str, cluster: &str) -> Output {
    run(
        &[
            "approve",
            id,
            "--audit-log",
            log,
            "--cluster",
            cluster,
            "--policy",
            &POLICY,
            "--format",
            "json",
        ],
        &[],
    )
}

#[test]
fn an_action_that_needs_approval_waits_with_its_plan_and_approving_performs_it_once() {
    let log = fresh_log("approve-once.jsonl");
    let record = awaiting(&log, Utc::now(), &SNAPSHOT);
    assert_eq!(record["verdict"], "awaiting_approval", "{record}");
    assert_eq!(record["mode"], "enforce");
    let id = record["id"].as_str().unwrap();
    let steps = record["steps"].as_array().unwrap();
    assert_eq!(steps.len(), 2, "the whole plan: {record}");
    assert!(steps.iter().all(|s| s["result"] == "planned"), "{record}");
    assert_eq!(
        steps[0]["call"],
        format!("DELETE /api/v1/namespaces/production/pods/{POD}")
    );
    let command = format!("reflex approve {id} --audit-log {log}");
    assert_eq!(record["approval"]["command"], command);
    assert!(record["reason"].as_str().unwrap().ends_with(&command));
    assert_eq!(record["approval"]["alert"]["labels"]["pod"], POD);
    let expires =
        chrono::DateTime::parse_from_rfc3339(record["approval"]["expires"].as_str().unwrap())
            .unwrap();
    let time = chrono::DateTime::parse_from_rfc3339(record["time"].as_str().unwrap()).unwrap();
    assert_eq!(expires - time, TimeDelta::minutes(30), "the default ttl");
    assert!(
        record["approval"]["objects"]
            .as_array()
            .unwrap()
            .iter()
            .any(|o| o
                .as_str()
                .unwrap()
                .contains("uid 6d0984d6-2d0d-4dea-9827-8ee456ccf92d")),
        "the plan's objects are pinned by uid: {record}"
    );

    let out = approve(id, &log, &SNAPSHOT);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let done = printed(&out);
    assert_eq!(done["verdict"], "executed", "{done}");
    assert_eq!(done["approves"], id);
    assert_eq!(done["approver"], "local user approver");
    assert!(
        done["reason"].as_str().unwrap().starts_with(&format!(
            "approved by local user approver (record {id}): delete Pod"
        )),
        "{done}"
    );
    assert_eq!(done["steps"][0]["result"], "ok");
    assert_ne!(done["id"], record["id"], "a new record");

    let again = approve(id, &log, &SNAPSHOT);
    assert_eq!(again.status.code(), Some(2), "a used approval is refused");
    let again = printed(&again);
    assert_eq!(again["verdict"], "rejected");
    assert_eq!(again["approves"], id);
    assert!(
        again["reason"].as_str().unwrap().contains(&format!(
            "already used, by record {}",
            done["id"].as_str().unwrap()
        )),
        "{again}"
    );
    let verdicts: Vec<Value> = logged(&log).iter().map(|r| r["verdict"].clone()).collect();
    assert_eq!(verdicts, ["awaiting_approval", "executed", "rejected"]);
}

#[test]
fn a_dry_run_of_a_rule_that_needs_approval_is_planned_as_before() {
    let (code, records) = replay_json(&[
        "--policy",
        &POLICY,
        "--cluster",
        &SNAPSHOT,
        &event(POD_NOT_READY),
    ]);
    assert_eq!(code, 0);
    assert_eq!(records[0]["verdict"], "planned", "{:?}", records[0]);
    assert!(records[0].get("approval").is_none());
}

#[test]
fn guardrails_apply_before_approval_so_an_opted_out_target_is_suppressed_not_awaited() {
    let skipped = edited_snapshot("approve-skip.json", "Pod", POD, |pod| {
        pod["metadata"]["annotations"] = serde_json::json!({ "reflex/skip-remediation": "true" });
    });
    let log = fresh_log("approve-skip.jsonl");
    let record = awaiting(&log, Utc::now(), &skipped);
    assert_eq!(record["verdict"], "suppressed", "{record}");
    assert!(record.get("approval").is_none());
}

#[test]
fn an_unknown_id_or_a_record_not_awaiting_approval_is_refused_with_exit_2_and_recorded() {
    let log = fresh_log("approve-unknown.jsonl");
    let record = awaiting(&log, Utc::now(), &SNAPSHOT);
    let unknown = approve("no-such-record", &log, &SNAPSHOT);
    assert_eq!(unknown.status.code(), Some(2));
    let unknown = printed(&unknown);
    assert_eq!(unknown["verdict"], "rejected");
    assert_eq!(unknown["approves"], "no-such-record");
    assert!(
        unknown["reason"]
            .as_str()
            .unwrap()
            .contains("no record \"no-such-record\""),
        "{unknown}"
    );

    // The approval's own record awaits nothing.
    let done = printed(&approve(record["id"].as_str().unwrap(), &log, &SNAPSHOT));
    assert_eq!(done["verdict"], "executed");
    let not_awaiting = approve(done["id"].as_str().unwrap(), &log, &SNAPSHOT);
    assert_eq!(not_awaiting.status.code(), Some(2));
    let not_awaiting = printed(&not_awaiting);
    assert_eq!(not_awaiting["verdict"], "rejected");
    assert!(
        not_awaiting["reason"]
            .as_str()
            .unwrap()
            .contains("is executed, not awaiting_approval"),
        "{not_awaiting}"
    );
    let stored = logged(&log);
    assert_eq!(stored.len(), 4, "every refusal is recorded: {stored:?}");
    assert!(stored[1..].iter().all(|r| r.get("approves").is_some()));
}

#[test]
fn an_expired_approval_is_refused_and_nothing_is_done() {
    let log = fresh_log("approve-expired.jsonl");
    let record = awaiting(&log, Utc::now() - TimeDelta::hours(2), &SNAPSHOT);
    assert_eq!(record["verdict"], "awaiting_approval");
    let out = approve(record["id"].as_str().unwrap(), &log, &SNAPSHOT);
    assert_eq!(out.status.code(), Some(2));
    let refused = printed(&out);
    assert_eq!(refused["verdict"], "rejected");
    assert!(
        refused["reason"].as_str().unwrap().contains("expired at"),
        "{refused}"
    );
    assert!(refused["steps"].as_array().unwrap().is_empty());
}

#[test]
fn a_target_replaced_since_the_plan_is_suppressed_naming_the_difference() {
    let log = fresh_log("approve-changed.jsonl");
    let record = awaiting(&log, Utc::now(), &SNAPSHOT);
    // The pod was recreated under the same name: another uid.
    let recreated = edited_snapshot("approve-recreated.json", "Pod", POD, |pod| {
        pod["metadata"]["uid"] = "0000aaaa-new0-pod0-uid0-000000000000".into();
    });
    let out = approve(record["id"].as_str().unwrap(), &log, &recreated);
    assert_eq!(out.status.code(), Some(0), "processed: {}", stderr(&out));
    let suppressed = printed(&out);
    assert_eq!(suppressed["verdict"], "suppressed", "{suppressed}");
    let reason = suppressed["reason"].as_str().unwrap();
    assert!(
        reason.contains("the cluster changed since the plan was approved")
            && reason.contains("uid 6d0984d6-2d0d-4dea-9827-8ee456ccf92d")
            && reason.contains("uid 0000aaaa-new0-pod0-uid0-000000000000"),
        "{reason}"
    );
    assert!(
        suppressed["steps"].as_array().unwrap().is_empty(),
        "nothing was done: {suppressed}"
    );
}

#[test]
fn approve_without_a_cluster_to_act_on_is_a_usage_error_and_uses_nothing() {
    let log = fresh_log("approve-nocluster.jsonl");
    let record = awaiting(&log, Utc::now(), &SNAPSHOT);
    let id = record["id"].as_str().unwrap();
    let out = run(
        &["approve", id, "--audit-log", &log, "--policy", &POLICY],
        &[],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("approve needs the cluster to act on"),
        "{}",
        stderr(&out)
    );
    assert_eq!(logged(&log).len(), 1, "nothing recorded");
    let done = printed(&approve(id, &log, &SNAPSHOT));
    assert_eq!(done["verdict"], "executed", "the approval is still usable");
}

#[test]
fn two_approvals_of_one_record_at_once_over_a_file_give_one_action() {
    let log = fresh_log("approve-race.jsonl");
    let record = awaiting(&log, Utc::now(), &SNAPSHOT);
    let id = record["id"].as_str().unwrap().to_owned();
    let racers: Vec<_> = (0..2)
        .map(|_| {
            let (id, log) = (id.clone(), log.clone());
            std::thread::spawn(move || approve(&id, &log, &SNAPSHOT))
        })
        .collect();
    let outs: Vec<Output> = racers.into_iter().map(|r| r.join().unwrap()).collect();
    let mut verdicts: Vec<String> = outs
        .iter()
        .map(|o| printed(o)["verdict"].as_str().unwrap().to_owned())
        .collect();
    verdicts.sort();
    assert_eq!(verdicts, ["executed", "rejected"]);
    let executed = logged(&log)
        .iter()
        .filter(|r| r["verdict"] == "executed")
        .count();
    assert_eq!(executed, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_approvals_of_one_record_at_once_over_the_table_give_one_action_named_by_the_caller_arn()
 {
    let aws = reflex_test_support::aws::moto_aws().await;
    let ledger = reflex_test_support::aws::create_table(&aws).await;
    let table = aws.config().audit_table.clone();
    // The record as the remediate function would store it.
    let log = fresh_log("approve-table.jsonl");
    let record = awaiting(&log, Utc::now(), &SNAPSHOT);
    let mut stored: reflex_core::AuditRecord = serde_json::from_value(record.clone()).unwrap();
    if let Some(pending) = stored.approval.as_mut() {
        pending.command = format!("reflex approve {} --table {table}", stored.id);
    }
    ledger.append(&stored).await.unwrap();
    let id = stored.id.clone();

    let env = moto_env();
    let racers: Vec<_> = (0..2)
        .map(|_| {
            let (id, table, env) = (id.clone(), table.clone(), env.clone());
            tokio::task::spawn_blocking(move || {
                run(
                    &[
                        "approve",
                        &id,
                        "--table",
                        &table,
                        "--cluster",
                        &SNAPSHOT,
                        "--policy",
                        &POLICY,
                        "--format",
                        "json",
                    ],
                    &pairs(&env),
                )
            })
        })
        .collect();
    let mut outs = Vec::new();
    for racer in racers {
        outs.push(racer.await.unwrap());
    }
    let mut codes: Vec<i32> = outs.iter().map(|o| o.status.code().unwrap()).collect();
    codes.sort_unstable();
    assert_eq!(
        codes,
        [0, 2],
        "one acted, one was refused: {}",
        stderr(&outs[0])
    );
    let records: Vec<Value> = outs.iter().map(printed).collect();
    let done = records.iter().find(|r| r["verdict"] == "executed").unwrap();
    let refused = records.iter().find(|r| r["verdict"] == "rejected").unwrap();
    assert!(
        done["approver"].as_str().unwrap().starts_with("arn:aws:"),
        "the AWS caller approves: {done}"
    );
    assert!(
        refused["reason"].as_str().unwrap().contains("already used"),
        "{refused}"
    );
    for r in &records {
        let id = r["id"].as_str().unwrap();
        let kept = ledger
            .record(id)
            .await
            .unwrap()
            .expect("stored in the table");
        assert_eq!(kept.approves.as_deref(), Some(stored.id.as_str()));
    }
}

#[test]
fn a_rollback_awaiting_approval_is_performed_on_the_live_cluster_by_the_kubeconfig_user() {
    let seed = std::fs::read(snapshot()).unwrap();
    let server = reflex_test_support::kube::Background::start(&seed, "approve-live");
    let kubeconfig = server.kubeconfig.display().to_string();
    let policy = temp_file(
        "approval-rollback-policy.yaml",
        &std::fs::read_to_string(common::short_policy())
            .unwrap()
            .replacen(
                "    fallback: restart_pod\n",
                "    fallback: restart_pod\n    approval: required\n",
                1,
            ),
    );
    let log = fresh_log("approve-live.jsonl");
    let now = reflex_core::audit::rfc3339(Utc::now());
    let (code, records) = replay_json(&[
        "--kubeconfig",
        &kubeconfig,
        "--policy",
        &policy,
        "--execute",
        "--audit-log",
        &log,
        "--now",
        &now,
        &event("alertmanager/pod-crashloop-vote-recent-rollout.json"),
    ]);
    assert_eq!(code, 0, "{records:?}");
    let record = &records[0];
    assert_eq!(record["verdict"], "awaiting_approval", "{record}");
    let before = server
        .fake
        .object("Deployment", Some("production"), "vote")
        .unwrap();
    let objects = record["approval"]["objects"].to_string();
    assert!(
        objects.contains("from revision 3 to revision 2"),
        "{objects}"
    );

    let out = run(
        &[
            "approve",
            record["id"].as_str().unwrap(),
            "--audit-log",
            &log,
            "--kubeconfig",
            &kubeconfig,
            "--policy",
            &policy,
            "--format",
            "json",
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let done = printed(&out);
    assert_eq!(done["verdict"], "executed", "{done}");
    assert_eq!(
        done["approver"],
        "kubeconfig user fake-kube (context fake-kube)"
    );
    let after = server
        .fake
        .object("Deployment", Some("production"), "vote")
        .unwrap();
    assert_ne!(
        before["spec"]["template"], after["spec"]["template"],
        "the live Deployment was rolled back"
    );
}

#[test]
fn policy_check_lists_the_approval_settings_and_which_rules_need_approval() {
    let out = run(&["policy", "check", &POLICY], &[]);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("approval: ttl 30m; links off"), "{text}");
    assert!(
        text.contains("action: restart_pod (approval required)"),
        "{text}"
    );
}

#[test]
fn while_paused_an_approval_is_suppressed_and_stays_usable_after_resume() {
    let log = fresh_log("approve-paused.jsonl");
    let record = awaiting(&log, Utc::now(), &SNAPSHOT);
    let id = record["id"].as_str().unwrap();
    let paused = run(
        &["pause", "--reason", "change freeze", "--audit-log", &log],
        &[],
    );
    assert_eq!(paused.status.code(), Some(0), "{}", stderr(&paused));
    let out = approve(id, &log, &SNAPSHOT);
    assert_eq!(out.status.code(), Some(0));
    let held = printed(&out);
    assert_eq!(held["verdict"], "suppressed", "{held}");
    assert!(
        held["reason"]
            .as_str()
            .unwrap()
            .starts_with("paused by local user approver"),
        "{held}"
    );
    let resumed = run(&["resume", "--audit-log", &log], &[]);
    assert_eq!(resumed.status.code(), Some(0));
    let done = printed(&approve(id, &log, &SNAPSHOT));
    assert_eq!(done["verdict"], "executed", "{done}");
}
