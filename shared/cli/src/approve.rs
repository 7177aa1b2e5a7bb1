//! `reflex approve ID`: an engineer approves an action awaiting approval, with their own
//! credentials (ARCHITECTURE section 11).
//!
//! The approval itself is the core's ([`Pipeline::approve`], shared with the `remediate`
//! function's signed approval messages); this file picks the store, the cluster it acts on
//! (the live cluster through a kubeconfig, or an in-memory copy of a snapshot, as `replay
//! --execute` does) and who the approver is: the AWS caller (STS GetCallerIdentity, as for
//! `reflex pause --table`), else the kubeconfig's user, else the local user. A cluster is
//! required before anything is read: an approval used without one to act on would be lost.

use std::io::Write;

use anyhow::Context;
use chrono::Utc;
use reflex_core::approve::Approval;
use reflex_core::cluster::{Actuator, ClusterView, Fleet};
use reflex_core::ledger::Ledger;
use reflex_core::pipeline::{Adapters, Handled, Ids, Pipeline, Transient};
use reflex_core::vocab::verdict::{Mode, Verdict};
use reflex_kube::KubeCluster;

use crate::args::{ApproveArgs, Format};
use crate::load::{load_policy, load_snapshot};
use crate::store::Store;
use crate::{exit, live, output, render, replay};

/// `reflex approve`: returns the exit code.
pub fn run(args: &ApproveArgs) -> anyhow::Result<u8> {
    let policy = load_policy(args.policy.as_deref())?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    if args.cluster.is_none() && args.kubeconfig.is_none() {
        anyhow::bail!(
            "approve needs the cluster to act on: give --kubeconfig FILE (the live cluster) or --cluster SNAPSHOT (simulated in memory)"
        );
    }
    let store = Store::open(&args.store, &runtime, false)?;
    let approver = match (&store, &args.kubeconfig) {
        (Store::Table { .. }, _) | (Store::File { .. }, None) => runtime
            .block_on(store.who())
            .with_context(|| format!("cannot tell who approves ({})", store.describe()))?,
        (Store::File { .. }, Some(kubeconfig)) => {
            KubeCluster::kubeconfig_user(kubeconfig, args.context.as_deref())
                .with_context(|| format!("cannot read kubeconfig {}", kubeconfig.display()))?
        }
    };
    let pipeline = Pipeline {
        policy: &policy,
        mode: Mode::Enforce,
    };
    let approval = Approval {
        approves: &args.id,
        approver: &approver,
        now: Utc::now(),
    };
    let go = Go {
        pipeline,
        approval,
        runtime: &runtime,
    };
    let handled = match (&args.cluster, &args.kubeconfig) {
        (Some(path), _) => {
            let snapshot = load_snapshot(path)?;
            go.on(&store, Some(&snapshot), Some((&snapshot, &snapshot)))
        }
        (None, Some(kubeconfig)) => {
            let kube = live::connect(&runtime, kubeconfig, args.context.as_deref())?;
            let fleet = live::LiveFleet::from_env(&runtime, |v| std::env::var(v).ok(), true)?;
            go.on(&store, Some(&kube), Some((&kube, &fleet)))
        }
        (None, None) => unreachable!("checked above"),
    };
    let Handled {
        record, transient, ..
    } = handled;
    if let Some(Transient::Ledger(e)) = transient {
        anyhow::bail!(
            "the approval's record {} could not be stored in {}: {e}",
            record.id,
            store.describe()
        );
    }
    let text = match args.format {
        Format::Json => format!("{}\n", record.to_json_line()),
        Format::Text => render::record(&record),
    };
    let mut out = output::stdout();
    out.write_all(text.as_bytes())?;
    out.flush()?;
    Ok(match record.verdict {
        Verdict::Failed => exit::FAILED,
        Verdict::Rejected => exit::REJECTED,
        _ => exit::OK,
    })
}

/// One approval, ready to run against a store and a cluster.
struct Go<'a> {
    pipeline: Pipeline<'a>,
    approval: Approval<'a>,
    runtime: &'a tokio::runtime::Runtime,
}

impl Go<'_> {
    /// The approval against `store`'s ledger.
    fn on<C: ClusterView, A: Actuator, F: Fleet>(
        &self,
        store: &Store,
        cluster: Option<&C>,
        live: Option<(&A, &F)>,
    ) -> Handled {
        match store {
            Store::File { log, .. } => self.with(log.as_ref(), cluster, live),
            Store::Table { ledger, .. } => self.with(ledger.as_ref(), cluster, live),
        }
    }

    fn with<C: ClusterView, A: Actuator, F: Fleet, L: Ledger>(
        &self,
        ledger: &L,
        cluster: Option<&C>,
        live: Option<(&A, &F)>,
    ) -> Handled {
        let adapters = Adapters {
            cluster,
            live,
            ledger,
            notifier: &(),
            alarms: &(),
        };
        let id = Ids::new(replay::run_id("approve")).issue();
        self.runtime
            .block_on(self.pipeline.approve(self.approval, &adapters, id))
    }
}
