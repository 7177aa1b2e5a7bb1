//! Helpers shared by the CLI tests: run the real `reflex` binary, read its JSON lines, and
//! find the repository's sample events.

#![allow(dead_code)] // each test file uses a different subset
#![allow(clippy::unwrap_used)] // a panic in a test helper is a failed test

use std::process::{Command, Output};
use std::sync::OnceLock;

use serde_json::Value;

pub use reflex_test_support::repo;

/// A file under `events/`.
pub fn event(rel: &str) -> String {
    repo().join("events").join(rel).display().to_string()
}

/// The sample cluster snapshot.
pub fn snapshot() -> String {
    event("cluster/voting-app.json")
}

/// Runs `reflex` with `args` from the repository root.
pub fn reflex(args: &[&str]) -> Output {
    reflex_env(args, &[])
}

/// Runs `reflex` with `args` and the variables `env` from the repository root. The
/// variables that let a live replay terminate instances, or read Route 53, are set only
/// where a test sets them.
pub fn reflex_env(args: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_reflex"))
        .args(args)
        .env_remove("REFLEX_CLUSTER_NAME")
        // Route 53 is read only where a test points the binary at moto.
        .env_remove("AWS_REGION")
        .env_remove("AWS_DEFAULT_REGION")
        .envs(env.iter().copied())
        .current_dir(repo())
        .output()
        .expect("run reflex")
}

/// The environment that points the binary at moto's server (DynamoDB, Auto Scaling).
pub fn moto_env() -> Vec<(&'static str, String)> {
    let moto = reflex_test_support::moto::moto();
    vec![
        ("AWS_REGION", reflex_test_support::moto::REGION.to_owned()),
        ("AWS_ENDPOINT_URL", moto.endpoint.clone()),
        ("AWS_ACCESS_KEY_ID", "testing".to_owned()),
        ("AWS_SECRET_ACCESS_KEY", "testing".to_owned()),
    ]
}

/// [`moto_env`] naming cluster `voting-prod`: the binary may then terminate that cluster's
/// instances in moto's Auto Scaling groups (those tagged `kubernetes.io/cluster/voting-prod`).
pub fn fleet_env() -> Vec<(&'static str, String)> {
    let mut env = moto_env();
    env.push(("REFLEX_CLUSTER_NAME", "voting-prod".to_owned()));
    env
}

/// `env` as the pairs [`reflex_env`] and [`replay_json_env`] take.
pub fn pairs<'e>(env: &'e [(&'static str, String)]) -> Vec<(&'static str, &'e str)> {
    env.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

/// `reflex replay --format json ARGS`: exit code and the parsed records.
pub fn replay_json(args: &[&str]) -> (i32, Vec<Value>) {
    replay_json_env(args, &[])
}

/// [`replay_json`] with the variables `env`.
pub fn replay_json_env(args: &[&str], env: &[(&str, &str)]) -> (i32, Vec<Value>) {
    let mut all = vec!["replay", "--format", "json"];
    all.extend_from_slice(args);
    let out = reflex_env(&all, env);
    let stdout = String::from_utf8(out.stdout).expect("utf-8 stdout");
    let records = stdout
        .lines()
        .map(|l| {
            serde_json::from_str(l)
                .unwrap_or_else(|e| panic!("stdout line is not a JSON record ({e}): {l}"))
        })
        .collect();
    (out.status.code().expect("exit code"), records)
}

/// Replays one event against the sample snapshot (dry run) and returns its single record.
pub fn one(rel: &str) -> Value {
    let (code, records) = replay_json(&["--cluster", &snapshot(), &event(rel)]);
    assert_eq!(
        records.len(),
        1,
        "{rel}: expected one record, got {records:?}"
    );
    assert!(code == 0 || code == 2, "{rel}: exit {code}");
    records.into_iter().next().expect("one record")
}

/// `"Kind ns/name"` of a record's action target, or `-`.
pub fn target(record: &Value) -> String {
    match record["action"]["target"].as_object() {
        Some(t) => match t["namespace"].as_str() {
            Some(ns) => format!(
                "{} {ns}/{}",
                t["kind"].as_str().unwrap(),
                t["name"].as_str().unwrap()
            ),
            None => format!(
                "{} {}",
                t["kind"].as_str().unwrap(),
                t["name"].as_str().unwrap()
            ),
        },
        None => "-".into(),
    }
}

/// An expected [`decision`]: `(verdict, action kind or "-", target or "-")`.
pub fn d(verdict: &str, action: &str, target: &str) -> (String, String, String) {
    (verdict.into(), action.into(), target.into())
}

/// A record's reason.
pub fn reason(record: &Value) -> &str {
    record["reason"].as_str().unwrap()
}

/// A record's notes (none when it has no `notes` key).
pub fn notes(record: &Value) -> Vec<&str> {
    record["notes"]
        .as_array()
        .map(|n| n.iter().map(|v| v.as_str().unwrap()).collect())
        .unwrap_or_default()
}

/// `(verdict, action kind or "-", target or "-")` of a record.
pub fn decision(record: &Value) -> (String, String, String) {
    (
        record["verdict"].as_str().unwrap().to_owned(),
        record["action"]["kind"].as_str().unwrap_or("-").to_owned(),
        target(record),
    )
}

/// The default policy with short drain and verify timeouts (3 s), for runs against a live
/// (fake) cluster; returns the file's path. Written once per test process: tests run in
/// parallel, and one rewriting the file while another's reflex reads it would race.
pub fn short_policy() -> String {
    static PATH: OnceLock<String> = OnceLock::new();
    PATH.get_or_init(|| {
        let default = std::fs::read_to_string(repo().join("shared/core/policy/default.yaml"))
            .unwrap()
            .replace("drain: 5m", "drain: 3s")
            .replace("verify: 5m", "verify: 3s");
        temp_file("short-timeouts.yaml", &default)
    })
    .clone()
}

/// Writes `contents` to a fresh file in the temp dir and returns its path.
pub fn temp_file(name: &str, contents: &str) -> String {
    reflex_test_support::temp_file(name, contents)
        .display()
        .to_string()
}

/// The sample snapshot with `edit` applied to the item of `kind` named `name`.
pub fn edited_snapshot(file: &str, kind: &str, name: &str, edit: impl Fn(&mut Value)) -> String {
    let mut list: Value =
        serde_json::from_str(&std::fs::read_to_string(snapshot()).unwrap()).unwrap();
    let item = list["items"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|i| i["kind"] == kind && i["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("no {kind} {name} in the snapshot"));
    edit(item);
    temp_file(file, &list.to_string())
}
