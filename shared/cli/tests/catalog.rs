//! The events/ catalog: `events/README.md` lists every sample event and what reflex does
//! with it, one table row per alert. This test replays every file through the real CLI and
//! checks the table against the output, so the documentation cannot drift from the code.

// Test helpers outside #[test] functions: a panic there is a failed test too.
#![allow(clippy::unwrap_used)]
mod common;

use std::collections::BTreeSet;

use common::{decision, event, replay_json, repo};

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

#[test]
fn the_catalog_table_matches_what_reflex_does() {
    let rows = table();
    assert!(
        rows.len() > 50,
        "the catalog should list every sample event"
    );
    let mut i = 0;
    let mut mismatches = Vec::new();
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
        i += group.len();
    }
    assert!(
        mismatches.is_empty(),
        "events/README.md disagrees with reflex:\n{}",
        mismatches.join("\n")
    );
}
