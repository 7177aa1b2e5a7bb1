//! reflex-core: the pure pipeline of an alert-driven remediation service.
//!
//! ```text
//! bytes ─decode→ [Alert] ─classify(policy)→ Decision ─resolve+guard(cluster, history)→ Plan ─execute→ Outcome → AuditRecord
//! ```
//!
//! Start at [`decode::decode`], then [`policy::Policy::classify`], [`plan::resolve`] (one
//! file per action kind under `plan/`) and [`guard`], [`execute::run`] and
//! [`audit::AuditRecord`]; [`pipeline`] writes the stages out in order, and [`approve`]
//! performs an approval of an `awaiting_approval` record through the same stages. The one design
//! choice to know: this crate does no I/O and depends on no Kubernetes client, AWS SDK or
//! async runtime. What it must learn from the world (cluster objects, instance termination,
//! the audit trail) it asks through the traits in [`cluster`] and [`ledger`]; adapters (the
//! snapshot file, kube-rs, the AWS SDK) implement them. Those traits return futures, so the
//! core is async-capable without owning an executor.
//!
//! Imports run one way, from the stages down to the words they share: [`vocab`] (targets,
//! actions, ops, verdicts, annotation keys) and [`objects`] (the Kubernetes objects read)
//! import no stage, and no two files import each other (`tests/layering.rs` checks it).

pub mod alarm_metrics;
pub mod alert;
pub mod approval;
pub mod approve;
pub mod audit;
pub mod cluster;
pub mod decode;
pub mod drain;
pub mod duration;
pub mod evidence;
pub mod execute;
pub mod guard;
pub mod history;
pub mod intent;
pub mod ledger;
pub mod limits;
pub mod names;
pub mod objects;
pub mod pipeline;
pub mod plan;
pub mod policy;
pub mod time_format;
pub mod vocab;

pub use alert::{Alert, AlertStatus, Labels, Shape, Source};
pub use audit::AuditRecord;
pub use vocab::verdict::{Mode, Verdict};

/// Runs a future that is ready at once (the memory ledger answers with ready futures; this
/// crate has no executor).
#[cfg(test)]
pub(crate) fn ready<F: std::future::Future>(f: F) -> F::Output {
    let mut f = std::pin::pin!(f);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    match f.as_mut().poll(&mut cx) {
        std::task::Poll::Ready(out) => out,
        std::task::Poll::Pending => panic!("the memory ledger answered later"),
    }
}
