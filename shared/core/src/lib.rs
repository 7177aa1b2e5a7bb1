//! reflex-core: the pure pipeline of an alert-driven remediation service.
//!
//! ```text
//! bytes ─decode→ [Alert] ─classify(policy)→ Decision ─resolve+guard(cluster, history)→ Plan ─execute→ Outcome → AuditRecord
//! ```
//!
//! Start at [`decode::decode`], then [`policy::Policy::classify`], [`plan::resolve`] and
//! [`guard`], and [`audit::AuditRecord`]. The one design choice to know: this crate does no
//! I/O and depends on no Kubernetes client, AWS SDK or async runtime. What it must learn
//! from the world (cluster objects, instance termination) it asks through the traits in
//! [`cluster`]; adapters (the snapshot file, kube-rs, the AWS SDK) implement them. Those
//! traits return futures, so the core is async-capable without owning an executor.

pub mod alert;
pub mod audit;
pub mod cluster;
pub mod decode;
pub mod duration;
pub mod execute;
pub mod guard;
pub mod history;
pub mod ledger;
pub mod names;
pub mod pipeline;
pub mod plan;
pub mod policy;

pub use alert::{Alert, AlertStatus, Labels, Shape, Source};
pub use audit::{AuditRecord, Mode, Verdict};
