//! `reflex replay`: the pipeline run over event files, against a live cluster, a snapshot
//! or nothing.

use std::collections::BTreeMap;
use std::io::Write;

use anyhow::Context;
use chrono::Utc;
use reflex_core::alert::{Delivery, Fnv64};
use reflex_core::cluster::{Actuator, ClusterView, Fleet};
use reflex_core::pipeline::{Adapters, Clock, Handled, Ids, Pipeline, Transient};
use reflex_core::vocab::verdict::{Mode, Verdict};
use reflex_snapshot::Snapshot;

use crate::args::{Format, ReplayArgs};
use crate::audit_log::AuditLog;
use crate::cluster::Cluster;
use crate::load::{load_policy, load_snapshot};
use crate::{exit, live, render};

/// A run id (`<kind>-<hash>`): distinct per invocation, short enough to read in record ids.
pub fn run_id(kind: &str) -> String {
    let mut h = Fnv64::default();
    let nanos = Utc::now().timestamp_nanos_opt().unwrap_or_default();
    h.write(&nanos.to_le_bytes())
        .write(&std::process::id().to_le_bytes());
    format!("{kind}-{}", &h.hex()[..10])
}

/// Runs the replay and returns the exit code.
pub fn run(args: ReplayArgs) -> anyhow::Result<u8> {
    let policy = load_policy(args.policy.as_deref())?;
    // Timers and sockets are only used by the live cluster, but cost nothing idle.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let cluster = match (&args.cluster, &args.kubeconfig) {
        (Some(path), _) => Cluster::Snapshot(load_snapshot(path)?),
        (None, Some(kubeconfig)) => Cluster::Live(live::connect(
            &runtime,
            kubeconfig,
            args.context.as_deref(),
        )?),
        (None, None) => Cluster::Unknown,
    };
    if args.execute && matches!(cluster, Cluster::Unknown) {
        anyhow::bail!(
            "--execute needs a cluster to act on: give --kubeconfig FILE (a live cluster) or --cluster SNAPSHOT (simulated in memory)"
        );
    }
    let mode = if args.execute {
        Mode::Enforce
    } else {
        Mode::DryRun
    };
    let pipeline = Pipeline {
        policy: &policy,
        mode,
    };
    let ledger = match &args.audit_log {
        Some(path) => AuditLog::open(path)?,
        None => AuditLog::in_memory(),
    };
    let run = Run {
        args: &args,
        pipeline,
        runtime: &runtime,
        cluster: &cluster,
    };
    match &cluster {
        Cluster::Live(kube) => run.events(&Adapters {
            cluster: Some(kube),
            live: Some((
                kube,
                &live::LiveFleet::from_env(&runtime, |v| std::env::var(v).ok(), args.execute)?,
            )),
            ledger: &ledger,
            notifier: &(),
            alarms: &(),
        }),
        Cluster::Snapshot(snapshot) => run.events(&Adapters {
            cluster: Some(snapshot),
            live: args.execute.then_some((snapshot, snapshot)),
            ledger: &ledger,
            notifier: &(),
            alarms: &(),
        }),
        Cluster::Unknown => run.events(&Adapters::<Snapshot, Snapshot, Snapshot, _> {
            cluster: None,
            live: None,
            ledger: &ledger,
            notifier: &(),
            alarms: &(),
        }),
    }
}

/// One replay invocation, ready to go through its event files.
struct Run<'a> {
    args: &'a ReplayArgs,
    pipeline: Pipeline<'a>,
    runtime: &'a tokio::runtime::Runtime,
    cluster: &'a Cluster,
}

impl Run<'_> {
    /// Every event file through the pipeline, printed; returns the exit code.
    fn events<C: ClusterView, A: Actuator, F: Fleet>(
        &self,
        adapters: &Adapters<'_, C, A, F, AuditLog>,
    ) -> anyhow::Result<u8> {
        let (args, pipeline, runtime) = (self.args, &self.pipeline, self.runtime);
        let mode = pipeline.mode;
        let clock = match args.now {
            Some(t) => Clock::Fixed(t),
            None => Clock::AlertTime {
                fallback: Utc::now(),
            },
        };
        let mut ids = Ids::new(run_id("replay"));
        let mut verdicts: BTreeMap<&'static str, usize> = BTreeMap::new();
        let mut code = exit::OK;
        let mut out = crate::output::stdout();
        let mut count = 0;
        if args.format == Format::Text {
            writeln!(out, "{}", render::header(args, mode, self.cluster))?;
        }
        for path in &args.events {
            let handled: Vec<Handled> = match std::fs::read(path) {
                Ok(bytes) => runtime.block_on(pipeline.process(&bytes, adapters, clock, &mut ids)),
                Err(e) => {
                    let reason = format!("cannot read event file {}: {e}", path.display());
                    let record = pipeline.rejected(
                        &[],
                        reason,
                        Delivery::default(),
                        clock.at(None),
                        &mut ids,
                    );
                    let mut handled = Handled::of(record);
                    runtime.block_on(pipeline.finish(&mut handled, adapters));
                    vec![handled]
                }
            };
            for Handled {
                record, transient, ..
            } in handled
            {
                // A cluster that was unreachable is told in the record (failed); an audit log
                // that could not be written loses records, which ends the run.
                if let Some(Transient::Ledger(e)) = transient {
                    anyhow::bail!("record {} could not be stored: {e}", record.id);
                }
                count += 1;
                *verdicts.entry(record.verdict.as_str()).or_default() += 1;
                code = match (code, record.verdict) {
                    (_, Verdict::Failed) | (exit::FAILED, _) => exit::FAILED,
                    (_, Verdict::Rejected) => exit::REJECTED,
                    (code, _) => code,
                };
                match args.format {
                    Format::Json => writeln!(out, "{}", record.to_json_line())?,
                    Format::Text => write!(out, "{}", render::block(&record, count, path))?,
                }
            }
        }
        if args.format == Format::Text {
            writeln!(
                out,
                "{}",
                render::summary(count, &verdicts, mode, self.cluster)
            )?;
        }
        out.flush()?;
        Ok(code)
    }
}
