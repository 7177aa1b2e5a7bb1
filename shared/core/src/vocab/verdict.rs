//! What happened: verdicts, modes and step results, with the names the audit record
//! contract gives them (ARCHITECTURE section 6). The serde attributes are that contract.

use std::fmt;

use serde::{Deserialize, Serialize};

/// What happened to an alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// The action was performed and verified.
    Executed,
    /// Dry run: the action passed every guardrail and is recorded, not performed.
    Planned,
    /// A guardrail refused the action.
    Suppressed,
    /// No policy rule matched the alert.
    NoMatch,
    /// Nothing to do: resolved, insufficient data, or the target no longer exists.
    Ignored,
    /// The input could not be decoded or named an invalid target.
    Rejected,
    /// The action or its verification failed.
    Failed,
    /// The rule asks for a human's approval first: the record's steps are the plan, and
    /// nothing is performed until `reflex approve` or a signed link approves it.
    AwaitingApproval,
}

impl Verdict {
    /// The contract name.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Executed => "executed",
            Verdict::Planned => "planned",
            Verdict::Suppressed => "suppressed",
            Verdict::NoMatch => "no_match",
            Verdict::Ignored => "ignored",
            Verdict::Rejected => "rejected",
            Verdict::Failed => "failed",
            Verdict::AwaitingApproval => "awaiting_approval",
        }
    }

    /// Whether the verdict stands for an action that counts against cooldown and budget.
    pub fn counts_as_action(self) -> bool {
        matches!(self, Verdict::Executed | Verdict::Planned | Verdict::Failed)
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whether reflex acts or only records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Mode {
    /// Record the plan; against a live cluster also send it with `dryRun=All`.
    #[serde(rename = "dry-run")]
    DryRun,
    /// Perform the plan and verify the result.
    #[serde(rename = "enforce")]
    Enforce,
}

impl Mode {
    /// The contract name (`dry-run` / `enforce`).
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::DryRun => "dry-run",
            Mode::Enforce => "enforce",
        }
    }

    /// The more cautious of two modes: a rule's `mode` can only hold reflex back, never
    /// make a dry-run deployment act.
    pub fn cautious(self, other: Mode) -> Mode {
        if self == Mode::DryRun || other == Mode::DryRun {
            Mode::DryRun
        } else {
            Mode::Enforce
        }
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Mode {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "dry-run" => Ok(Mode::DryRun),
            "enforce" => Ok(Mode::Enforce),
            other => Err(format!(
                "unknown mode {other:?}: expected dry-run or enforce"
            )),
        }
    }
}

/// What a step's call came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepResult {
    /// Dry run: recorded, not sent.
    Planned,
    /// Sent with `dryRun=All` and accepted.
    DryRun,
    /// Performed.
    Ok,
    /// Failed; `detail` says why.
    Failed,
    /// Not reached because an earlier step failed.
    Skipped,
}

/// One API call, planned or made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepRecord {
    /// Operation name (`delete_pod`, `cordon`, `evict`, `terminate_instance`, ...).
    pub op: String,
    /// The concrete request, e.g. `DELETE /api/v1/namespaces/production/pods/vote-1`.
    pub call: String,
    /// Outcome.
    pub result: StepResult,
    /// Details: the answer, what blocked it, what it waits on.
    #[serde(skip_serializing_if = "String::is_empty", default)]
    pub detail: String,
}
