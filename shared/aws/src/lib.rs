//! reflex-aws: the AWS side of reflex, behind the core's traits.
//!
//! | file | job | core trait |
//! |---|---|---|
//! | [`config`] | environment, SDK loading with a bounded retry budget, credential check | |
//! | [`caller`] | who the caller is (STS), for the operator's records | |
//! | [`eks`] | DescribeCluster + presigned STS tokens → a cached kube client that re-signs them | |
//! | [`fleet`] | terminate a node's instance in its cluster-owned Auto Scaling group | `Fleet` |
//! | [`alarms`] | does the alarm exist, is it still in ALARM, does it watch what the message says? | `AlarmCheck` |
//! | [`links`] | the approval links' HMAC key from an SSM SecureString → the core's `HmacLinks` | `ApprovalLinks` |
//! | [`metrics`] | reflex's own metrics as Embedded Metric Format log lines | |
//! | [`notify`] | on-call notifications on an SNS topic | `Notifier` |
//! | [`traffic`] | Route 53 weighted record sets: read, shifted in one batch, followed until `INSYNC` | `Traffic` |
//! | [`store`] | audit records, exactly-once claims, leases, limits and the pause in DynamoDB; what `reflex audit`/`status` read | `Ledger` |
//!
//! Start with [`Aws::connect`] (one per process, at cold start), then build each adapter
//! from it. The one design choice to know: every AWS call goes through the SDK's standard
//! retry mode with a small, bounded budget ([`config::Retries`]), and its failure is then
//! classified once ([`error`]) into "retry the event later" (`Unavailable`: throttled,
//! unreachable, timed out, 5xx) or "do not" (`Refused`), which the pipeline turns into a
//! `failed` record and the Lambda boundary into a retry or a dead letter.

pub mod alarms;
pub mod caller;
pub mod config;
pub mod eks;
pub mod error;
pub mod fleet;
pub mod links;
pub mod metrics;
pub mod notify;
pub mod store;
pub mod traffic;

pub use alarms::CloudWatchAlarms;
pub use config::{Aws, AwsConfig, Retries};
pub use eks::EksAuth;
pub use error::AwsError;
pub use fleet::AsgFleet;
pub use links::{KeyUse, LinksConfig};
pub use notify::SnsNotifier;
pub use store::DynamoLedger;
pub use traffic::Route53Traffic;
