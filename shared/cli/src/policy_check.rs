//! `reflex policy check FILE` and `reflex policy default`. Checking says whether a policy
//! loads; `reflex policy test` (in `policy_test/`) says whether it decides what it should,
//! and the check's last line points there.

use std::io::Write;
use std::path::Path;

use anyhow::Context;
use reflex_core::policy::{DEFAULT_POLICY_YAML, Policy, Rule};

use crate::exit;

fn describe(rule: &Rule) -> String {
    let w = &rule.when;
    let mut conditions = Vec::new();
    if let Some(source) = w.source {
        conditions.push(format!("source={source}"));
    }
    if !w.alertname.is_empty() {
        conditions.push(format!("alertname in [{}]", w.alertname.join(", ")));
    }
    if let Some(ns) = &w.metric_namespace {
        conditions.push(format!("metric_namespace={ns}"));
    }
    if !w.metric_name.is_empty() {
        conditions.push(format!("metric_name in [{}]", w.metric_name.join(", ")));
    }
    conditions.extend(w.matchers.iter().map(ToString::to_string));
    let t = &rule.target;
    let target = [
        ("namespace", &t.namespace),
        ("name", &t.name),
        ("instance_id", &t.instance_id),
        ("target_group", &t.target_group),
    ]
    .into_iter()
    .filter_map(|(field, tpl)| tpl.as_ref().map(|tpl| format!("{field}={tpl}")))
    .collect::<Vec<_>>()
    .join(" ");
    let mut action = rule.action.to_string();
    if let (Some(window), fallback) = (rule.recent_revision, rule.fallback) {
        action.push_str(&format!(" if newest revision <= {window} old"));
        if let Some(fallback) = fallback {
            action.push_str(&format!(", else {fallback}"));
        }
    }
    if rule.approval.is_some() {
        action.push_str(" (approval required)");
    }
    format!(
        "{}\n    when:   {}\n    class:  {}\n    action: {action}\n    target: {} {target}",
        rule.name,
        conditions.join(", "),
        rule.class,
        t.kind
    )
}

/// Validates `file` and lists its rules; exit 2 with the reason when it is refused.
pub fn check(file: &Path) -> anyhow::Result<u8> {
    let text = std::fs::read_to_string(file)
        .with_context(|| format!("cannot read policy {}", file.display()))?;
    let policy = match Policy::from_yaml(&text) {
        Ok(policy) => policy,
        Err(e) => {
            eprintln!("reflex: policy {} refused: {e}", file.display());
            return Ok(exit::REJECTED);
        }
    };
    let g = &policy.guardrails;
    let mut out = crate::output::stdout();
    writeln!(
        out,
        "policy {}: OK, {} rules",
        file.display(),
        policy.rules.len()
    )?;
    writeln!(
        out,
        "guardrails: denied namespaces [{}]; cooldown {}; budget {} actions per {}; nodes: {} in flight, none above {}% NotReady; timeouts: drain {}, verify {}",
        g.denied_namespaces.join(", "),
        g.cooldown,
        g.budget.max_actions,
        g.budget.window,
        g.nodes.max_in_flight,
        g.nodes.max_not_ready_percent,
        g.timeouts.drain,
        g.timeouts.verify
    )?;
    writeln!(
        out,
        "approval: ttl {}; links {}",
        policy.approval.ttl,
        if policy.approval.links { "on" } else { "off" }
    )?;
    for (i, rule) in policy.rules.iter().enumerate() {
        writeln!(out, "{:>3}. {}", i + 1, describe(rule))?;
    }
    writeln!(
        out,
        "test what it decides: reflex policy test --policy {} TESTFILE... (events or inline alerts, each with the verdict it must get)",
        file.display()
    )?;
    Ok(exit::OK)
}

/// Prints the embedded default policy.
pub fn print_default() -> anyhow::Result<u8> {
    crate::output::stdout().write_all(DEFAULT_POLICY_YAML.as_bytes())?;
    Ok(exit::OK)
}
