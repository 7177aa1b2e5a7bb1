//! `reflex`: replay alert events through the remediation pipeline, and check policies.
//!
//! This file only parses arguments and maps outcomes to exit codes; the work is in
//! `replay.rs` (the pipeline run), `render.rs` (the text format) and `policy_check.rs`.
//! Exit codes are a contract (ARCHITECTURE section 7): 0 every input processed, 2 an input
//! was rejected (or the command line, policy or snapshot was unusable), 1 an execution
//! failed (this wins over 2: a failed action needs attention first).

mod audit_log;
mod live;
mod policy_check;
mod render;
mod replay;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

/// Alert-driven auto-remediation for Kubernetes on AWS.
#[derive(Debug, Parser)]
#[command(name = "reflex", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
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
struct ReplayArgs {
    /// Policy file (YAML); default: the embedded default policy.
    #[arg(long, value_name = "FILE")]
    policy: Option<PathBuf>,
    /// Cluster snapshot: a kubectl List JSON (`kubectl get nodes,namespaces,pods,deployments,
    /// replicasets,statefulsets,daemonsets,poddisruptionbudgets -A -o json`).
    #[arg(long, value_name = "SNAPSHOT", conflicts_with = "kubeconfig")]
    cluster: Option<PathBuf>,
    /// Live cluster: read it through this kubeconfig, and send every planned call with
    /// server-side `dryRun=All` (for real with --execute).
    #[arg(long, value_name = "FILE")]
    kubeconfig: Option<PathBuf>,
    /// Kubeconfig context to use; default: its current context.
    #[arg(long, value_name = "NAME", requires = "kubeconfig")]
    context: Option<String>,
    /// Evaluate every alert at this time (RFC 3339); default: each event at its own time.
    #[arg(long, value_name = "RFC3339", value_parser = parse_time)]
    now: Option<chrono::DateTime<chrono::Utc>>,
    /// Perform the plans (enforce mode) instead of recording them.
    #[arg(long)]
    execute: bool,
    /// Audit log (JSON lines): records already in it count for cooldown, budget and
    /// exactly-once; this run's records are appended to it.
    #[arg(long, value_name = "FILE")]
    audit_log: Option<PathBuf>,
    /// Output format: `json` prints one audit record per line and nothing else on stdout.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// Event files (any supported shape; several alerts per file are fine).
    #[arg(value_name = "EVENT_FILE", required = true)]
    events: Vec<PathBuf>,
}

#[derive(Debug, Subcommand)]
enum PolicyCommand {
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
enum Format {
    /// For people: one block per alert.
    Text,
    /// One JSON audit record per line.
    Json,
}

fn parse_time(s: &str) -> Result<chrono::DateTime<chrono::Utc>, String> {
    chrono::DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&chrono::Utc))
        .map_err(|e| format!("not an RFC 3339 time ({e}); e.g. 2026-11-20T09:30:00Z"))
}

/// Exit codes of the CLI contract.
mod exit {
    pub const OK: u8 = 0;
    pub const FAILED: u8 = 1;
    pub const REJECTED: u8 = 2;
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Replay(args) => replay::run(args),
        Command::Policy(PolicyCommand::Check { file }) => policy_check::check(&file),
        Command::Policy(PolicyCommand::Default) => policy_check::print_default(),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("reflex: {e:#}");
            ExitCode::from(exit::REJECTED)
        }
    }
}
