//! Performing an approval (ARCHITECTURE section 11): the one path `reflex approve` and the
//! `remediate` function's signed approval messages share.
//!
//! Start at [`Pipeline::approve`]. It looks the `awaiting_approval` record up, refuses
//! (`rejected`) an unknown id, a record that awaits no approval, an expired approval and one
//! already used; otherwise it plans the stored alert again against the cluster as it is now
//! and goes through the same stages as any alert (lease, limits, execute), acting only when
//! the new plan names the objects approved. The one design choice to know: an approval is
//! single-use because it is *claimed* under [`approval::claim_key`] with the same
//! conditional write that makes an alert instance exactly-once, so two engineers approving
//! at the same second give one action, and the claim is given back only when nothing was
//! changed and a retry may help. Every outcome is a new record with `approves: ID`.

use chrono::{DateTime, Utc};

use crate::approval::{self, ApprovalLinks, LinkApproval};
use crate::audit::AuditRecord;
use crate::cluster::{Actuator, ClusterView, Fleet};
use crate::intent;
use crate::ledger::{AlarmCheck, Claim, Ledger, Notifier};
use crate::pipeline::{Adapters, Handled, Held, Pipeline, Transient, ended_with};
use crate::time_format::rfc3339;
use crate::vocab::verdict::Verdict;

/// One approval to perform.
#[derive(Debug, Clone, Copy)]
pub struct Approval<'a> {
    /// The id of the `awaiting_approval` record approved.
    pub approves: &'a str,
    /// Who approves: an AWS caller ARN, a kubeconfig user, what an approval link's page saw.
    pub approver: &'a str,
    /// When.
    pub now: DateTime<Utc>,
}

impl Pipeline<'_> {
    /// Performs `approval`: its outcome as a new record `id` (with `approves`), stored and
    /// told to on-call like any record.
    pub async fn approve<C, A, F, L, N, R>(
        &self,
        approval: Approval<'_>,
        adapters: &Adapters<'_, C, A, F, L, N, R>,
        id: String,
    ) -> Handled
    where
        C: ClusterView,
        A: Actuator,
        F: Fleet,
        L: Ledger,
        N: Notifier,
        R: AlarmCheck,
    {
        let handled = self.approved(approval, adapters, id).await;
        self.record_approval(handled, approval, adapters).await
    }

    /// Performs an approval given through a signed link (the message the approval page
    /// publishes): the link's signature and expiry are checked with `links` first, and a
    /// refused link is a `rejected` record saying why; then as [`Pipeline::approve`].
    pub async fn approve_link<C, A, F, L, N, R>(
        &self,
        link: &LinkApproval,
        links: Option<&dyn ApprovalLinks>,
        now: DateTime<Utc>,
        adapters: &Adapters<'_, C, A, F, L, N, R>,
        id: String,
    ) -> Handled
    where
        C: ClusterView,
        A: Actuator,
        F: Fleet,
        L: Ledger,
        N: Notifier,
        R: AlarmCheck,
    {
        let approval = Approval {
            approves: &link.approves,
            approver: &link.approver,
            now,
        };
        let refusal = match links {
            None => Some("approval links are not configured".to_owned()),
            Some(links) => links
                .verify(&link.approves, link.expires, &link.sig, now)
                .err()
                .map(|refusal| refusal.to_string()),
        };
        let Some(reason) = refusal else {
            return self.approve(approval, adapters, id).await;
        };
        let record = AuditRecord::rejected(
            id,
            now,
            self.mode,
            None,
            approval::claim_key(&link.approves),
            format!("approval link refused: {reason}; nothing was done"),
            crate::alert::Delivery::default(),
        );
        self.record_approval(Handled::of(record), approval, adapters)
            .await
    }

    /// Names the approval in its outcome's record, then stores it and tells on-call.
    async fn record_approval<C, A, F, L, N, R>(
        &self,
        mut handled: Handled,
        approval: Approval<'_>,
        adapters: &Adapters<'_, C, A, F, L, N, R>,
    ) -> Handled
    where
        L: Ledger,
        N: Notifier,
    {
        let record = &mut handled.record;
        if matches!(
            record.verdict,
            Verdict::Executed | Verdict::Failed | Verdict::Planned
        ) {
            record.reason = format!(
                "approved by {} (record {}): {}",
                approval.approver, approval.approves, record.reason
            );
        }
        handled.record.approves = Some(approval.approves.to_owned());
        handled.record.approver = Some(approval.approver.to_owned());
        self.finish(&mut handled, adapters).await;
        handled
    }

    /// The stages of an approval, up to its record.
    async fn approved<C, A, F, L, N, R>(
        &self,
        approval: Approval<'_>,
        adapters: &Adapters<'_, C, A, F, L, N, R>,
        id: String,
    ) -> Handled
    where
        C: ClusterView,
        A: Actuator,
        F: Fleet,
        L: Ledger,
        N: Notifier,
        R: AlarmCheck,
    {
        let Approval { approves, now, .. } = approval;
        let refused = |verdict: Verdict, reason: String, transient: Option<Transient>| {
            let record = AuditRecord::rejected(
                id.clone(),
                now,
                self.mode,
                None,
                approval::claim_key(approves),
                reason.clone(),
                crate::alert::Delivery::default(),
            );
            ended_with(record, verdict, reason, transient)
        };
        let awaited = match adapters.ledger.record(approves).await {
            Ok(Some(record)) => record,
            Ok(None) => {
                let reason = format!("no record {approves:?} in the store: nothing to approve");
                return refused(Verdict::Rejected, reason, None);
            }
            Err(e) => {
                let reason = format!("could not read record {approves:?}: {e}");
                return refused(Verdict::Failed, reason, Some(e.into()));
            }
        };
        let pending = match (&awaited.approval, awaited.verdict) {
            (Some(pending), Verdict::AwaitingApproval) => pending.clone(),
            _ => {
                let what = match &awaited.approves {
                    Some(of) => format!(" (it is the outcome of approving record {of})"),
                    None => String::new(),
                };
                let reason = format!(
                    "record {approves} is {}, not awaiting_approval{what}: nothing to approve",
                    awaited.verdict
                );
                return refused(Verdict::Rejected, reason, None);
            }
        };
        let mut record = AuditRecord::for_alert(id, now, self.mode, &pending.alert);
        // Only a record that used the approval carries its claim (a file store reads the
        // claims back from the records).
        record.instance = None;
        record.delivery = None;
        let done = ended_with;
        if now >= pending.expires {
            let reason = format!(
                "the approval of record {approves} expired at {} (the policy's approval.ttl after it was recorded); nothing was done",
                rfc3339(pending.expires)
            );
            return done(record, Verdict::Rejected, reason, None);
        }
        let rule_name = awaited.rule.as_deref().unwrap_or_default();
        let Some(rule) = self.policy.rules.iter().find(|r| r.name == rule_name) else {
            let reason = format!(
                "the policy has no rule {rule_name:?}, which planned record {approves}: approve with the policy reflex runs with"
            );
            return done(record, Verdict::Rejected, reason, None);
        };
        let mode = self.under_rule(&mut record, rule);

        // The kill switch holds approvals back too; the approval stays usable after resume.
        match adapters.ledger.paused(now).await {
            Ok(None) => {}
            Ok(Some(pause)) => {
                let reason = format!(
                    "{}; the approval of record {approves} stays usable until {}",
                    pause.describe(),
                    rfc3339(pending.expires)
                );
                return done(record, Verdict::Suppressed, reason, None);
            }
            Err(e) => {
                let reason = format!("could not read whether reflex is paused: {e}");
                return done(record, Verdict::Failed, reason, Some(e.into()));
            }
        }

        // Single use: claim the approval before reading or changing anything.
        let key = approval::claim_key(approves);
        let deadline = adapters
            .live
            .and_then(|(actuator, _)| actuator.time_left())
            .and_then(|left| chrono::TimeDelta::from_std(left).ok())
            .map(|left| now + left);
        let alive_until = intent::alive_until(now, &self.policy.guardrails, deadline);
        match adapters
            .ledger
            .claim(&key, &record.id, now, alive_until)
            .await
        {
            Ok(Claim::First) => record.instance = Some(key.clone()),
            Ok(Claim::Duplicate { by }) => {
                let reason = format!(
                    "the approval of record {approves} was already used, by record {by}: an approval acts at most once"
                );
                return done(record, Verdict::Rejected, reason, None);
            }
            Err(e) => {
                let reason = format!("could not claim the approval of record {approves}: {e}");
                return done(record, Verdict::Failed, reason, Some(e.into()));
            }
        }
        let held = Held {
            instance: &key,
            attempt: 0,
            alive_until,
        };
        let mut handled = self
            .claimed(
                record,
                &pending.alert,
                rule,
                mode,
                adapters,
                now,
                held,
                Some(&pending.objects),
            )
            .await;
        if handled.transient.is_none() {
            handled.settles = Some((key, 0));
        }
        handled
    }
}
