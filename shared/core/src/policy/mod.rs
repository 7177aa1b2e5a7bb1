//! The declarative policy: which alerts mean which failure, and what to do about it
//! (ARCHITECTURE sections 4 and 5).
//!
//! A policy is YAML: guardrail settings and an ordered list of rules. Loading refuses
//! unknown fields and then runs [`Policy::validate`], so a typo or an impossible target
//! fails at deploy time or cold start, never in the middle of an incident. Classification
//! ([`Policy::classify`]) is a plain function of the policy and the alert: first match wins.

mod matcher;
mod template;

use serde::Deserialize;

pub use matcher::{InvalidMatcher, MatchOp, Matcher, valid_label_name};
pub use template::{Template, TemplateError};

use crate::alert::{Alert, Source};
use crate::duration::Span;
use crate::vocab::action::{ActionKind, FailureClass};
use crate::vocab::target::TargetKind;
use crate::vocab::verdict::Mode;

/// The default policy, embedded (`shared/core/policy/default.yaml` is the readable copy).
pub const DEFAULT_POLICY_YAML: &str = include_str!("../../policy/default.yaml");

/// A whole policy.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    /// Guardrail settings; every field has a safe default.
    #[serde(default)]
    pub guardrails: Guardrails,
    /// How actions of rules that say `approval: required` wait for a human.
    #[serde(default)]
    pub approval: ApprovalSettings,
    /// Rules, tried in order; the first match decides.
    pub rules: Vec<Rule>,
}

/// Approval settings (ARCHITECTURE section 11): how long an action awaiting approval may
/// be approved, and whether its notification carries a signed approval link.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ApprovalSettings {
    /// An approval given later than this after the `awaiting_approval` record is refused.
    pub ttl: Span,
    /// Whether the notification carries a signed, single-use link to the approval page
    /// (needs the signing key configured where reflex runs).
    pub links: bool,
}

impl Default for ApprovalSettings {
    fn default() -> Self {
        ApprovalSettings {
            ttl: Span::from_mins(30),
            links: false,
        }
    }
}

/// A rule's `approval`: whether its actions wait for a human.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Approval {
    /// In `enforce` mode the action is not performed: its record is `awaiting_approval`
    /// until `reflex approve` (or a signed link) approves it.
    Required,
}

/// Guardrails (ARCHITECTURE section 5).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Guardrails {
    /// Namespaces reflex never acts in.
    pub denied_namespaces: Vec<String>,
    /// At most one action per target within this span.
    pub cooldown: Span,
    /// At most this many actions overall within a window.
    pub budget: Budget,
    /// Node replacement limits.
    pub nodes: NodeLimits,
    /// How long actions may take.
    pub timeouts: Timeouts,
    /// A delivery evaluated longer than this after it was sent is stale: `ignored`.
    pub max_delivery_age: Span,
    /// Whether a Deployment that a GitOps tool manages (Argo CD, Flux) may be rolled back:
    /// `refuse` (the default) takes the rule's fallback, as the tool's sync would revert the
    /// rollback within seconds; `allow` rolls back anyway.
    pub gitops: GitOps,
}

/// What a rollback does to a Deployment that a GitOps tool manages.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum GitOps {
    /// Take the rule's fallback (or notify), naming the tool.
    #[default]
    Refuse,
    /// Roll back as for any Deployment.
    Allow,
}

impl Default for Guardrails {
    fn default() -> Self {
        Guardrails {
            denied_namespaces: ["kube-system", "kube-public", "kube-node-lease"]
                .map(String::from)
                .to_vec(),
            cooldown: Span::from_mins(15),
            budget: Budget::default(),
            nodes: NodeLimits::default(),
            timeouts: Timeouts::default(),
            max_delivery_age: Span::from_mins(15),
            gitops: GitOps::default(),
        }
    }
}

/// The overall action budget.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Budget {
    /// Most actions allowed within `window`.
    pub max_actions: u32,
    /// The sliding window.
    pub window: Span,
}

impl Default for Budget {
    fn default() -> Self {
        Budget {
            max_actions: 10,
            window: Span::from_mins(60),
        }
    }
}

/// Node replacement limits.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NodeLimits {
    /// Replacements allowed in flight at once.
    pub max_in_flight: u32,
    /// No replacement while more than this share of nodes is NotReady (a systemic fault).
    pub max_not_ready_percent: u32,
    /// A replacement recorded within this span counts as still in flight.
    pub in_flight_window: Span,
    /// On a NotReady node, a pod whose deletion was requested longer ago than this counts as
    /// gone: a dead kubelet never confirms it (kubectl's `--skip-wait-for-delete-timeout`).
    pub terminating_grace: Span,
    /// Whether a drain may evict pods that keep data on the node (`emptyDir` volumes, claims
    /// bound to `local` or `hostPath` PersistentVolumes); when false such a node is not
    /// drained and the pods and volumes are named.
    pub evict_local_data: bool,
}

impl Default for NodeLimits {
    fn default() -> Self {
        NodeLimits {
            max_in_flight: 1,
            max_not_ready_percent: 20,
            in_flight_window: Span::from_mins(30),
            terminating_grace: Span::from_mins(1),
            evict_local_data: false,
        }
    }
}

/// Time limits of actions.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Timeouts {
    /// A drain that has not emptied the node by then gives up (node stays cordoned).
    pub drain: Span,
    /// Verification of a restart or rollout.
    pub verify: Span,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            // One deadline for the evictions and the wait for evicted pods: a drain takes at
            // most this long, well inside a Lambda's 15-minute limit.
            drain: Span::from_mins(5),
            verify: Span::from_mins(5),
        }
    }
}

/// One rule.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// Unique name, recorded in audit records.
    pub name: String,
    /// Which alerts the rule applies to; every condition given must hold.
    #[serde(rename = "match")]
    pub when: Match,
    /// The failure class the alert signals.
    pub class: FailureClass,
    /// What to do.
    pub action: ActionKind,
    /// Rollback only: roll back only when the Deployment's newest revision was created at
    /// most this long before the alert started (and an older one exists); otherwise use
    /// `fallback`. Without it, a rollback rule always rolls back.
    #[serde(default)]
    pub recent_revision: Option<Span>,
    /// Rollback only: the action when the recent-revision condition does not hold.
    #[serde(default)]
    pub fallback: Option<ActionKind>,
    /// What the action is aimed at.
    pub target: TargetSpec,
    /// `dry-run` makes this a shadow rule: planned and reported to on-call, never performed,
    /// even when reflex enforces. The effective mode is the more cautious of this and the
    /// deployment's. Default: the deployment's mode.
    #[serde(default)]
    pub mode: Option<Mode>,
    /// The escalation ladder after `action`: when this rule already acted on the same
    /// workload within `escalate_within`, the next action of the list is taken instead (the
    /// first repeat takes the first entry, and so on); past its end, `notify`.
    #[serde(default)]
    pub escalate: Vec<ActionKind>,
    /// How far back the ladder looks for this rule's earlier actions on the workload.
    #[serde(default)]
    pub escalate_within: Option<Span>,
    /// `required`: in `enforce` mode the action waits for a human's approval (verdict
    /// `awaiting_approval`) instead of being performed. Default: performed at once.
    #[serde(default)]
    pub approval: Option<Approval>,
}

/// Conditions of a rule.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Match {
    /// Only alerts from this source.
    pub source: Option<Source>,
    /// The alert name (`alertname` / `AlarmName`) is one of these.
    pub alertname: Vec<String>,
    /// CloudWatch metric namespace (label `metric_namespace`).
    pub metric_namespace: Option<String>,
    /// CloudWatch metric name (label `metric_name`) is one of these.
    pub metric_name: Vec<String>,
    /// Alertmanager-style label matchers, all of which must hold.
    pub matchers: Vec<Matcher>,
}

/// A rule's target: kind plus templates for its name.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TargetSpec {
    /// Object kind.
    pub kind: TargetKind,
    /// Namespace template (namespaced kinds).
    #[serde(default)]
    pub namespace: Option<Template>,
    /// Name template.
    #[serde(default)]
    pub name: Option<Template>,
    /// Node only: find the node by the EC2 instance id at the end of its providerID.
    #[serde(default)]
    pub instance_id: Option<Template>,
    /// Deployment only, instead of namespace and name: the ALB target group
    /// (`targetgroup/NAME/ID`, CloudWatch's `TargetGroup` dimension) whose
    /// TargetGroupBinding's Service selects the Deployment's pods.
    #[serde(default)]
    pub target_group: Option<Template>,
}

/// Why a policy was refused.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    /// The YAML did not parse or did not fit the schema.
    #[error("policy does not parse: {0}")]
    Parse(String),
    /// A rule is inconsistent.
    #[error("rule {rule:?}: field {field}: {problem}")]
    Rule {
        /// Rule name.
        rule: String,
        /// Offending field path within the rule.
        field: &'static str,
        /// What is wrong.
        problem: String,
    },
    /// A guardrail setting is unusable.
    #[error("guardrails: field {field}: {problem}")]
    Guardrail {
        /// Offending field.
        field: &'static str,
        /// What is wrong.
        problem: String,
    },
    /// An approval setting is unusable.
    #[error("approval: field {field}: {problem}")]
    Approval {
        /// Offending field.
        field: &'static str,
        /// What is wrong.
        problem: String,
    },
}

impl Policy {
    /// Parses and validates a policy.
    pub fn from_yaml(text: &str) -> Result<Policy, PolicyError> {
        let policy: Policy = serde_yaml_ng::from_str(text)
            .map_err(|e| PolicyError::Parse(name_rules_in_error(text, &e.to_string())))?;
        policy.validate()?;
        Ok(policy)
    }

    /// The embedded default policy.
    pub fn default_policy() -> Policy {
        // The embedded policy is validated by a unit test; failing here would be a build bug.
        #[allow(clippy::expect_used)] // checked by `default_policy_is_valid` below
        Policy::from_yaml(DEFAULT_POLICY_YAML).expect("embedded default policy is valid")
    }

    /// Checks what the schema cannot: unique names, action/target fit, resolvable targets.
    pub fn validate(&self) -> Result<(), PolicyError> {
        let g = &self.guardrails;
        if g.budget.window.as_secs() == 0 {
            return Err(PolicyError::Guardrail {
                field: "budget.window",
                problem: "must be longer than 0s".into(),
            });
        }
        if g.nodes.max_not_ready_percent > 100 {
            return Err(PolicyError::Guardrail {
                field: "nodes.max_not_ready_percent",
                problem: "must be between 0 and 100".into(),
            });
        }
        for ns in &g.denied_namespaces {
            crate::names::validate(ns, crate::names::NameRule::Label).map_err(|e| {
                PolicyError::Guardrail {
                    field: "denied_namespaces",
                    problem: e.to_string(),
                }
            })?;
        }
        if self.approval.ttl.as_secs() == 0 {
            return Err(PolicyError::Approval {
                field: "ttl",
                problem: "must be longer than 0s".into(),
            });
        }
        let mut seen = std::collections::HashSet::new();
        for rule in &self.rules {
            if !seen.insert(rule.name.as_str()) {
                return Err(rule.error("name", "another rule has the same name".into()));
            }
            rule.validate()?;
        }
        Ok(())
    }

    /// How far back the records that decide an alert reach: the longest of the cooldown,
    /// the budget and in-flight windows, and every rule's escalation window.
    pub fn history_window(&self) -> Span {
        let g = &self.guardrails;
        [g.cooldown, g.budget.window, g.nodes.in_flight_window]
            .into_iter()
            .chain(self.rules.iter().filter_map(|r| r.escalate_within))
            .max()
            .unwrap_or(g.cooldown)
    }

    /// The first rule whose conditions hold for `alert`.
    pub fn classify(&self, alert: &Alert) -> Option<&Rule> {
        self.rules.iter().find(|rule| rule.when.matches(alert))
    }
}

impl Rule {
    fn error(&self, field: &'static str, problem: String) -> PolicyError {
        PolicyError::Rule {
            rule: self.name.clone(),
            field,
            problem,
        }
    }

    fn validate(&self) -> Result<(), PolicyError> {
        if self.name.trim().is_empty() {
            return Err(self.error("name", "must not be empty".into()));
        }
        let w = &self.when;
        if w.source.is_none()
            && w.alertname.is_empty()
            && w.metric_namespace.is_none()
            && w.metric_name.is_empty()
            && w.matchers.is_empty()
        {
            return Err(self.error(
                "match",
                "matches every alert; give at least one condition".into(),
            ));
        }
        let t = &self.target;
        if !self.action.accepts(t.kind) {
            return Err(self.error(
                "target.kind",
                format!("action {} cannot act on a {}", self.action, t.kind),
            ));
        }
        let escalates_to_rollback = self.escalate.contains(&ActionKind::Rollback);
        if self.action != ActionKind::Rollback {
            if self.recent_revision.is_some() && !escalates_to_rollback {
                return Err(self.error(
                    "recent_revision",
                    "only applies to the rollback action (or a rollback step of escalate)".into(),
                ));
            }
            if self.fallback.is_some() {
                return Err(self.error("fallback", "only applies to the rollback action".into()));
            }
        }
        if let Some(fallback) = self.fallback {
            if fallback == ActionKind::Rollback || fallback == ActionKind::ReplaceNode {
                return Err(self.error(
                    "fallback",
                    format!("{fallback} cannot be a rollback's fallback"),
                ));
            }
            if self.recent_revision.is_none() {
                return Err(self.error(
                    "fallback",
                    "needs recent_revision: it is used when that condition fails".into(),
                ));
            }
            if !fallback.accepts(t.kind) {
                return Err(self.error(
                    "fallback",
                    format!("{fallback} cannot act on the rule's {} target", t.kind),
                ));
            }
        }
        self.validate_ladder()?;
        if self.approval.is_some() {
            if self.mode == Some(Mode::DryRun) {
                return Err(self.error(
                    "approval",
                    "a shadow rule (mode: dry-run) performs nothing, so there is nothing to approve".into(),
                ));
            }
            if self.action == ActionKind::Notify && self.escalate.is_empty() {
                return Err(self.error(
                    "approval",
                    "notify changes nothing in the cluster, so there is nothing to approve".into(),
                ));
            }
        }
        if t.target_group.is_some() {
            if t.kind != TargetKind::Deployment {
                return Err(self.error(
                    "target.target_group",
                    format!(
                        "only a Deployment target can be found by target group, not a {}",
                        t.kind
                    ),
                ));
            }
            if t.namespace.is_some() || t.name.is_some() || t.instance_id.is_some() {
                return Err(self.error(
                    "target",
                    "a target found by target_group takes no namespace, name or instance_id: the TargetGroupBinding names them".into(),
                ));
            }
        } else if t.kind.is_namespaced() {
            if t.namespace.is_none() {
                return Err(self.error(
                    "target.namespace",
                    format!("a {} target needs a namespace", t.kind),
                ));
            }
            if t.name.is_none() {
                return Err(self.error("target.name", format!("a {} target needs a name", t.kind)));
            }
            if t.instance_id.is_some() {
                return Err(self.error(
                    "target.instance_id",
                    "only a Node target can be found by instance id".into(),
                ));
            }
        } else {
            if t.namespace.is_some() {
                return Err(self.error("target.namespace", "nodes are not namespaced".into()));
            }
            if t.name.is_some() == t.instance_id.is_some() {
                return Err(self.error(
                    "target",
                    "a Node target needs exactly one of name and instance_id".into(),
                ));
            }
        }
        for (field, template) in [
            ("target.namespace", &t.namespace),
            ("target.name", &t.name),
            ("target.instance_id", &t.instance_id),
            ("target.target_group", &t.target_group),
        ] {
            if let Some(template) = template {
                template
                    .validate()
                    .map_err(|e| self.error(field, e.to_string()))?;
            }
        }
        Ok(())
    }
}

impl Rule {
    /// `escalate` and `escalate_within` come together, and each step can act on the target.
    fn validate_ladder(&self) -> Result<(), PolicyError> {
        match (self.escalate.is_empty(), self.escalate_within) {
            (true, None) => return Ok(()),
            (true, Some(_)) => {
                return Err(self.error(
                    "escalate_within",
                    "needs escalate: the actions to take when this rule acts again".into(),
                ));
            }
            (false, None) => {
                return Err(self.error(
                    "escalate",
                    "needs escalate_within: how far back an earlier action counts".into(),
                ));
            }
            (false, Some(within)) if within.as_secs() == 0 => {
                return Err(self.error("escalate_within", "must be longer than 0s".into()));
            }
            (false, Some(_)) => {}
        }
        if self.escalate.contains(&ActionKind::Rollback) && self.recent_revision.is_none() {
            return Err(self.error(
                "escalate",
                "a rollback step needs recent_revision: a revision older than that is not the cause, and rolling it back would undo a good release".into(),
            ));
        }
        for step in &self.escalate {
            if !step.accepts(self.target.kind) {
                return Err(self.error(
                    "escalate",
                    format!(
                        "{step} cannot act on the rule's {} target",
                        self.target.kind
                    ),
                ));
            }
        }
        Ok(())
    }
}

impl Match {
    /// Whether every given condition holds for `alert`.
    pub fn matches(&self, alert: &Alert) -> bool {
        self.source.is_none_or(|s| s == alert.source)
            && (self.alertname.is_empty() || self.alertname.contains(&alert.name))
            && self
                .metric_namespace
                .as_deref()
                .is_none_or(|ns| alert.label("metric_namespace") == Some(ns))
            && (self.metric_name.is_empty()
                || alert
                    .label("metric_name")
                    .is_some_and(|m| self.metric_name.iter().any(|n| n == m)))
            && self.matchers.iter().all(|m| m.matches(&alert.labels))
    }
}

/// serde reports a failing rule by index (`rules[3].action`); operators think in rule names,
/// so add the name of that rule when the YAML is readable enough to find it.
fn name_rules_in_error(text: &str, message: &str) -> String {
    let Some(start) = message.find("rules[") else {
        return message.to_owned();
    };
    let digits: String = message[start + 6..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    let Ok(index) = digits.parse::<usize>() else {
        return message.to_owned();
    };
    let name = serde_yaml_ng::from_str::<serde_yaml_ng::Value>(text)
        .ok()
        .and_then(|doc| {
            doc.get("rules")?
                .get(index)?
                .get("name")?
                .as_str()
                .map(str::to_owned)
        });
    match name {
        Some(name) => format!("rule {name:?} ({message})"),
        None => message.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_policy_is_valid() {
        let policy = Policy::from_yaml(DEFAULT_POLICY_YAML).expect("default policy");
        assert_eq!(policy.rules.len(), 8);
        assert_eq!(policy.guardrails.cooldown, Span::from_mins(15));
        assert_eq!(policy.guardrails.budget.max_actions, 10);
    }

    fn refused(yaml: &str) -> String {
        Policy::from_yaml(yaml)
            .expect_err("policy should be refused")
            .to_string()
    }

    const TARGET_POD: &str = r#"target: { kind: Pod, namespace: "{namespace}", name: "{pod}" }"#;

    #[test]
    fn unknown_fields_are_refused_with_the_rule_name() {
        let msg = refused(&format!(
            "rules:\n  - name: r1\n    match: {{ alertname: [A] }}\n    class: pod_not_ready\n    action: restart_pod\n    colour: red\n    {TARGET_POD}\n"
        ));
        assert!(msg.contains("\"r1\"") && msg.contains("colour"), "{msg}");
    }

    #[test]
    fn unknown_actions_are_refused_with_the_rule_name() {
        let msg = refused(&format!(
            "rules:\n  - name: r1\n    match: {{ alertname: [A] }}\n    class: pod_not_ready\n    action: reboot_cluster\n    {TARGET_POD}\n"
        ));
        assert!(
            msg.contains("\"r1\"") && msg.contains("reboot_cluster"),
            "{msg}"
        );
    }

    #[test]
    fn bad_regex_is_refused_with_the_rule_name() {
        let msg = refused(&format!(
            "rules:\n  - name: r1\n    match: {{ matchers: ['pod=~\"(\"'] }}\n    class: pod_not_ready\n    action: restart_pod\n    {TARGET_POD}\n"
        ));
        assert!(
            msg.contains("\"r1\"") && msg.contains("regular expression"),
            "{msg}"
        );
    }

    #[test]
    fn unresolvable_targets_are_refused_with_rule_and_field() {
        let cases = [
            (
                "action: restart_pod\n    target: { kind: Node, name: \"{node}\" }",
                "target.kind",
            ),
            (
                "action: restart_pod\n    target: { kind: Pod, name: \"{pod}\" }",
                "target.namespace",
            ),
            (
                "action: restart_pod\n    target: { kind: Pod, namespace: \"{namespace}\", name: \"{pod}.Bad\" }",
                "target.name",
            ),
            (
                "action: restart_pod\n    target: { kind: Pod, namespace: \"{name space}\", name: \"{pod}\" }",
                "target.namespace",
            ),
            (
                "action: restart_pod\n    target: { kind: Pod, namespace: \"Production\", name: \"{pod}\" }",
                "target.namespace",
            ),
            ("action: replace_node\n    target: { kind: Node }", "target"),
            (
                "action: replace_node\n    target: { kind: Node, namespace: x, name: \"{node}\" }",
                "target.namespace",
            ),
            (
                "action: restart_pod\n    fallback: notify\n    target: { kind: Pod, namespace: a, name: b }",
                "fallback",
            ),
            (
                "action: restart_pod\n    target: { kind: Pod, target_group: \"{TargetGroup}\" }",
                "target.target_group",
            ),
            (
                "action: rollback\n    target: { kind: Deployment, namespace: production, target_group: \"{TargetGroup}\" }",
                "target",
            ),
        ];
        for (body, field) in cases {
            let msg = refused(&format!(
                "rules:\n  - name: bad-target\n    match: {{ alertname: [A] }}\n    class: pod_not_ready\n    {body}\n"
            ));
            assert!(
                msg.contains("\"bad-target\"") && msg.contains(&format!("field {field}:")),
                "{field}: {msg}"
            );
        }
    }

    #[test]
    fn malformed_templates_are_refused_with_the_rule_name() {
        let msg = refused(
            "rules:\n  - name: r1\n    match: { alertname: [A] }\n    class: pod_not_ready\n    action: restart_pod\n    target: { kind: Pod, namespace: \"{namespace}\", name: \"{}\" }\n",
        );
        assert!(
            msg.contains("\"r1\"") && msg.contains("field target.name:"),
            "{msg}"
        );
    }

    #[test]
    fn duplicate_rule_names_are_refused() {
        let rule = format!(
            "  - name: twin\n    match: {{ alertname: [A] }}\n    class: pod_not_ready\n    action: restart_pod\n    {TARGET_POD}\n"
        );
        let msg = refused(&format!("rules:\n{rule}{rule}"));
        assert!(msg.contains("twin") && msg.contains("same name"), "{msg}");
    }

    #[test]
    fn a_rule_matching_everything_is_refused() {
        let msg = refused(&format!(
            "rules:\n  - name: all\n    match: {{}}\n    class: pod_not_ready\n    action: restart_pod\n    {TARGET_POD}\n"
        ));
        assert!(msg.contains("matches every alert"), "{msg}");
    }

    #[test]
    fn approval_settings_and_rule_approval_are_typed_and_checked() {
        let rule = |extra: &str| {
            format!(
                "rules:\n  - name: gated\n    match: {{ alertname: [A] }}\n    class: pod_not_ready\n    action: restart_pod\n    {TARGET_POD}\n{extra}"
            )
        };
        let policy = Policy::from_yaml(&rule("    approval: required\n")).expect("policy");
        assert_eq!(policy.rules[0].approval, Some(Approval::Required));
        assert_eq!(policy.approval.ttl, Span::from_mins(30));
        assert!(!policy.approval.links);
        let policy = Policy::from_yaml(&format!(
            "approval: {{ ttl: 10m, links: true }}\n{}",
            rule("")
        ))
        .expect("policy");
        assert_eq!(policy.approval.ttl, Span::from_mins(10));
        assert!(policy.approval.links);
        let msg = refused(&rule("    approval: maybe\n"));
        assert!(msg.contains("\"gated\"") && msg.contains("maybe"), "{msg}");
        let msg = refused(&format!("approval: {{ ttl: 0s }}\n{}", rule("")));
        assert!(msg.contains("approval: field ttl"), "{msg}");
        let msg = refused(&format!("approval: {{ tll: 5m }}\n{}", rule("")));
        assert!(msg.contains("tll"), "{msg}");
        let msg = refused(&rule("    approval: required\n    mode: dry-run\n"));
        assert!(
            msg.contains("field approval:") && msg.contains("shadow"),
            "{msg}"
        );
        let msg = refused(&rule("    approval: required\n").replace("restart_pod", "notify"));
        assert!(
            msg.contains("field approval:") && msg.contains("nothing to approve"),
            "{msg}"
        );
    }

    #[test]
    fn guardrail_settings_are_checked() {
        let msg = refused("guardrails:\n  nodes: { max_not_ready_percent: 120 }\nrules: []\n");
        assert!(msg.contains("max_not_ready_percent"), "{msg}");
        let msg = refused("guardrails:\n  cooldown: soon\nrules: []\n");
        assert!(msg.contains("invalid duration"), "{msg}");
    }
}
