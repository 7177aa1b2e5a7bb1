//! What on-call needs to see next to a notification: why the target failed, read from the
//! cluster with bounded reads and rendered within a size cap.
//!
//! | file | job |
//! |---|---|
//! | `model.rs` | the model ([`Evidence`]) and the [`EvidenceSource`] port |
//! | `gather.rs` | [`gather`]: the reads, each failure kept as a line |
//! | `redact.rs` | secrets never shown: credential-looking log lines replaced |
//! | `diff.rs` | what a rollback changes between two pod templates (images, env names) |
//! | `render.rs` | the evidence as plain text or chat markdown, cut to a byte budget |
//!
//! The one design choice to know: **gathering never fails.** Every read that goes wrong
//! becomes a line of [`Evidence::unavailable`] (`logs unavailable: ...`), so a notification
//! always goes out; the caller bounds the whole gathering with a short timeout, and it runs
//! before the action only because the action destroys what is worth reading (a restarted
//! pod's logs, the pods a drained node held).

mod diff;
mod gather;
mod model;
mod redact;
mod render;

pub use diff::{ContainerChange, RevisionDiff, diff_templates};
pub use gather::gather;
pub use model::{
    ContainerEvidence, EVENTS_SHOWN, EventSubject, EventsOf, Evidence, EvidenceSource, KubeEvent,
    LOG_LIMIT_BYTES, LOG_TAIL_LINES, LogBounds, NodeEvidence, PodEvidence,
};
pub use redact::{REDACTED, redact_line, redact_lines};
pub use render::{Style, render};
