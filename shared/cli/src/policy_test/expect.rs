//! What a test expects of one audit record, and the keys on which a record differs.
//!
//! Only the keys an expectation gives are compared. `class`, `rule`, `action` and `target`
//! may be given as `null` to expect none (a `no_match` has no rule, an `ignored` resolved
//! alert no action); `reason` is met when the record's reason contains the text.

use reflex_core::audit::AuditRecord;
use reflex_core::vocab::action::{ActionKind, FailureClass};
use reflex_core::vocab::target::TargetKind;
use reflex_core::vocab::verdict::Verdict;
use serde::{Deserialize, Deserializer};

/// One entry of a test's `expect:` list: what the record of one alert must say.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    /// The failure class (`null`: no rule matched).
    #[serde(default, deserialize_with = "nullable")]
    class: Option<Option<FailureClass>>,
    /// The name of the matching rule (`null`: none matched).
    #[serde(default, deserialize_with = "nullable")]
    rule: Option<Option<String>>,
    /// The action kind (`null`: no action was decided).
    #[serde(default, deserialize_with = "nullable")]
    action: Option<Option<ActionKind>>,
    /// The action's target; each of its keys is compared only when given.
    #[serde(default, deserialize_with = "nullable")]
    target: Option<Option<ExpectTarget>>,
    /// The verdict.
    verdict: Option<Verdict>,
    /// Text the record's reason contains.
    reason: Option<String>,
}

/// `target:` of an expectation.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpectTarget {
    /// `Pod`, `Deployment`, `StatefulSet`, `DaemonSet`, `Node` or `WeightedRecord`.
    kind: Option<TargetKind>,
    /// The namespace (`null` for a Node).
    #[serde(default, deserialize_with = "nullable")]
    namespace: Option<Option<String>>,
    /// The name.
    name: Option<String>,
    /// A weighted record's set identifier (the canary's).
    set_identifier: Option<String>,
}

/// Tells a key given as `null` (`Some(None)`) from a key not given (`None`, by default).
fn nullable<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

/// A key on which the record differs from the expectation.
#[derive(Debug, PartialEq, Eq)]
pub struct Mismatch {
    /// The key, as the test file spells it (`target.name` for a key inside `target`).
    pub key: &'static str,
    /// What the test expected.
    pub expected: String,
    /// What the record says.
    pub got: String,
}

/// `null` for none, the value otherwise.
fn shown<T: ToString>(value: Option<T>) -> String {
    value.map_or_else(|| "null".to_owned(), |v| v.to_string())
}

impl Expect {
    /// Whether the reason is among the keys compared (so the caller need not print it twice).
    pub fn checks_reason(&self) -> bool {
        self.reason.is_some()
    }

    /// The keys on which `record` differs from this expectation, in the file's key order.
    pub fn compare(&self, record: &AuditRecord) -> Vec<Mismatch> {
        let mut out = Vec::new();
        let mut check = |key, expected: String, got: String| {
            if expected != got {
                out.push(Mismatch { key, expected, got });
            }
        };
        if let Some(class) = self.class {
            check("class", shown(class), shown(record.class));
        }
        if let Some(rule) = &self.rule {
            check("rule", shown(rule.as_ref()), shown(record.rule.as_ref()));
        }
        let action = record.action.as_ref();
        if let Some(kind) = self.action {
            check("action", shown(kind), shown(action.map(|a| a.kind)));
        }
        let target = action.map(|a| &a.target);
        match (&self.target, target) {
            (None, _) => {}
            (Some(None), got) => check("target", "null".into(), shown(got)),
            (Some(Some(want)), None) => check("target", want.describe(), "null".into()),
            (Some(Some(want)), Some(got)) => {
                if let Some(kind) = want.kind {
                    check("target.kind", kind.to_string(), got.kind.to_string());
                }
                if let Some(namespace) = &want.namespace {
                    check(
                        "target.namespace",
                        shown(namespace.as_ref()),
                        shown(got.namespace.as_ref()),
                    );
                }
                if let Some(name) = &want.name {
                    check("target.name", name.clone(), got.name.clone());
                }
                if let Some(set) = &want.set_identifier {
                    check(
                        "target.set_identifier",
                        set.clone(),
                        shown(got.set_identifier.as_ref()),
                    );
                }
            }
        }
        if let Some(verdict) = self.verdict {
            check("verdict", verdict.to_string(), record.verdict.to_string());
        }
        if let Some(text) = &self.reason
            && !record.reason.contains(text.as_str())
        {
            out.push(Mismatch {
                key: "reason",
                expected: format!("contains {text:?}"),
                got: record.reason.clone(),
            });
        }
        out
    }
}

impl ExpectTarget {
    /// The target as given, `*` for a key not given: `Deployment production/vote`.
    fn describe(&self) -> String {
        let kind = self.kind.map_or_else(|| "*".to_owned(), |k| k.to_string());
        let name = self.name.as_deref().unwrap_or("*");
        match &self.namespace {
            Some(None) => format!("{kind} {name}"),
            Some(Some(ns)) => format!("{kind} {ns}/{name}"),
            None if self.kind == Some(TargetKind::Node) => format!("{kind} {name}"),
            None => format!("{kind} */{name}"),
        }
    }
}

/// What a record decided, in one line: `planned rollback Deployment production/vote`.
pub fn decision(record: &AuditRecord) -> String {
    match &record.action {
        Some(action) => format!("{} {} {}", record.verdict, action.kind, action.target),
        None => record.verdict.to_string(),
    }
}
