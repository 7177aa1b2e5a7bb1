//! `fake-kube`: the fake Kubernetes API server as a process, for end-to-end tests that
//! drive other processes (Lambda functions, the CLI) against it.
//!
//! Prints the server URL as the first line on stdout, then serves until killed. Faults
//! and controllers can be set here or at runtime through the `/_fake/` admin endpoint.

use std::io::Write as _;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use clap::{Parser, ValueEnum};
use reflex_fake_kube::{ControllerSettings, FakeKube, FaultRule};

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Switch {
    On,
    Off,
}

/// A fake Kubernetes API server seeded from a kubectl List snapshot.
#[derive(Debug, Parser)]
#[command(name = "fake-kube", version)]
struct Args {
    /// kubectl `List` JSON to seed the server with.
    #[arg(long, value_name = "FILE")]
    snapshot: PathBuf,
    /// Port on 127.0.0.1; 0 picks a free one.
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// Pod replacement and rollout steps.
    #[arg(long, value_enum, default_value = "on")]
    controllers: Switch,
    /// Delay before controller writes, in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 100)]
    controller_delay_ms: u64,
    /// Fault rule as JSON, e.g. '{"path_regex":"/eviction$","status":429,"times":2}'; repeatable.
    #[arg(long, value_name = "JSON")]
    fault: Vec<String>,
    /// Answer 401 to requests whose bearer token was first seen more than MS ago.
    #[arg(long, value_name = "MS")]
    max_token_age_ms: Option<u64>,
    /// Stop this node's kubelet: its pods stay Terminating once deleted; repeatable.
    #[arg(long, value_name = "NODE")]
    dead_kubelet: Vec<String>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let snapshot = std::fs::read(&args.snapshot)
        .with_context(|| format!("reading {}", args.snapshot.display()))?;
    let rules = args
        .fault
        .iter()
        .map(|f| FaultRule::from_json(f))
        .collect::<Result<Vec<_>, _>>()?;
    let fake = FakeKube::start_on(
        &snapshot,
        SocketAddr::from((Ipv4Addr::LOCALHOST, args.port)),
    )
    .await?;
    let mut settings = match args.controllers {
        Switch::On => ControllerSettings::default(),
        Switch::Off => ControllerSettings::off(),
    };
    settings.delay = Duration::from_millis(args.controller_delay_ms);
    fake.controllers().set(settings);
    fake.tokens()
        .refuse_older_than(args.max_token_age_ms.map(Duration::from_millis));
    for node in &args.dead_kubelet {
        fake.kill_kubelet(node);
    }
    for rule in rules {
        fake.faults().add(rule);
    }
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "{}", fake.url()).context("writing the URL")?;
    stdout.flush().context("writing the URL")?;
    drop(stdout);
    std::future::pending::<()>().await;
    Ok(())
}
