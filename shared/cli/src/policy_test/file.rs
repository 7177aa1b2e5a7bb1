//! The test file of `reflex policy test` (ARCHITECTURE section 10), and its loading.
//!
//! A test file is refused whole, before any of its tests runs, when any part of it cannot
//! be used: an unknown key, a policy or snapshot that does not load, an event file that
//! cannot be read, an inline alert no sender would send, a test with both or neither of
//! `event` and `alert`. Paths in the file are relative to the file. A test may name a
//! snapshot of its own (`cluster:`), which it runs against instead of the file's.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use chrono::{DateTime, Utc};
use reflex_core::policy::Policy;
use reflex_snapshot::Snapshot;
use serde::Deserialize;

use super::expect::Expect;
use super::inline::InlineAlert;
use crate::args::parse_time;
use crate::load::{load_policy, load_snapshot};

/// The file as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TestFile {
    /// The policy under test; `--policy` wins; default: the embedded default policy.
    policy: Option<PathBuf>,
    /// The cluster snapshot every test runs against (a kubectl `List` JSON); default: none.
    cluster: Option<PathBuf>,
    /// The tests, each run on its own.
    tests: Vec<TestSpec>,
}

/// One test as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TestSpec {
    /// What the test shows, in a sentence.
    name: String,
    /// The evaluation time (RFC 3339); default: each alert's start.
    at: Option<String>,
    /// A snapshot for this test alone, in place of the file's `cluster`.
    cluster: Option<PathBuf>,
    /// An event file of any input shape.
    event: Option<PathBuf>,
    /// Or an alert written out.
    alert: Option<InlineAlert>,
    /// One entry per alert the event yields, in order.
    expect: Vec<Expect>,
}

/// A test file, loaded and ready to run.
#[derive(Debug)]
pub struct Suite {
    /// The policy the file names and its path as the file writes it (`None`: it names
    /// none, or `--policy` wins).
    pub policy: Option<(PathBuf, Policy)>,
    /// The snapshot and its path as the file writes it; `None`: no cluster view.
    pub cluster: Option<(PathBuf, Snapshot)>,
    /// The tests, in file order.
    pub tests: Vec<Case>,
}

/// One test, ready to run.
#[derive(Debug)]
pub struct Case {
    /// Its name.
    pub name: String,
    /// The evaluation time; `None`: each alert's start.
    pub at: Option<DateTime<Utc>>,
    /// What is fed in, for the output: the event path as written, or `inline alert`.
    pub input: String,
    /// The payload.
    pub bytes: Vec<u8>,
    /// The test's own snapshot, when it names one (it wins over the file's).
    pub cluster: Option<Snapshot>,
    /// What each record must say.
    pub expect: Vec<Expect>,
}

/// Reads and checks the test file at `path`; with `policy_given` (`--policy`), the file's
/// own `policy:` is not loaded.
pub fn load(path: &Path, policy_given: bool) -> anyhow::Result<Suite> {
    let text = std::fs::read_to_string(path).context("cannot read it")?;
    let file: TestFile = serde_yaml_ng::from_str(&text).map_err(|e| anyhow::anyhow!("{e}"))?;
    let dir = path.parent().unwrap_or(Path::new(""));
    let policy = match (&file.policy, policy_given) {
        (Some(rel), false) => Some((rel.clone(), load_policy(Some(&dir.join(rel)))?)),
        _ => None,
    };
    let cluster = match &file.cluster {
        Some(rel) => Some((rel.clone(), load_snapshot(&dir.join(rel))?)),
        None => None,
    };
    if file.tests.is_empty() {
        bail!("tests: empty, there is nothing to run");
    }
    let tests = file
        .tests
        .into_iter()
        .enumerate()
        .map(|(i, spec)| {
            let what = format!("tests[{i}] ({:?})", spec.name);
            case(spec, dir).with_context(|| what)
        })
        .collect::<anyhow::Result<_>>()?;
    Ok(Suite {
        policy,
        cluster,
        tests,
    })
}

/// One test checked and its input read.
fn case(spec: TestSpec, dir: &Path) -> anyhow::Result<Case> {
    if spec.name.trim().is_empty() {
        bail!("name: empty; say what the test shows");
    }
    let at = match &spec.at {
        Some(text) => Some(parse_time(text).map_err(|e| anyhow::anyhow!("at: {e}"))?),
        None => None,
    };
    let (input, bytes) = match (spec.event, spec.alert) {
        (Some(rel), None) => {
            let path = dir.join(&rel);
            let bytes = std::fs::read(&path)
                .with_context(|| format!("event: cannot read {}", path.display()))?;
            (rel.display().to_string(), bytes)
        }
        (None, Some(alert)) => {
            let bytes = alert.payload().map_err(|e| anyhow::anyhow!("alert: {e}"))?;
            ("inline alert".to_owned(), bytes)
        }
        (Some(_), Some(_)) => bail!("gives both event and alert; a test feeds in one of them"),
        (None, None) => bail!("gives neither event nor alert; a test feeds in one of them"),
    };
    if spec.expect.is_empty() {
        bail!("expect: empty; list one entry per alert the input yields");
    }
    let cluster = match &spec.cluster {
        Some(rel) => Some(load_snapshot(&dir.join(rel)).context("cluster")?),
        None => None,
    };
    Ok(Case {
        name: spec.name,
        at,
        input,
        bytes,
        cluster,
        expect: spec.expect,
    })
}
