//! The events/ catalog: `events/README.md` lists every sample event and what reflex does
//! with it, one table row per alert. This test replays every file through the real CLI and
//! checks the table against the output, so the documentation cannot drift from the code.

// Test helpers outside #[test] functions: a panic there is a failed test too.
#![allow(clippy::unwrap_used)]
mod common;

use std::collections::BTreeSet;

use common::{decision, event, replay_json, repo};
use serde_json::Value;

struct Row {
    file: String,
    cluster: String,
    verdict: String,
    action: String,
    target: String,
}

fn table() -> Vec<Row> {
    let readme = std::fs::read_to_string(repo().join("events/README.md")).unwrap();
    readme
        .lines()
        .filter(|l| l.starts_with("| `"))
        .map(|line| {
            let cells: Vec<&str> = line
                .trim()
                .trim_matches('|')
                .split('|')
                .map(str::trim)
                .collect();
            assert_eq!(cells.len(), 7, "row with 7 cells expected: {line}");
            Row {
                file: cells[0].trim_matches('`').to_owned(),
                cluster: cells[1].to_owned(),
                verdict: cells[3].to_owned(),
                action: cells[4].to_owned(),
                target: cells[5].to_owned(),
            }
        })
        .collect()
}

fn event_files(dir: &std::path::Path, rel: &str, out: &mut BTreeSet<String>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name().into_string().unwrap();
        let rel = if rel.is_empty() {
            name.clone()
        } else {
            format!("{rel}/{name}")
        };
        if entry.file_type().unwrap().is_dir() {
            if rel != "cluster" {
                event_files(&entry.path(), &rel, out);
            }
        } else if name.ends_with(".json") {
            out.insert(rel);
        }
    }
}

#[test]
fn every_event_file_is_listed_in_the_catalog() {
    let mut files = BTreeSet::new();
    event_files(&repo().join("events"), "", &mut files);
    let listed: BTreeSet<String> = table().into_iter().map(|r| r.file).collect();
    let missing: Vec<_> = files.difference(&listed).collect();
    let stale: Vec<_> = listed.difference(&files).collect();
    assert!(
        missing.is_empty(),
        "event files missing from events/README.md: {missing:?}"
    );
    assert!(
        stale.is_empty(),
        "events/README.md lists files that do not exist: {stale:?}"
    );
}

/// Every catalog file replayed on its own against its snapshot: its table rows, and the
/// records reflex printed.
fn replay_catalog(rows: &[Row]) -> Vec<(Vec<&Row>, Vec<Value>)> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < rows.len() {
        let (file, cluster) = (&rows[i].file, &rows[i].cluster);
        let group: Vec<&Row> = rows[i..]
            .iter()
            .take_while(|r| &r.file == file && &r.cluster == cluster)
            .collect();
        let snapshot = event(&format!("cluster/{cluster}.json"));
        let path = event(file);
        let mut args: Vec<&str> = Vec::new();
        if cluster != "none" {
            args.extend(["--cluster", &snapshot]);
        }
        args.push(&path);
        let (_, records) = replay_json(&args);
        i += group.len();
        out.push((group, records));
    }
    out
}

#[test]
fn the_catalog_table_matches_what_reflex_does() {
    let rows = table();
    assert!(
        rows.len() > 50,
        "the catalog should list every sample event"
    );
    let mut mismatches = Vec::new();
    for (group, records) in replay_catalog(&rows) {
        let file = &group[0].file;
        if records.len() != group.len() {
            mismatches.push(format!(
                "{file}: {} records, {} rows",
                records.len(),
                group.len()
            ));
        }
        for (row, record) in group.iter().zip(&records) {
            let expected = (row.verdict.clone(), row.action.clone(), row.target.clone());
            let got = decision(record);
            if expected != got {
                mismatches.push(format!(
                    "{file}: table says {expected:?}, reflex says {got:?} ({})",
                    record["reason"]
                ));
            }
        }
    }
    assert!(
        mismatches.is_empty(),
        "events/README.md disagrees with reflex:\n{}",
        mismatches.join("\n")
    );
}

/// The words reflex can say: every run of letters in the source of the crates that write
/// reasons, and in the events and snapshots whose names and labels reasons quote.
fn vocabulary() -> BTreeSet<String> {
    fn collect(dir: &std::path::Path, words: &mut BTreeSet<String>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                collect(&path, words);
            } else if path
                .extension()
                .is_some_and(|x| x == "rs" || x == "json" || x == "yaml")
            {
                words.extend(letter_runs(&std::fs::read_to_string(&path).unwrap()));
            }
        }
    }
    let mut words = BTreeSet::new();
    for dir in [
        "shared/core/src",
        "shared/core/policy",
        "shared/cli/src",
        "shared/snapshot/src",
        "events",
    ] {
        collect(&repo().join(dir), &mut words);
    }
    words
}

fn letter_runs(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| !c.is_ascii_alphabetic())
        .filter(|w| !w.is_empty())
        .map(str::to_ascii_lowercase)
}

/// What is wrong with a reason as a sentence, if anything: an empty clause, stray spacing
/// or punctuation at a seam, or a word that reflex's source and data never contain (two
/// words glued together where two parts of a reason were joined).
fn sentence_faults(reason: &str, vocabulary: &BTreeSet<String>) -> Vec<String> {
    let mut faults = Vec::new();
    if reason.trim() != reason || reason.is_empty() {
        faults.push("empty, or leading or trailing whitespace".to_owned());
    }
    if !reason.starts_with(|c: char| c.is_alphanumeric()) {
        faults.push("does not start with a word".to_owned());
    }
    // An ellipsis ends an excerpt of the input; two dots are a seam.
    let unellipsed = reason.replace("...", "\u{2026}");
    for seam in ["  ", ";;", "; ;", " ;", " ,", ",,", "..", ";,", ",;"] {
        if unellipsed.contains(seam) {
            faults.push(format!("{seam:?} at a seam"));
        }
    }
    if reason.ends_with([';', ',', ':']) {
        faults.push("ends on a separator".to_owned());
    }
    if reason.split("; ").any(|clause| clause.trim().is_empty()) {
        faults.push("an empty clause".to_owned());
    }
    // Ids, times and quantities (`replay-3f2a-0001`, `1h`) hold digits and are not words.
    let words = reason
        .split_whitespace()
        .filter(|w| !w.contains(|c: char| c.is_ascii_digit()))
        .flat_map(letter_runs);
    for word in words {
        if !vocabulary.contains(&word) {
            faults.push(format!(
                "{word:?} is not a word reflex uses (glued at a join?)"
            ));
        }
    }
    faults
}

#[test]
fn every_reason_in_the_catalog_is_made_of_complete_sentences() {
    let vocabulary = vocabulary();
    let rows = table();
    let mut bad = Vec::new();
    let mut checked = 0;
    for (group, records) in replay_catalog(&rows) {
        for record in &records {
            let reason = record["reason"].as_str().unwrap();
            checked += 1;
            let faults = sentence_faults(reason, &vocabulary);
            if !faults.is_empty() {
                bad.push(format!(
                    "{}: {reason:?}: {}",
                    group[0].file,
                    faults.join("; ")
                ));
            }
        }
    }
    assert!(checked > 50, "only {checked} reasons checked");
    assert!(
        bad.is_empty(),
        "reasons that do not read as sentences:\n{}",
        bad.join("\n")
    );
}

#[test]
fn the_sentence_check_finds_words_glued_at_a_join() {
    let vocabulary = vocabulary();
    let glued = "newest revision 1 was created 49 days before the alert (more than 1h); so notify insteadtell on-call; no cluster change";
    let faults = sentence_faults(glued, &vocabulary);
    assert_eq!(faults.len(), 1, "{faults:?}");
    assert!(faults[0].contains("insteadtell"), "{faults:?}");
    let joined = glued.replace("insteadtell", "instead; tell");
    assert_eq!(sentence_faults(&joined, &vocabulary), Vec::<String>::new());
    assert!(!sentence_faults("restart pod; ", &vocabulary).is_empty());
    assert!(!sentence_faults("restart pod;; notify", &vocabulary).is_empty());
}

#[test]
fn the_canary_alarm_in_every_shape_shifts_traffic_under_the_canary_example_policy() {
    let policy = repo()
        .join("shared/core/policy/canary.example.yaml")
        .display()
        .to_string();
    for file in [
        "sns-cloudwatch/alb-target-5xx-result-canary.json",
        "sns-http/cloudwatch-alb-target-5xx-result-canary.json",
        "alarm-action/alb-target-5xx-result-canary.json",
        "eventbridge/alb-target-5xx-result-canary.json",
    ] {
        let path = event(file);
        let (code, records) = replay_json(&["--policy", &policy, &path]);
        assert_eq!(code, 0, "{file}");
        assert_eq!(records.len(), 1, "{file}");
        let r = &records[0];
        assert_eq!(r["rule"], "result-canary-5xx", "{file}");
        assert_eq!(r["action"]["kind"], "shift_traffic", "{file}");
        let target = &r["action"]["target"];
        assert_eq!(
            (
                &target["kind"],
                &target["namespace"],
                &target["name"],
                &target["set_identifier"]
            ),
            (
                &Value::from("WeightedRecord"),
                &Value::from("Z04271832Q5RK6Y3GZ1JB"),
                &Value::from("result.voting.example.com"),
                &Value::from("canary")
            ),
            "{file}"
        );
        assert_eq!(r["verdict"], "planned", "{file}: {}", r["reason"]);
    }
}
