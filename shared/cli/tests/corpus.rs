//! Every real-world payload of the shared corpus goes through the whole CLI pipeline:
//! decoded (never rejected), one record per alert, exit 0.

// Test helpers outside #[test] functions: a panic there is a failed test too.
#![allow(clippy::unwrap_used)]
mod common;

use common::{replay_json, repo};

#[test]
fn every_corpus_payload_is_processed_and_none_is_rejected() {
    let dir = repo().join("shared/core/tests/data/corpus");
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "json") {
            continue;
        }
        seen += 1;
        let (code, records) = replay_json(&[path.to_str().unwrap()]);
        assert_eq!(
            code,
            0,
            "{}: exit {code}, records {records:?}",
            path.display()
        );
        let expected = if path.ends_with("grafana-webhook-firing.docs.json") {
            2
        } else {
            1
        };
        assert_eq!(records.len(), expected, "{}", path.display());
        for record in &records {
            assert_ne!(
                record["verdict"],
                "rejected",
                "{}: {}",
                path.display(),
                record["reason"]
            );
            assert!(
                record["alert"]["name"].is_string() && record["alert"]["fingerprint"].is_string()
            );
        }
    }
    assert_eq!(seen, 13, "the corpus has 13 payloads");
}

#[test]
fn the_corpus_status_check_alarm_classifies_as_an_unhealthy_instance() {
    let path =
        repo().join("shared/core/tests/data/corpus/sns-lambda-ec2-status-check.captured.json");
    let (code, records) = replay_json(&[path.to_str().unwrap()]);
    assert_eq!(code, 0);
    let r = &records[0];
    assert_eq!(r["class"], "instance_unhealthy");
    assert_eq!(r["rule"], "ec2-status-check-failed");
    assert_eq!(
        r["verdict"], "planned",
        "without a cluster the replacement is planned blind"
    );
    assert_eq!(r["action"]["kind"], "replace_node");
    assert!(
        r["notes"][0].as_str().unwrap().contains("no cluster view"),
        "{r}"
    );
}
