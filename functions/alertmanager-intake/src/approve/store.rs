//! What the approval page reads and writes in the audit table: the record a link approves
//! (through the ledger's own reader, `by_id`) and the item that makes the link single-use.

use std::future::Future;

use chrono::{DateTime, Utc};
use reflex_aws::DynamoLedger;
use reflex_aws::store::link::{LinkTaken, LinkUse};
use reflex_core::AuditRecord;
use reflex_core::ledger::LedgerError;

/// The audit table as the approval page sees it. Implemented by [`DynamoLedger`].
pub trait ApprovalStore: Sync {
    /// The record with id `id`, if the table holds it.
    fn record(
        &self,
        id: &str,
    ) -> impl Future<Output = Result<Option<AuditRecord>, LedgerError>> + Send;

    /// Who used record `id`'s link, if it was used.
    fn link_used(
        &self,
        id: &str,
    ) -> impl Future<Output = Result<Option<LinkUse>, LedgerError>> + Send;

    /// Takes record `id`'s link for `request`, unless it was used before.
    fn take_link(
        &self,
        id: &str,
        approver: &str,
        request: &str,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<LinkTaken, LedgerError>> + Send;

    /// Gives the link back after `request` took it and could not publish the approval.
    fn give_link_back(
        &self,
        id: &str,
        request: &str,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<(), LedgerError>> + Send;
}

impl ApprovalStore for DynamoLedger {
    async fn record(&self, id: &str) -> Result<Option<AuditRecord>, LedgerError> {
        DynamoLedger::record(self, id).await
    }

    async fn link_used(&self, id: &str) -> Result<Option<LinkUse>, LedgerError> {
        DynamoLedger::link_used(self, id).await
    }

    async fn take_link(
        &self,
        id: &str,
        approver: &str,
        request: &str,
        now: DateTime<Utc>,
    ) -> Result<LinkTaken, LedgerError> {
        DynamoLedger::take_link(self, id, approver, request, now).await
    }

    async fn give_link_back(
        &self,
        id: &str,
        request: &str,
        now: DateTime<Utc>,
    ) -> Result<(), LedgerError> {
        DynamoLedger::give_link_back(self, id, request, now).await
    }
}
