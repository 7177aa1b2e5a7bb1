//! The canary shift-back on the AWS side: Route 53 weighted record sets read, changed in
//! one batch, and the change followed until `INSYNC` (the core's `Traffic` port).
//!
//! A name's sets are read with `ListResourceRecordSets` starting at the name, page after
//! page while the pages still hold that name; only weighted sets (those with a set
//! identifier and a weight) are kept. A change is one `ChangeResourceRecordSets` batch of
//! `UPSERT`s that repeat every field of each set as it was read (TTL and values, or the
//! alias target; the health check), so only the weights move. The decision to know:
//! throttling (`Throttling`, `PriorRequestNotComplete`, which Route 53 answers while an
//! earlier change of the zone is still being applied) is retried by the SDK's standard
//! retry mode within reflex's bounded budget ([`crate::config::Retries`]: a few tries,
//! exponential backoff with jitter, a cap on the whole call); what is still throttled
//! after that is `Unavailable` (the event may be retried, nothing was changed), and any
//! other refusal is `Refused` with Route 53's own message.

use std::time::{Duration, Instant};

use aws_sdk_route53::Client;
use aws_sdk_route53::types::{
    AliasTarget, Change, ChangeAction, ChangeBatch, ChangeStatus, ResourceRecord,
    ResourceRecordSet, RrType,
};
use reflex_core::cluster::{ClusterError, Submit};
use reflex_core::traffic::Traffic;
use reflex_core::vocab::record::{self, Upsert, WeightedSet};

use crate::config::Aws;
use crate::error::classify;

/// How often `GetChange` is asked while a change is `PENDING` (Route 53 usually applies a
/// change within a minute).
const POLL: Duration = Duration::from_secs(2);

/// Route 53 weighted records through the SDK.
#[derive(Debug, Clone)]
pub struct Route53Traffic {
    client: Client,
    poll: Duration,
}

impl Route53Traffic {
    /// Route 53 with the process's AWS settings.
    pub fn new(aws: &Aws) -> Self {
        Route53Traffic::with_client(Client::new(aws.sdk_config()))
    }

    /// Route 53 through `client`.
    pub fn with_client(client: Client) -> Self {
        Route53Traffic { client, poll: POLL }
    }

    /// The same, asking `GetChange` every `poll` (tests, where moto applies at once).
    pub fn with_poll(mut self, poll: Duration) -> Self {
        self.poll = poll;
        self
    }
}

/// A Route 53 set as the core reads it; `None` when it is not a weighted set.
fn weighted(set: &ResourceRecordSet) -> Option<WeightedSet> {
    let set_identifier = set.set_identifier()?.to_owned();
    let weight = u64::try_from(set.weight()?).ok()?;
    Some(WeightedSet {
        name: set.name().to_owned(),
        record_type: set.r#type().as_str().to_owned(),
        set_identifier,
        weight,
        ttl: set.ttl().and_then(|t| u64::try_from(t).ok()),
        records: set
            .resource_records()
            .iter()
            .map(|r| r.value().to_owned())
            .collect(),
        alias: set
            .alias_target()
            .map(|a| reflex_core::vocab::record::AliasTarget {
                hosted_zone_id: a.hosted_zone_id().to_owned(),
                dns_name: a.dns_name().to_owned(),
                evaluate_target_health: a.evaluate_target_health(),
            }),
        health_check_id: set.health_check_id().map(str::to_owned),
    })
}

/// A request that could not be built from a set read from Route 53 itself: not a network
/// or service failure, and not worth a retry.
fn unbuildable(e: impl std::fmt::Display) -> ClusterError {
    ClusterError::Refused(format!("route53: the change could not be built: {e}"))
}

/// The `UPSERT` of `set` as it will be.
fn upsert(set: &WeightedSet) -> Result<Change, ClusterError> {
    let weight = i64::try_from(set.weight).map_err(unbuildable)?;
    let mut rrs = ResourceRecordSet::builder()
        .name(&set.name)
        .r#type(RrType::from(set.record_type.as_str()))
        .set_identifier(&set.set_identifier)
        .weight(weight);
    if let Some(alias) = &set.alias {
        rrs = rrs.alias_target(
            AliasTarget::builder()
                .hosted_zone_id(&alias.hosted_zone_id)
                .dns_name(&alias.dns_name)
                .evaluate_target_health(alias.evaluate_target_health)
                .build()
                .map_err(unbuildable)?,
        );
    } else {
        if let Some(ttl) = set.ttl {
            rrs = rrs.ttl(i64::try_from(ttl).map_err(unbuildable)?);
        }
        for value in &set.records {
            rrs = rrs.resource_records(
                ResourceRecord::builder()
                    .value(value)
                    .build()
                    .map_err(unbuildable)?,
            );
        }
    }
    if let Some(hc) = &set.health_check_id {
        rrs = rrs.health_check_id(hc);
    }
    Change::builder()
        .action(ChangeAction::Upsert)
        .resource_record_set(rrs.build().map_err(unbuildable)?)
        .build()
        .map_err(unbuildable)
}

impl Traffic for Route53Traffic {
    async fn weighted_sets(
        &self,
        zone: &str,
        name: &str,
    ) -> Result<Vec<WeightedSet>, ClusterError> {
        let mut sets = Vec::new();
        let mut start = (name.to_owned(), None::<RrType>, None::<String>);
        loop {
            let page = self
                .client
                .list_resource_record_sets()
                .hosted_zone_id(zone)
                .start_record_name(&start.0)
                .set_start_record_type(start.1.clone())
                .set_start_record_identifier(start.2.clone())
                .send()
                .await
                .map_err(|e| ClusterError::from(classify("route53:ListResourceRecordSets", e)))?;
            let mut past_name = false;
            for set in page.resource_record_sets() {
                if !record::same_name(set.name(), name) {
                    past_name = true;
                    continue;
                }
                sets.extend(weighted(set));
            }
            match (page.is_truncated(), page.next_record_name()) {
                (true, Some(next)) if !past_name && record::same_name(next, name) => {
                    start = (
                        next.to_owned(),
                        page.next_record_type().cloned(),
                        page.next_record_identifier().map(str::to_owned),
                    );
                }
                _ => return Ok(sets),
            }
        }
    }

    async fn change(
        &self,
        zone: &str,
        upserts: &[Upsert],
        comment: &str,
        submit: Submit,
    ) -> Result<String, ClusterError> {
        if submit == Submit::DryRun {
            return Ok("not sent: Route 53 has no dry run".to_owned());
        }
        let changes = upserts
            .iter()
            .map(|u| upsert(&u.set))
            .collect::<Result<Vec<_>, _>>()?;
        let batch = ChangeBatch::builder()
            .comment(comment)
            .set_changes(Some(changes))
            .build()
            .map_err(unbuildable)?;
        let out = self
            .client
            .change_resource_record_sets()
            .hosted_zone_id(zone)
            .change_batch(batch)
            .send()
            .await
            .map_err(|e| ClusterError::from(classify("route53:ChangeResourceRecordSets", e)))?;
        out.change_info().map(|c| c.id().to_owned()).ok_or_else(|| {
            ClusterError::Refused(
                "route53:ChangeResourceRecordSets answered without a change id".into(),
            )
        })
    }

    async fn wait_in_sync(
        &self,
        change_id: &str,
        timeout: Duration,
    ) -> Result<String, ClusterError> {
        let started = Instant::now();
        loop {
            let out = self
                .client
                .get_change()
                .id(change_id)
                .send()
                .await
                .map_err(|e| ClusterError::from(classify("route53:GetChange", e)))?;
            let status = out.change_info().map(|c| c.status().clone());
            if status == Some(ChangeStatus::Insync) {
                return Ok(format!(
                    "change {change_id} INSYNC after {:.1}s",
                    started.elapsed().as_secs_f64()
                ));
            }
            let seen = status.map_or_else(|| "no status".to_owned(), |s| s.as_str().to_owned());
            if started.elapsed() + self.poll > timeout {
                return Err(ClusterError::Timeout(format!(
                    "route53 change {change_id} still {seen} after {:.0}s",
                    timeout.as_secs_f64()
                )));
            }
            tokio::time::sleep(self.poll).await;
        }
    }
}
