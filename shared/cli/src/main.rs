//! `reflex`: replay alert events through the remediation pipeline, check policies, and
//! see, pause and resume what reflex does.
//!
//! This file only dispatches the parsed command line (`args.rs`) and maps outcomes to exit
//! codes (`exit.rs`); the work is in `replay.rs` (the pipeline run), `cluster.rs` (which
//! cluster a run reads and acts on), `render.rs` (the text format), `output.rs` (stdout that survives `| head`), `policy_check.rs`,
//! `policy_test/` (a policy's unit tests), `operate.rs` (audit, status, pause, resume)
//! over `store.rs` (an audit log or the table), and `approve.rs` (an approval).
//! Exit codes are a contract (ARCHITECTURE section 7): 0 every input processed, 2 an input
//! was rejected (or the command line, policy or snapshot was unusable), 1 an execution
//! failed (this wins over 2: a failed action needs attention first). `policy test` reads
//! the same numbers its own way (section 10): 0 every test passed, 1 a test failed, 2 a test
//! file or policy is unusable.

mod approve;
mod args;
mod audit_log;
mod cluster;
mod exit;
mod live;
mod load;
mod operate;
mod output;
mod policy_check;
mod policy_test;
mod render;
mod replay;
mod store;

use std::process::ExitCode;

use clap::Parser;

use args::{AuditCommand, Cli, Command, PolicyCommand};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Replay(args) => replay::run(args),
        Command::Policy(PolicyCommand::Check { file }) => policy_check::check(&file),
        Command::Policy(PolicyCommand::Default) => policy_check::print_default(),
        Command::Audit(AuditCommand::List(args)) => operate::audit_list(&args),
        Command::Audit(AuditCommand::Show(args)) => operate::audit_show(&args),
        Command::Status(args) => operate::status(&args),
        Command::Pause(args) => operate::pause(&args),
        Command::Resume(args) => operate::resume(&args),
        Command::Approve(args) => approve::run(&args),
        Command::Policy(PolicyCommand::Test { policy, files }) => {
            policy_test::run(policy.as_deref(), &files)
        }
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("reflex: {e:#}");
            ExitCode::from(exit::REJECTED)
        }
    }
}
