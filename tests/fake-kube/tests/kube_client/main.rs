//! The fake API server driven by the real kube-rs client over HTTP, one module per area:
//!
//! - `reads`: get, list, selectors, 404s, kubeconfig loading.
//! - `discovery`: kube-rs's discovery and kubectl (`REFLEX_KUBECTL`) reading groups,
//!   resources and server-side tables.
//! - `writes`: merge, strategic and JSON patches, replace, delete, resourceVersion conflicts.
//! - `eviction`: the eviction subresource and PodDisruptionBudget 429s.
//! - `dead_node`: a stopped kubelet's pods stay Terminating after a delete.
//! - `dry_run`: `dryRun=All` answers without persisting.
//! - `controllers`: pod replacement and rollout steps, on and off.
//! - `faults`: injected statuses, latency, dropped connections, the request log.
//! - `process`: the `fake-kube` binary and its admin endpoint.
//! - `generator`: the `fake-cluster` binary's large snapshots, and the request log's byte counts.
//!
//! One test binary on purpose: each links kube-rs, and linking dominates build time.

#![allow(clippy::unwrap_used)] // Tests: a failed unwrap is a failed test with its message.

mod common;

mod controllers;
mod dead_node;
mod discovery;
mod dry_run;
mod eviction;
mod faults;
mod generator;
mod process;
mod reads;
mod writes;
