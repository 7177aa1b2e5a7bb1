//! The AWS adapters against real HTTP: moto's server (started by the tests themselves, see
//! reflex-test-support's `moto`), a closed port and a throttling endpoint.
//!
//! - `eks`: DescribeCluster errors and the session-signed token.
//! - `fleet`: node replacement in a cluster-owned Auto Scaling group; refusals; dry run.
//! - `alarms`: the CloudWatch re-check: confirmed, not in ALARM, missing, other dimensions.
//! - `notify`: a notification lands on an SQS queue subscribed to the topic.
//! - `store`: records by time and by target, claims, leases.
//! - `concurrency`: 20 concurrent pipeline runs of one alert; two alerts for one target;
//!   20 alerts on 20 targets with one action of the budget left; two node alerts at once.
//! - `faults`: refused and throttled endpoints give bounded retries and `failed` records.
//! - `startup`: no credentials is a clear error at start.
//! - `traffic`: the canary shift-back on moto's Route 53: one batch and INSYNC, a missing
//!   stable or canary set, a canary at 0, throttled and refused changes, the dry run.
//! - `links`: the approval links' key from SSM (SecureString only, long enough, never
//!   shown), and a link taken once in the audit table.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a panic in a test is a failed test

mod alarms;
mod concurrency;
mod eks;
mod faults;
mod fleet;
mod links;
mod notify;
mod startup;
mod store;
mod traffic;

pub use reflex_test_support::aws::{config, connect, moto_aws};
