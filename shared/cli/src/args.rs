//! The command line, as clap parses it: subcommands, their flags and the value parsers. The
//! flags are a contract (ARCHITECTURE sections 7 and 10); their help text is the reference.

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

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
