//! The operator's commands through the real binary (ARCHITECTURE section 10): `audit list`,
//! `audit show`, `status`, `pause` and `resume` over an audit log file and over the DynamoDB
//! table (moto); stale deliveries; shadow rules.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a panic in a test is a failed test

mod common;

use std::process::Output;

use chrono::Utc;
use common::{event, moto_env, replay_json, snapshot, temp_file};
use reflex_core::ledger::Ledger;
use serde_json::Value;

/// Runs `reflex` with `args` and `env`, as the local user `tester`.
fn run(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut env = env.to_vec();
    env.push(("USER", "tester"));
    common::reflex_env(args, &env)
}

fn stdout(out: &Output) -> String {
    String::from_utf8(out.stdout.clone()).expect("utf-8")
}

fn stderr(out: &Output) -> String {
    String::from_utf8(out.stderr.clone()).expect("utf-8")
}

fn lines(out: &Output) -> Vec<Value> {
    stdout(out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

/// A fresh audit log path (no file yet).
fn fresh_log(name: &str) -> String {
    let path = temp_file(name, "");
    std::fs::remove_file(&path).unwrap();
    path
}

/// Replays `events` (dry run, the sample snapshot) into `log`, at `now` when given.
fn replay_into(log: &str, now: Option<&str>, events: &[&str]) -> Vec<Value> {
    let mut args = vec!["--cluster", &*SNAPSHOT, "--audit-log", log];
    if let Some(now) = now {
        args.extend(["--now", now]);
    }
    let files: Vec<String> = events.iter().map(|e| event(e)).collect();
    args.extend(files.iter().map(String::as_str));
    let (code, records) = replay_json(&args);
    assert_eq!(code, 0, "{records:?}");
    records
}

static SNAPSHOT: std::sync::LazyLock<String> = std::sync::LazyLock::new(snapshot);

#[test]
fn while_paused_every_alert_is_suppressed_naming_who_why_and_until_and_resume_ends_it() {
    let log = fresh_log("pause.jsonl");
    let out = run(
        &[
            "pause",
            "--reason",
            "db failover drill",
            "--for",
            "2h",
            "--audit-log",
            &log,
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("reflex is paused by local user tester"),
        "{}",
        stdout(&out)
    );

    let records = replay_into(
        &log,
        None,
        &[
            "alertmanager/pod-crashloop-worker.json",
            "alertmanager/node-not-ready-sick-node.json",
        ],
    );
    for r in &records {
        assert_eq!(r["verdict"], "suppressed", "{r}");
        let reason = r["reason"].as_str().unwrap();
        assert!(
            reason.starts_with("paused by local user tester at "),
            "{reason}"
        );
        assert!(reason.contains("\"db failover drill\", until "), "{reason}");
        assert!(r["steps"].as_array().unwrap().is_empty());
    }

    let out = run(&["resume", "--audit-log", &log], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("resumed by local user tester"),
        "{}",
        stdout(&out)
    );
    // The same alert, now that reflex runs again: it was never claimed while paused.
    let records = replay_into(&log, None, &["alertmanager/pod-crashloop-worker.json"]);
    assert_eq!(records[0]["verdict"], "planned", "{}", records[0]);

    let out = run(&["resume", "--audit-log", &log], &[]);
    assert_eq!(out.status.code(), Some(0));
    assert!(stdout(&out).contains("was not paused"), "{}", stdout(&out));

    // Both commands are recorded in the log, and status lists them.
    let text = std::fs::read_to_string(&log).unwrap();
    assert_eq!(text.matches(r#""control":"pause""#).count(), 1);
    assert_eq!(text.matches(r#""control":"resume""#).count(), 1);
    let status = run(&["status", "--audit-log", &log, "--format", "json"], &[]);
    let status: Value = serde_json::from_str(&stdout(&status)).unwrap();
    assert_eq!(status["paused"], Value::Null);
    assert_eq!(status["controls"][0]["control"], "resume");
    assert_eq!(status["controls"][1]["control"], "pause");
    assert_eq!(
        status["controls"][1]["pause"]["reason"],
        "db failover drill"
    );
}

#[test]
fn a_pause_for_a_while_ends_by_itself() {
    let log = fresh_log("pause-for.jsonl");
    let out = run(
        &[
            "pause",
            "--reason",
            "short",
            "--for",
            "1s",
            "--audit-log",
            &log,
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    std::thread::sleep(std::time::Duration::from_millis(1200));
    let now = Utc::now().to_rfc3339();
    let records = replay_into(
        &log,
        Some(&now),
        &["alertmanager/pod-crashloop-worker.json"],
    );
    assert_eq!(records[0]["verdict"], "planned", "{}", records[0]);
}

#[test]
fn pause_needs_a_reason_and_a_duration_it_can_read() {
    let log = fresh_log("pause-bad.jsonl");
    for (args, expected) in [
        (vec!["pause", "--audit-log", &log], "--reason"),
        (
            vec!["pause", "--reason", " ", "--audit-log", &log],
            "must say why",
        ),
        (
            vec![
                "pause",
                "--reason",
                "x",
                "--for",
                "soon",
                "--audit-log",
                &log,
            ],
            "invalid duration",
        ),
        (
            vec!["pause", "--reason", "x", "--for", "0s", "--audit-log", &log],
            "longer than 0s",
        ),
        (vec!["pause", "--reason", "x"], "--audit-log"),
    ] {
        let out = run(&args, &[]);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(
            stderr(&out).contains(expected),
            "{args:?}: {}",
            stderr(&out)
        );
    }
}

#[test]
fn audit_list_prints_newest_first_and_filters_by_verdict_target_rule_and_time() {
    let log = fresh_log("list.jsonl");
    let early = replay_into(
        &log,
        Some("2026-11-20T09:30:00Z"),
        &[
            "alertmanager/pod-crashloop-vote-recent-rollout.json",
            "alertmanager/pod-not-ready-coredns-kube-system.json",
        ],
    );
    let late = replay_into(
        &log,
        Some("2026-11-20T10:30:00Z"),
        &[
            "alertmanager/pod-crashloop-worker.json",
            "grafana/vote-high-latency.json",
        ],
    );
    let list = |extra: &[&str]| {
        let mut args = vec!["audit", "list", "--audit-log", &log, "--format", "json"];
        if !extra.contains(&"--since") {
            args.extend(["--since", "2026-11-20T00:00:00Z"]);
        }
        args.extend_from_slice(extra);
        let out = run(&args, &[]);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        lines(&out)
    };
    let ids = |records: &[Value]| -> Vec<String> {
        records
            .iter()
            .map(|r| r["id"].as_str().unwrap().to_owned())
            .collect()
    };

    let all = list(&[]);
    assert_eq!(all.len(), 4);
    assert_eq!(all[0]["time"], "2026-11-20T10:30:00.000Z", "newest first");
    assert_eq!(all[3]["time"], "2026-11-20T09:30:00.000Z");
    // json is the record as stored.
    for record in early.iter().chain(&late) {
        assert!(all.contains(record), "{record} as stored");
    }

    let suppressed = list(&["--verdict", "suppressed"]);
    assert_eq!(ids(&suppressed), ids(&early[1..2]));
    let some = list(&["--verdict", "suppressed", "--verdict", "no_match"]);
    assert_eq!(some.len(), 2);
    let vote = list(&["--target", "deployment/production/vote"]);
    assert_eq!(ids(&vote), ids(&early[..1]));
    let rule = list(&["--rule", "kube-pod-crash-looping"]);
    assert_eq!(rule.len(), 2);
    let recent = list(&["--since", "2026-11-20T10:00:00Z"]);
    assert_eq!(ids(&recent).len(), 2);
    assert_eq!(list(&["--limit", "1"]).len(), 1);

    // The text table fits 100 columns and names each field.
    let out = run(
        &[
            "audit",
            "list",
            "--audit-log",
            &log,
            "--since",
            "2026-11-20T00:00:00Z",
        ],
        &[],
    );
    let text = stdout(&out);
    for line in text.lines() {
        assert!(
            line.chars().count() <= 100,
            "{} columns: {line}",
            line.chars().count()
        );
    }
    let header = text.lines().next().unwrap();
    for column in ["TIME", "VERDICT", "ACTION", "TARGET", "RULE"] {
        assert!(header.contains(column), "{header}");
    }
    assert!(
        text.contains("rollback         Deployment production/vote"),
        "{text}"
    );
    assert!(
        text.contains("  └ namespace kube-system is denied by policy"),
        "{text}"
    );
    assert!(text.ends_with("4 record(s) since 2026-11-20T00:00:00.000Z, newest first; `reflex audit show ID` prints one whole\n"), "{text}");

    for (args, expected) in [
        (vec!["--verdict", "maybe"], "unknown verdict"),
        (vec!["--target", "Pod/vote"], "Pod/NAMESPACE/NAME"),
        (vec!["--since", "yesterday"], "expected a duration"),
    ] {
        let mut all = vec!["audit", "list", "--audit-log", &log];
        all.extend(args);
        let out = run(&all, &[]);
        assert_eq!(out.status.code(), Some(2));
        assert!(stderr(&out).contains(expected), "{}", stderr(&out));
    }
}

#[test]
fn audit_show_prints_one_record_whole_and_an_unknown_id_or_store_exits_2() {
    let log = fresh_log("show.jsonl");
    let records = replay_into(
        &log,
        None,
        &["alertmanager/pod-crashloop-vote-recent-rollout.json"],
    );
    let id = records[0]["id"].as_str().unwrap();

    let out = run(
        &["audit", "show", id, "--audit-log", &log, "--format", "json"],
        &[],
    );
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(lines(&out), records);

    let out = run(&["audit", "show", id, "--audit-log", &log], &[]);
    let text = stdout(&out);
    assert!(text.starts_with(&format!("record {id}\n")), "{text}");
    for expected in [
        "decision PLANNED rollback Deployment production/vote",
        "steps    1. PATCH /apis/apps/v1/namespaces/production/deployments/vote",
    ] {
        assert!(text.contains(expected), "{expected:?} in {text}");
    }

    let out = run(&["audit", "show", "nope", "--audit-log", &log], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("no record \"nope\" in audit log"),
        "{}",
        stderr(&out)
    );
    let missing = format!("{log}.missing");
    for args in [
        vec!["audit", "show", id, "--audit-log", &missing],
        vec!["audit", "list", "--audit-log", &missing],
        vec!["status", "--audit-log", &missing],
    ] {
        let out = run(&args, &[]);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(stderr(&out).contains("does not exist"), "{}", stderr(&out));
    }
    let garbage = temp_file("garbage.jsonl", "not a record\n");
    let out = run(&["audit", "list", "--audit-log", &garbage], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("line 1 is not an audit record"),
        "{}",
        stderr(&out)
    );
    let out = run(&["audit", "list", "--audit-log", &log, "--table", "t"], &[]);
    assert_eq!(out.status.code(), Some(2), "one store at a time");
}

#[test]
fn status_shows_the_budget_used_leases_held_and_last_actions() {
    let log = fresh_log("status.jsonl");
    let now = Utc::now().to_rfc3339();
    let (code, records) = replay_json(&[
        "--cluster",
        &SNAPSHOT,
        "--execute",
        "--audit-log",
        &log,
        "--now",
        &now,
        &event("alertmanager/pod-crashloop-worker.json"),
        &event("alertmanager/pod-not-ready-result.json"),
    ]);
    assert_eq!(code, 0, "{records:?}");
    assert!(
        records.iter().all(|r| r["verdict"] == "executed"),
        "{records:?}"
    );

    let out = run(&["status", "--audit-log", &log, "--format", "json"], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let status: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(status["paused"], Value::Null);
    assert_eq!(status["budget"]["used"], 2);
    assert_eq!(status["budget"]["max"], 10);
    let leases: Vec<&str> = status["leases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["what"].as_str().unwrap())
        .collect();
    assert!(
        leases.contains(&"Deployment production/worker")
            || leases.contains(&"Pod production/worker-69d4c8b7f-h7s2d"),
        "{leases:?}"
    );
    assert_eq!(status["leases"].as_array().unwrap().len(), 2);
    assert_eq!(status["last_actions"].as_array().unwrap().len(), 2);
    assert_eq!(status["last_actions"][0]["verdict"], "executed");

    run(
        &["pause", "--reason", "investigating", "--audit-log", &log],
        &[],
    );
    let out = run(&["status", "--audit-log", &log], &[]);
    let text = stdout(&out);
    for expected in [
        "PAUSED   paused by local user tester at ",
        "\"investigating\", until `reflex resume`",
        "budget   2 of 10 actions used in the window ",
        "lease    ",
        "action   ",
        "pause    by local user tester",
    ] {
        assert!(text.contains(expected), "{expected:?} in:\n{text}");
    }
}

#[test]
fn a_delivery_evaluated_long_after_it_was_sent_is_ignored_as_stale_for_every_shape_with_a_send_time()
 {
    // Each of these says when it was sent, 2026-11-20 around 09:30; an hour later is stale.
    for file in [
        "sns-cloudwatch/pod-restarts-worker.json",
        "sns-alertmanager/pod-crashloop-worker.json",
        "sns-http/cloudwatch-pod-restarts-worker.json",
        "sns-http/alertmanager-pod-crashloop-vote-recent-rollout.json",
        "eventbridge/pod-restarts-worker.json",
        "alarm-action/pod-restarts-worker.json",
    ] {
        let (_, late) = replay_json(&[
            "--cluster",
            &SNAPSHOT,
            "--now",
            "2026-11-20T10:31:00Z",
            &event(file),
        ]);
        assert_eq!(late[0]["verdict"], "ignored", "{file}: {}", late[0]);
        let reason = late[0]["reason"].as_str().unwrap();
        assert!(
            reason.starts_with("stale delivery: sent at 2026-11-20T09:30:0"),
            "{file}: {reason}"
        );
        assert!(
            reason.contains("guardrails.max_delivery_age (15m)"),
            "{reason}"
        );
        assert!(
            late[0]["delivery"]["sent_at"].is_string(),
            "{file}: the send time is recorded"
        );

        let (_, fresh) = replay_json(&[
            "--cluster",
            &SNAPSHOT,
            "--now",
            "2026-11-20T09:40:00Z",
            &event(file),
        ]);
        assert_ne!(
            fresh[0]["verdict"], "ignored",
            "{file}: 10 minutes late is not stale: {}",
            fresh[0]
        );
    }
    // A bare webhook says when the alert started, not when it was sent: never stale.
    let (_, records) = replay_json(&[
        "--cluster",
        &SNAPSHOT,
        "--now",
        "2026-11-21T10:00:00Z",
        &event("alertmanager/pod-crashloop-worker.json"),
    ]);
    assert_eq!(records[0]["verdict"], "planned", "{}", records[0]);
    // The limit is the policy's.
    let policy = std::fs::read_to_string(common::repo().join("shared/core/policy/default.yaml"))
        .unwrap()
        .replace("max_delivery_age: 15m", "max_delivery_age: 2h");
    let policy = temp_file("stale-policy.yaml", &policy);
    let (_, records) = replay_json(&[
        "--policy",
        &policy,
        "--cluster",
        &SNAPSHOT,
        "--now",
        "2026-11-20T10:31:00Z",
        &event("sns-alertmanager/pod-crashloop-worker.json"),
    ]);
    assert_eq!(records[0]["verdict"], "planned", "{}", records[0]);
}

#[test]
fn a_shadow_rule_plans_while_reflex_enforces_and_holds_back_no_real_action() {
    let policy = std::fs::read_to_string(common::repo().join("shared/core/policy/default.yaml"))
        .unwrap()
        .replace(
            "  - name: kube-pod-not-ready\n",
            "  - name: kube-pod-not-ready\n    mode: dry-run\n",
        );
    assert!(policy.contains("mode: dry-run"));
    let policy = temp_file("shadow-policy.yaml", &policy);
    let (code, records) = replay_json(&[
        "--policy",
        &policy,
        "--cluster",
        &SNAPSHOT,
        "--execute",
        &event("alertmanager/pod-not-ready-result.json"),
        &event("alertmanager/pod-crashloop-worker.json"),
    ]);
    assert_eq!(code, 0, "{records:?}");
    let (shadow, real) = (&records[0], &records[1]);
    assert_eq!(shadow["verdict"], "planned", "{shadow}");
    assert_eq!(
        shadow["mode"], "dry-run",
        "the more cautious mode is recorded"
    );
    assert_eq!(shadow["shadow"], true);
    assert!(
        shadow["notes"].to_string().contains("shadow rule"),
        "{shadow}"
    );
    assert_eq!(real["verdict"], "executed", "{real}");
    assert_eq!(real["mode"], "enforce");
    assert!(real.get("shadow").is_none());

    // A rule cannot make a dry run act.
    let policy = std::fs::read_to_string(&policy)
        .unwrap()
        .replace("    mode: dry-run\n", "    mode: enforce\n");
    let policy = temp_file("enforce-rule-policy.yaml", &policy);
    let (_, records) = replay_json(&[
        "--policy",
        &policy,
        "--cluster",
        &SNAPSHOT,
        &event("alertmanager/pod-not-ready-result.json"),
    ]);
    assert_eq!(records[0]["verdict"], "planned");
    assert_eq!(records[0]["mode"], "dry-run");
    assert!(records[0].get("shadow").is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_table_is_read_and_paused_like_the_file() {
    let aws = reflex_test_support::aws::moto_aws().await;
    let ledger = reflex_test_support::aws::create_table(&aws).await;
    let table = aws.config().audit_table.clone();
    let env = moto_env();

    // Records as the remediate function would store them.
    let (_, records) = replay_json(&[
        "--cluster",
        &SNAPSHOT,
        "--now",
        "2026-11-20T09:30:00Z",
        &event("alertmanager/pod-crashloop-vote-recent-rollout.json"),
        &event("alertmanager/pod-not-ready-coredns-kube-system.json"),
        &event("alertmanager/pod-crashloop-worker.json"),
    ]);
    for record in &records {
        let record: reflex_core::AuditRecord = serde_json::from_value(record.clone()).unwrap();
        ledger.append(&record).await.unwrap();
    }

    let cli = |args: Vec<&str>| {
        let env = env.clone();
        let args: Vec<String> = args.into_iter().map(str::to_owned).collect();
        async move {
            tokio::task::spawn_blocking(move || {
                let args: Vec<&str> = args.iter().map(String::as_str).collect();
                run(&args, &common::pairs(&env))
            })
            .await
            .unwrap()
        }
    };
    let listed = cli(vec![
        "audit",
        "list",
        "--table",
        &table,
        "--since",
        "2026-11-20T00:00:00Z",
        "--format",
        "json",
    ])
    .await;
    assert_eq!(listed.status.code(), Some(0), "{}", stderr(&listed));
    let listed = lines(&listed);
    assert_eq!(listed.len(), 3);
    for record in &records {
        assert!(listed.contains(record), "stored and listed as is: {record}");
    }
    let target = cli(vec![
        "audit",
        "list",
        "--table",
        &table,
        "--since",
        "2026-11-20T00:00:00Z",
        "--format",
        "json",
        "--target",
        "Deployment/production/vote",
    ])
    .await;
    assert_eq!(lines(&target), records[..1]);
    let suppressed = cli(vec![
        "audit",
        "list",
        "--table",
        &table,
        "--since",
        "2026-11-20T00:00:00Z",
        "--format",
        "json",
        "--verdict",
        "suppressed",
    ])
    .await;
    assert_eq!(lines(&suppressed), records[1..2]);

    let id = records[2]["id"].as_str().unwrap();
    let shown = cli(vec![
        "audit", "show", id, "--table", &table, "--format", "json",
    ])
    .await;
    assert_eq!(shown.status.code(), Some(0), "{}", stderr(&shown));
    assert_eq!(lines(&shown), records[2..3]);
    let unknown = cli(vec!["audit", "show", "nope", "--table", &table]).await;
    assert_eq!(unknown.status.code(), Some(2));
    assert!(
        stderr(&unknown).contains("no record \"nope\" in table"),
        "{}",
        stderr(&unknown)
    );

    // A pause through the CLI is what the function reads for its next alert.
    let paused = cli(vec![
        "pause",
        "--reason",
        "region failover",
        "--for",
        "1h",
        "--table",
        &table,
    ])
    .await;
    assert_eq!(paused.status.code(), Some(0), "{}", stderr(&paused));
    let pause = ledger
        .paused(Utc::now())
        .await
        .unwrap()
        .expect("the pause is in the table");
    assert_eq!(pause.reason, "region failover");
    assert!(
        pause.by.starts_with("arn:aws:"),
        "the AWS caller is named: {}",
        pause.by
    );
    assert!(pause.until.is_some());

    let status = cli(vec!["status", "--table", &table, "--format", "json"]).await;
    assert_eq!(status.status.code(), Some(0), "{}", stderr(&status));
    let status: Value = serde_json::from_str(&stdout(&status)).unwrap();
    assert_eq!(status["paused"]["reason"], "region failover");
    assert_eq!(status["budget"]["used"], 0);
    assert_eq!(status["controls"][0]["control"], "pause");

    let resumed = cli(vec!["resume", "--table", &table]).await;
    assert_eq!(resumed.status.code(), Some(0), "{}", stderr(&resumed));
    assert_eq!(ledger.paused(Utc::now()).await.unwrap(), None);

    let missing = cli(vec!["audit", "list", "--table", "no-such-table"]).await;
    assert_eq!(missing.status.code(), Some(2), "an unusable store");
    assert!(
        stderr(&missing).contains("cannot read table no-such-table"),
        "{}",
        stderr(&missing)
    );
}
