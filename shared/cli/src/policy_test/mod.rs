//! `reflex policy test`: unit tests of a policy, like `promtool test rules` (ARCHITECTURE
//! section 10).
//!
//! Each test feeds its event file (or inline alert) through the real pipeline
//! ([`Pipeline::process`]), dry-run, against the test's own snapshot, the file's, or no
//! cluster, and compares each audit record with what the test expects of it. Every test gets a fresh
//! in-memory ledger, so tests are independent: cooldown, budget and exactly-once count only
//! what the test's own input yields. Files: `file.rs` (the format, and loading: a file is
//! refused whole before any of its tests runs), `inline.rs` (inline alerts written out as
//! their source's payload), `expect.rs` (expectations and mismatches); this file runs the
//! tests and prints them, failing ones with expected and got per key, and the closing
//! `N passed, M failed`.

mod expect;
mod file;
mod inline;

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context;
use chrono::Utc;
use reflex_core::audit::AuditRecord;
use reflex_core::ledger::MemoryLedger;
use reflex_core::pipeline::{Adapters, Clock, Handled, Ids, Pipeline, Transient};
use reflex_core::policy::Policy;
use reflex_core::vocab::verdict::Mode;
use reflex_snapshot::Snapshot;

use crate::exit;
use crate::load::load_policy;
use expect::{Expect, Mismatch, decision};
use file::{Case, Suite};

/// Runs every test file and returns the exit code: 0 every test passed, 1 a test failed,
/// 2 a test file or the policy is unusable (the other files still run).
pub fn run(policy: Option<&Path>, files: &[PathBuf]) -> anyhow::Result<u8> {
    let given = match policy {
        Some(path) => Some((path.to_owned(), load_policy(Some(path))?)),
        None => None,
    };
    let default = Policy::default_policy();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let mut out = crate::output::stdout();
    let (mut passed, mut failed, mut unusable) = (0, 0, false);
    for path in files {
        let suite = match file::load(path, given.is_some()) {
            Ok(suite) => suite,
            Err(e) => {
                out.flush()?;
                eprintln!("reflex: test file {} refused: {e:#}", path.display());
                unusable = true;
                continue;
            }
        };
        let (policy, policy_text) = match (&given, &suite.policy) {
            (Some((path, policy)), _) | (None, Some((path, policy))) => {
                (policy, format!("policy {}", path.display()))
            }
            (None, None) => (&default, "default policy".to_owned()),
        };
        writeln!(out, "{}", header(path, &policy_text, &suite))?;
        let pipeline = Pipeline {
            policy,
            mode: Mode::DryRun,
        };
        let cluster = suite.cluster.as_ref().map(|(_, snapshot)| snapshot);
        for (n, case) in suite.tests.iter().enumerate() {
            let cluster = case.cluster.as_ref().or(cluster);
            let records = runtime.block_on(run_case(&pipeline, cluster, case, n + 1))?;
            match report(case, &records) {
                None => {
                    passed += 1;
                    writeln!(out, "  ok    {}", case.name)?;
                }
                Some(failure) => {
                    failed += 1;
                    write!(out, "  FAIL  {}\n{failure}", case.name)?;
                }
            }
        }
    }
    writeln!(out, "{passed} passed, {failed} failed")?;
    out.flush()?;
    Ok(if unusable {
        exit::REJECTED
    } else if failed > 0 {
        exit::FAILED
    } else {
        exit::OK
    })
}

/// The line before a file's tests: what they run against.
fn header(path: &Path, policy: &str, suite: &Suite) -> String {
    let cluster = match &suite.cluster {
        Some((rel, _)) => format!("snapshot {}", rel.display()),
        None => "no cluster view".to_owned(),
    };
    let n = suite.tests.len();
    format!(
        "{}: {policy}; {cluster}; {n} test{}",
        path.display(),
        if n == 1 { "" } else { "s" }
    )
}

/// One test through the pipeline, dry-run, with a ledger of its own; its records in order.
async fn run_case(
    pipeline: &Pipeline<'_>,
    cluster: Option<&Snapshot>,
    case: &Case,
    n: usize,
) -> anyhow::Result<Vec<AuditRecord>> {
    let ledger = MemoryLedger::new();
    let adapters = Adapters::<Snapshot, Snapshot, Snapshot, _> {
        cluster,
        live: None,
        ledger: &ledger,
        notifier: &(),
        alarms: &(),
        traffic: &(),
    };
    let clock = match case.at {
        Some(at) => Clock::Fixed(at),
        None => Clock::AlertTime {
            fallback: Utc::now(),
        },
    };
    let mut ids = Ids::new(format!("test-{n}"));
    let handled = pipeline
        .process(&case.bytes, &adapters, clock, &mut ids)
        .await;
    handled
        .into_iter()
        .map(
            |Handled {
                 record, transient, ..
             }| match transient {
                // An in-memory ledger does not fail; if it ever did, the test could not be judged.
                Some(Transient::Ledger(e)) => Err(anyhow::anyhow!(
                    "test {:?}: record {} could not be stored: {e}",
                    case.name,
                    record.id
                )),
                _ => Ok(record),
            },
        )
        .collect()
}

/// Why a test failed, as indented lines; `None` when it passed.
fn report(case: &Case, records: &[AuditRecord]) -> Option<String> {
    let mut s = String::new();
    let (want, got) = (case.expect.len(), records.len());
    // Writing to a String cannot fail.
    if want != got {
        let _ = writeln!(
            s,
            "        expected {want} alert{}, the input yielded {got}",
            plural(want)
        );
    }
    for i in 0..want.max(got) {
        match (case.expect.get(i), records.get(i)) {
            (Some(expect), Some(record)) => {
                let mismatches = expect.compare(record);
                if !mismatches.is_empty() {
                    alert_line(&mut s, i, record, "");
                    table(&mut s, &mismatches, expect, record);
                }
            }
            (None, Some(record)) => alert_line(&mut s, i, record, " (not expected)"),
            (Some(_), None) => {
                let _ = writeln!(s, "        alert {}  expected, but none came", i + 1);
            }
            (None, None) => {}
        }
    }
    if s.is_empty() {
        return None;
    }
    Some(format!("        input    {}\n{s}", case.input))
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// `alert 2  KubePodCrashLooping (alertmanager, firing): planned rollback Deployment ...`
fn alert_line(s: &mut String, i: usize, record: &AuditRecord, tail: &str) {
    let a = &record.alert;
    let alert = match (&a.name, &a.status) {
        (Some(name), Some(status)) => format!("{name} ({}, {status})", record.source),
        _ => "undecodable input".to_owned(),
    };
    let _ = writeln!(
        s,
        "        alert {}  {alert}: {}{tail}",
        i + 1,
        decision(record)
    );
}

/// The differing keys, aligned, then the record's reason when it was not compared.
fn table(s: &mut String, mismatches: &[Mismatch], expect: &Expect, record: &AuditRecord) {
    let key_w = mismatches
        .iter()
        .map(|m| m.key.len())
        .chain(["key".len(), "why".len()])
        .max()
        .unwrap_or(3);
    let want_w = mismatches
        .iter()
        .map(|m| m.expected.len())
        .chain(["expected".len()])
        .max()
        .unwrap_or(8);
    let pad = "                 ";
    let _ = writeln!(s, "{pad}{:<key_w$}  {:<want_w$}  got", "key", "expected");
    for m in mismatches {
        let _ = writeln!(
            s,
            "{pad}{:<key_w$}  {:<want_w$}  {}",
            m.key, m.expected, m.got
        );
    }
    if !expect.checks_reason() {
        let _ = writeln!(s, "{pad}{:<key_w$}  {}", "why", record.reason);
    }
}
