//! The port through which the core reads and moves DNS traffic: Route 53 weighted record
//! sets, for `shift_traffic` (the canary shift-back).
//!
//! The planner reads a name's weighted sets here ([`Traffic::weighted_sets`], one
//! `ListResourceRecordSets`), so a dry run shows the exact change batch a live run sends;
//! the executor sends that batch ([`Traffic::change`]) and waits for it to be `INSYNC`
//! ([`Traffic::wait_in_sync`]). Failures are [`ClusterError`]s, as for the fleet, so the
//! executor and the Lambda boundary treat them alike: `Unavailable` (throttled past the
//! adapter's own bounded retries, unreachable) may be retried with the event, `Refused` is
//! final. `()` is the traffic port of a run that has no Route 53 settings: every call
//! answers `Unsupported`, which the planner turns into a plan whose steps say what was not
//! read.

use std::future::{Future, ready};
use std::time::Duration;

use crate::cluster::{ClusterError, Submit};
use crate::vocab::record::{Upsert, WeightedSet};

/// Route 53 weighted record sets.
pub trait Traffic: Sync {
    /// The weighted record sets of record `name` in hosted zone `zone` (every type), as
    /// `ListResourceRecordSets` starting at `name` returns them.
    fn weighted_sets(
        &self,
        zone: &str,
        name: &str,
    ) -> impl Future<Output = Result<Vec<WeightedSet>, ClusterError>> + Send;

    /// Sends `upserts` as one `ChangeResourceRecordSets` batch and returns the change id.
    /// Route 53 has no dry run: with [`Submit::DryRun`] nothing is sent.
    fn change(
        &self,
        zone: &str,
        upserts: &[Upsert],
        comment: &str,
        submit: Submit,
    ) -> impl Future<Output = Result<String, ClusterError>> + Send;

    /// Polls `GetChange` until the change is `INSYNC`; `Timeout` when it is not within
    /// `timeout`. Returns what was seen for the audit step.
    fn wait_in_sync(
        &self,
        change_id: &str,
        timeout: Duration,
    ) -> impl Future<Output = Result<String, ClusterError>> + Send;
}

/// What a run without Route 53 settings answers.
const NO_ROUTE53: &str = "no Route 53 settings (AWS region and credentials) in this run";

/// No Route 53: every call is `Unsupported`.
impl Traffic for () {
    fn weighted_sets(
        &self,
        _: &str,
        _: &str,
    ) -> impl Future<Output = Result<Vec<WeightedSet>, ClusterError>> + Send {
        ready(Err(ClusterError::Unsupported(NO_ROUTE53.into())))
    }

    fn change(
        &self,
        _: &str,
        _: &[Upsert],
        _: &str,
        _: Submit,
    ) -> impl Future<Output = Result<String, ClusterError>> + Send {
        ready(Err(ClusterError::Unsupported(NO_ROUTE53.into())))
    }

    fn wait_in_sync(
        &self,
        _: &str,
        _: Duration,
    ) -> impl Future<Output = Result<String, ClusterError>> + Send {
        ready(Err(ClusterError::Unsupported(NO_ROUTE53.into())))
    }
}
