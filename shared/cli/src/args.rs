//! The command line, as clap parses it: subcommands, their flags and the value parsers. The
//! flags are a contract (ARCHITECTURE sections 7 and 10); their help text is the reference.

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};
use reflex_core::duration::Span;
use reflex_core::vocab::target::TargetRef;
use reflex_core::vocab::verdict::Verdict;

/// Alert-driven auto-remediation for Kubernetes on AWS.
#[derive(Debug, Parser)]
#[command(name = "reflex", version, about)]
pub struct Cli {
    #[command(subcommand)]
    /// The subcommand.
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run events through the whole pipeline and print one audit record per alert.
    ///
    /// Dry-run unless --execute. Without --cluster or --kubeconfig, reflex still classifies
    /// and plans what it can and says what it could not check. With --cluster and --execute,
    /// the plan is applied to an in-memory copy of the snapshot (a simulation; nothing leaves
    /// the process). With --kubeconfig, a dry run sends each call with `dryRun=All`, and
    /// --execute acts on the cluster.
    Replay(ReplayArgs),
    /// Policy tools.
    #[command(subcommand)]
    Policy(PolicyCommand),
    /// What reflex did: the audit records of a store.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Whether reflex is paused, its budget used, the leases held and its last actions.
    Status(StatusArgs),
    /// Stop every action: while paused each alert is recorded as suppressed, nothing changes.
    ///
    /// The pause lives in the store, so the Lambda function and every CLI run using the same
    /// store see it at their next alert. On-call is told once per pause.
    Pause(PauseArgs),
    /// End the pause in force.
    Resume(ResumeArgs),
    /// Approve an action awaiting approval: plan it again against the cluster as it is now,
    /// and perform it only if the plan still names the same objects.
    ///
    /// Exit 0 when the approval was processed (whatever the verdict), 2 when it was refused
    /// (unknown id, nothing awaiting, expired, already used) or the store is unusable, 1
    /// when the action failed. Each outcome is a new record with `approves: ID`.
    Approve(ApproveArgs),
}

#[derive(Debug, clap::Args)]
pub struct ApproveArgs {
    /// The id of the `awaiting_approval` record.
    #[arg(value_name = "ID")]
    pub id: String,
    #[command(flatten)]
    pub store: StoreArgs,
    /// Act on an in-memory copy of this cluster snapshot (a simulation, as `replay
    /// --execute --cluster` does).
    #[arg(long, value_name = "SNAPSHOT", conflicts_with = "kubeconfig")]
    pub cluster: Option<PathBuf>,
    /// Act on the live cluster through this kubeconfig, with its credentials.
    #[arg(long, value_name = "FILE")]
    pub kubeconfig: Option<PathBuf>,
    /// Kubeconfig context to use; default: its current context.
    #[arg(long, value_name = "NAME", requires = "kubeconfig")]
    pub context: Option<String>,
    /// The policy reflex runs with (the rule that asked for approval is looked up in it);
    /// default: the embedded default policy.
    #[arg(long, value_name = "FILE")]
    pub policy: Option<PathBuf>,
    /// `text` for people, `json` the record made, as stored.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

/// Where records and the pause live: `--audit-log FILE` or `--table NAME`.
#[derive(Debug, Clone, clap::Args)]
#[group(required = true, multiple = false)]
pub struct StoreArgs {
    /// A JSON-lines audit log, as `reflex replay --audit-log` writes it.
    #[arg(long, value_name = "FILE")]
    pub audit_log: Option<PathBuf>,
    /// The DynamoDB audit table (stack output AuditTableName); AWS settings come from the
    /// usual environment (AWS_REGION, credentials, AWS_ENDPOINT_URL).
    #[arg(long, value_name = "NAME")]
    pub table: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// List records, newest first.
    List(AuditListArgs),
    /// Print one record whole, steps included.
    Show(AuditShowArgs),
}

#[derive(Debug, clap::Args)]
pub struct AuditListArgs {
    #[command(flatten)]
    pub store: StoreArgs,
    /// Only records at or after this: a duration back from now (`90m`, `24h`) or an RFC 3339
    /// time.
    #[arg(long, value_name = "DURATION|RFC3339", default_value = "24h", value_parser = parse_since)]
    pub since: Since,
    /// Only records with this verdict (repeatable).
    #[arg(long = "verdict", value_name = "V", value_parser = parse_verdict)]
    pub verdicts: Vec<Verdict>,
    /// Only records about this target: KIND/NAMESPACE/NAME, or Node/NAME.
    #[arg(long, value_name = "KIND/[NS/]NAME", value_parser = parse_target)]
    pub target: Option<TargetRef>,
    /// Only records of this policy rule.
    #[arg(long, value_name = "NAME")]
    pub rule: Option<String>,
    /// At most this many records.
    #[arg(long, value_name = "N")]
    pub limit: Option<usize>,
    /// `text`: a table; `json`: each record as stored, one per line.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

#[derive(Debug, clap::Args)]
pub struct AuditShowArgs {
    /// The record id.
    #[arg(value_name = "ID")]
    pub id: String,
    #[command(flatten)]
    pub store: StoreArgs,
    /// `text` for people, `json` the record as stored.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

#[derive(Debug, clap::Args)]
pub struct StatusArgs {
    #[command(flatten)]
    pub store: StoreArgs,
    /// The policy reflex runs with (its budget, cooldown and node limits); default: the
    /// embedded default policy.
    #[arg(long, value_name = "FILE")]
    pub policy: Option<PathBuf>,
    /// `text` for people, `json` one object.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

#[derive(Debug, clap::Args)]
pub struct PauseArgs {
    /// Why: recorded, and named in every record made while paused.
    #[arg(long, value_name = "TEXT")]
    pub reason: String,
    /// End the pause by itself after this long (`30m`, `2h`); default: until `reflex resume`.
    #[arg(long = "for", value_name = "DURATION", value_parser = parse_span)]
    pub length: Option<Span>,
    #[command(flatten)]
    pub store: StoreArgs,
}

#[derive(Debug, clap::Args)]
pub struct ResumeArgs {
    #[command(flatten)]
    pub store: StoreArgs,
}

/// `--since`: back from now, or from a fixed time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Since {
    /// This long before now.
    Ago(Span),
    /// This instant.
    At(chrono::DateTime<chrono::Utc>),
}

impl Since {
    /// The instant meant, seen at `now`.
    pub fn at(self, now: chrono::DateTime<chrono::Utc>) -> chrono::DateTime<chrono::Utc> {
        match self {
            Since::Ago(span) => now - span.to_chrono(),
            Since::At(t) => t,
        }
    }
}

fn parse_since(s: &str) -> Result<Since, String> {
    match s.parse::<Span>() {
        Ok(span) => Ok(Since::Ago(span)),
        Err(_) => parse_time(s)
            .map(Since::At)
            .map_err(|_| format!("expected a duration (90m, 24h) or an RFC 3339 time, got {s:?}")),
    }
}

fn parse_span(s: &str) -> Result<Span, String> {
    let span = s.parse::<Span>().map_err(|e| e.to_string())?;
    if span.as_secs() == 0 {
        return Err("must be longer than 0s".into());
    }
    Ok(span)
}

fn parse_verdict(s: &str) -> Result<Verdict, String> {
    serde_json::from_value(serde_json::Value::String(s.to_owned())).map_err(|_| {
        format!(
            "unknown verdict {s:?}: expected executed, planned, suppressed, no_match, ignored, rejected, failed or awaiting_approval"
        )
    })
}

fn parse_target(s: &str) -> Result<TargetRef, String> {
    s.parse()
}

#[derive(Debug, clap::Args)]
pub struct ReplayArgs {
    /// Policy file (YAML); default: the embedded default policy.
    #[arg(long, value_name = "FILE")]
    pub policy: Option<PathBuf>,
    /// Cluster snapshot: a kubectl List JSON (`kubectl get nodes,namespaces,pods,deployments,
    /// replicasets,statefulsets,daemonsets,poddisruptionbudgets,persistentvolumeclaims,
    /// persistentvolumes -A -o json`).
    #[arg(long, value_name = "SNAPSHOT", conflicts_with = "kubeconfig")]
    pub cluster: Option<PathBuf>,
    /// Live cluster: read it through this kubeconfig, and send every planned call with
    /// server-side `dryRun=All` (for real with --execute).
    #[arg(long, value_name = "FILE")]
    pub kubeconfig: Option<PathBuf>,
    /// Kubeconfig context to use; default: its current context.
    #[arg(long, value_name = "NAME", requires = "kubeconfig")]
    pub context: Option<String>,
    /// Evaluate every alert at this time (RFC 3339); default: each event at its own time.
    #[arg(long, value_name = "RFC3339", value_parser = parse_time)]
    pub now: Option<chrono::DateTime<chrono::Utc>>,
    /// Perform the plans (enforce mode) instead of recording them.
    #[arg(long)]
    pub execute: bool,
    /// Audit log (JSON lines): records already in it count for cooldown, budget and
    /// exactly-once; this run's records are appended to it.
    #[arg(long, value_name = "FILE")]
    pub audit_log: Option<PathBuf>,
    /// Output format: `json` prints one audit record per line and nothing else on stdout.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Event files (any supported shape; several alerts per file are fine).
    #[arg(value_name = "EVENT_FILE", required = true)]
    pub events: Vec<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum PolicyCommand {
    /// Validate a policy file and list its rules.
    Check {
        /// Policy file (YAML).
        #[arg(value_name = "FILE")]
        file: PathBuf,
    },
    /// Print the embedded default policy.
    Default,
    /// Run a policy's unit tests: each test's event (or inline alert) through the whole
    /// pipeline, dry-run, against the test file's snapshot, compared with what it expects.
    ///
    /// Exit 0 when every test passed, 1 when a test failed, 2 when a test file or policy is
    /// unusable. The last line of the output is `N passed, M failed`.
    Test {
        /// Policy file (YAML) to test, instead of the one each test file names (and of the
        /// embedded default policy, which is tested when neither names one).
        #[arg(long, value_name = "FILE")]
        policy: Option<PathBuf>,
        /// Test files (YAML; format: README, "Policy tests").
        #[arg(value_name = "TESTFILE", required = true)]
        files: Vec<PathBuf>,
    },
}

/// How records are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// For people: one block per alert.
    Text,
    /// One JSON audit record per line.
    Json,
}

pub fn parse_time(s: &str) -> Result<chrono::DateTime<chrono::Utc>, String> {
    chrono::DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&chrono::Utc))
        .map_err(|e| format!("not an RFC 3339 time ({e}); e.g. 2026-11-20T09:30:00Z"))
}
