//! The kube adapter end to end: the real kube-rs client over HTTP against the fake API
//! server, seeded with the sample cluster of events/cluster. One module per area:
//!
//! - `reads`: the planner's reads, 404s, kubeconfig loading, read failures and timeouts.
//! - `restart_pod`: delete and replacement check, dry-run and execute, verify timeout.
//! - `rollout`: rollout restart and the rollout check.
//! - `rollback`: the `test`-guarded patch, and a stale resourceVersion as a conflict.
//! - `credentials`: bearer tokens that expire during a drain, refused credentials.
//! - `dead_node`: draining a node whose kubelet is gone: Terminating pods and the grace.
//! - `drain`: node replacement: cordon, evictions, DaemonSet and bare pods, PDB timeout,
//!   pods scheduled during the cordon, claims on local persistent volumes.
//! - `karpenter`: a Karpenter node replaced through its NodeClaim; 404s; a late new node.
//! - `faults`: 429 and 500 bursts, dropped connections, latency past the timeouts.
//! - `scale`: a 100-pod drain, timed.
//! - `traffic`: Services and TargetGroupBindings; an ALB 5XX alarm to its Deployment.
//! - `bounded_reads`: what a decision reads (request counts, selectors, the node list once).
//!
//! One test binary on purpose: each links kube-rs, and linking dominates build time.

#![allow(clippy::unwrap_used)] // Tests: a failed unwrap is a failed test with its message.

mod common;

mod bounded_reads;
mod credentials;
mod dead_node;
mod deadline;
mod drain;
mod faults;
mod karpenter;
mod reads;
mod restart_pod;
mod rollback;
mod rollout;
mod scale;
mod traffic;
