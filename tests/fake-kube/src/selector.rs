//! Label and field selectors: the `labelSelector`/`fieldSelector` query strings of a list,
//! and the structured `metav1.LabelSelector` a PodDisruptionBudget carries.
//!
//! Both label forms compile to the same requirement list, so a budget and a list query
//! can never disagree about which pods they select. Field selectors support only the
//! fields kube-apiserver indexes for each type; others are refused as the real server does.

use serde_json::{Map, Value};

use crate::resources::{EVENTS, NODES, PODS, ResourceType};

#[derive(Debug, Clone, PartialEq, Eq)]
enum LabelOp {
    Equals(String),
    NotEquals(String),
    In(Vec<String>),
    NotIn(Vec<String>),
    Exists,
    DoesNotExist,
}

/// A conjunction of label requirements. The empty selector matches everything.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct LabelSelector {
    requirements: Vec<(String, LabelOp)>,
}

impl LabelSelector {
    /// Parses the query-string syntax: `a=b,c!=d,e in (x,y),f notin (z),g,!h`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut requirements = Vec::new();
        for term in split_top_level(text) {
            let term = term.trim();
            if term.is_empty() {
                continue;
            }
            requirements.push(parse_label_term(term)?);
        }
        Ok(Self { requirements })
    }

    /// Compiles a `metav1.LabelSelector` object (`matchLabels`, `matchExpressions`).
    /// A null selector selects nothing, so it gives `None`.
    pub fn from_object(selector: &Value) -> Result<Option<Self>, String> {
        let Some(selector) = selector.as_object() else {
            return Ok(None);
        };
        let mut requirements = Vec::new();
        if let Some(labels) = selector.get("matchLabels").and_then(Value::as_object) {
            for (key, value) in labels {
                let value = value
                    .as_str()
                    .ok_or_else(|| format!("matchLabels.{key} is not a string"))?;
                requirements.push((key.clone(), LabelOp::Equals(value.to_owned())));
            }
        }
        for expression in selector
            .get("matchExpressions")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let key = expression
                .get("key")
                .and_then(Value::as_str)
                .ok_or("matchExpressions without key")?;
            let values: Vec<String> = expression
                .get("values")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect();
            let op = match expression.get("operator").and_then(Value::as_str) {
                Some("In") => LabelOp::In(values),
                Some("NotIn") => LabelOp::NotIn(values),
                Some("Exists") => LabelOp::Exists,
                Some("DoesNotExist") => LabelOp::DoesNotExist,
                other => return Err(format!("unsupported matchExpressions operator {other:?}")),
            };
            requirements.push((key.to_owned(), op));
        }
        Ok(Some(Self { requirements }))
    }

    /// Whether an object's `metadata.labels` satisfy every requirement.
    pub fn matches(&self, labels: Option<&Map<String, Value>>) -> bool {
        self.requirements.iter().all(|(key, op)| {
            let value = labels.and_then(|l| l.get(key)).and_then(Value::as_str);
            match op {
                LabelOp::Equals(want) => value == Some(want.as_str()),
                LabelOp::NotEquals(want) => value != Some(want.as_str()),
                LabelOp::In(set) => value.is_some_and(|v| set.iter().any(|s| s == v)),
                LabelOp::NotIn(set) => value.is_none_or(|v| set.iter().all(|s| s != v)),
                LabelOp::Exists => value.is_some(),
                LabelOp::DoesNotExist => value.is_none(),
            }
        })
    }
}

/// Splits on commas that are not inside a `( ... )` value set.
fn split_top_level(text: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut depth, mut start) = (0usize, 0usize);
    for (i, c) in text.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            ',' if depth == 0 => {
                parts.push(&text[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&text[start..]);
    parts
}

fn parse_label_term(term: &str) -> Result<(String, LabelOp), String> {
    if let Some(key) = term.strip_prefix('!') {
        return Ok((key.trim().to_owned(), LabelOp::DoesNotExist));
    }
    if let Some((key, value)) = term.split_once("!=") {
        return Ok((
            key.trim().to_owned(),
            LabelOp::NotEquals(value.trim().to_owned()),
        ));
    }
    if let Some((key, value)) = term.split_once("==").or_else(|| term.split_once('=')) {
        return Ok((
            key.trim().to_owned(),
            LabelOp::Equals(value.trim().to_owned()),
        ));
    }
    for (word, set_op) in [(" notin ", true), (" in ", false)] {
        if let Some((key, set)) = term.split_once(word) {
            let set = set
                .trim()
                .strip_prefix('(')
                .and_then(|s| s.strip_suffix(')'))
                .ok_or_else(|| format!("unable to parse requirement: {term}"))?;
            let values = set
                .split(',')
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
                .collect();
            let op = if set_op {
                LabelOp::NotIn(values)
            } else {
                LabelOp::In(values)
            };
            return Ok((key.trim().to_owned(), op));
        }
    }
    if term.contains(char::is_whitespace) {
        return Err(format!("unable to parse requirement: {term}"));
    }
    Ok((term.to_owned(), LabelOp::Exists))
}

/// A conjunction of `field=value` / `field!=value` terms.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct FieldSelector {
    terms: Vec<(String, bool, String)>,
}

/// Fields kube-apiserver can select on beyond `metadata.name` and `metadata.namespace`.
fn selectable_fields(resource: &ResourceType) -> &'static [&'static str] {
    if std::ptr::eq(resource, &PODS) {
        &[
            "spec.nodeName",
            "spec.restartPolicy",
            "spec.schedulerName",
            "spec.serviceAccountName",
            "status.phase",
            "status.podIP",
            "status.nominatedNodeName",
        ]
    } else if std::ptr::eq(resource, &NODES) {
        &["spec.unschedulable"]
    } else if std::ptr::eq(resource, &EVENTS) {
        &[
            "involvedObject.kind",
            "involvedObject.namespace",
            "involvedObject.name",
            "involvedObject.uid",
            "reason",
            "type",
        ]
    } else {
        &[]
    }
}

impl FieldSelector {
    /// Parses `a=b,c!=d` and refuses fields the resource does not index.
    pub fn parse(text: &str, resource: &ResourceType) -> Result<Self, String> {
        let mut terms = Vec::new();
        for term in text.split(',').map(str::trim).filter(|t| !t.is_empty()) {
            let (field, equal, value) = if let Some((f, v)) = term.split_once("!=") {
                (f, false, v)
            } else if let Some((f, v)) = term.split_once("==").or_else(|| term.split_once('=')) {
                (f, true, v)
            } else {
                return Err(format!(
                    "invalid selector: '{text}'; can't understand '{term}'"
                ));
            };
            let field = field.trim();
            let known = matches!(field, "metadata.name" | "metadata.namespace")
                || selectable_fields(resource).contains(&field);
            if !known {
                return Err(format!("field label not supported: {field}"));
            }
            terms.push((field.to_owned(), equal, value.trim().to_owned()));
        }
        Ok(Self { terms })
    }

    /// Whether the object satisfies every term; a missing field reads as the empty string.
    pub fn matches(&self, object: &Value) -> bool {
        // Compared without allocating: a field selector over a large collection (the pods
        // of one node among 100,000) tests every object of it.
        self.terms.iter().all(|(field, equal, want)| {
            let actual = field
                .split('.')
                .try_fold(object, |value, key| value.get(key));
            let same = match actual {
                Some(Value::String(s)) => s == want,
                Some(Value::Bool(b)) => want == if *b { "true" } else { "false" },
                Some(Value::Number(n)) => n.to_string() == *want,
                // An unset boolean (`spec.unschedulable`) selects as "false", like its Go zero value.
                None if field == "spec.unschedulable" => want == "false",
                _ => want.is_empty(),
            };
            same == *equal
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // Tests fail loudly on bad fixtures.

    use serde_json::json;

    use super::*;

    fn labels(value: Value) -> Map<String, Value> {
        value.as_object().cloned().unwrap()
    }

    #[test]
    fn query_selector_supports_equality_sets_and_existence() {
        let selector =
            LabelSelector::parse("app=vote, tier!=db,env in (prod, staging),!canary,team").unwrap();
        assert!(selector.matches(Some(&labels(json!({"app":"vote","env":"prod","team":"a"})))));
        assert!(!selector.matches(Some(&labels(json!({"app":"vote","env":"dev","team":"a"})))));
        assert!(!selector.matches(Some(&labels(
            json!({"app":"vote","env":"prod","team":"a","canary":"1"})
        ))));
        assert!(!selector.matches(None));
    }

    #[test]
    fn notin_and_not_equal_match_objects_without_the_label() {
        let selector = LabelSelector::parse("env notin (prod),tier!=db").unwrap();
        assert!(selector.matches(Some(&labels(json!({})))));
    }

    #[test]
    fn structured_selector_combines_match_labels_and_expressions() {
        let selector = LabelSelector::from_object(&json!({
            "matchLabels": {"app": "vote"},
            "matchExpressions": [{"key": "tier", "operator": "NotIn", "values": ["db"]}]
        }))
        .unwrap()
        .unwrap();
        assert!(selector.matches(Some(&labels(json!({"app":"vote","tier":"web"})))));
        assert!(!selector.matches(Some(&labels(json!({"app":"vote","tier":"db"})))));
    }

    #[test]
    fn empty_structured_selector_matches_all_and_null_matches_none() {
        assert!(
            LabelSelector::from_object(&json!({}))
                .unwrap()
                .unwrap()
                .matches(None)
        );
        assert_eq!(LabelSelector::from_object(&Value::Null).unwrap(), None);
    }

    #[test]
    fn field_selector_reads_pod_fields_and_refuses_unindexed_ones() {
        let selector =
            FieldSelector::parse("spec.nodeName=n1,metadata.namespace!=kube-system", &PODS)
                .unwrap();
        assert!(
            selector.matches(&json!({"metadata":{"namespace":"prod"},"spec":{"nodeName":"n1"}}))
        );
        assert!(!selector.matches(&json!({"metadata":{"namespace":"prod"},"spec":{}})));
        assert_eq!(
            FieldSelector::parse("spec.nodeName=n1", &NODES).unwrap_err(),
            "field label not supported: spec.nodeName"
        );
    }
}
