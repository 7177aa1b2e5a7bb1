//! Approvals in tests: a policy that asks for them, and a notifier that keeps what on-call
//! was told (the awaiting notification carries the signed link, which no record holds).

use std::sync::Mutex;

use reflex_core::audit::AuditRecord;
use reflex_core::ledger::{LedgerError, Notifier};
use reflex_core::policy::{DEFAULT_POLICY_YAML, Policy};

/// The records on-call was told of, as told (with the signed link).
#[derive(Debug, Default)]
pub struct Told(pub Mutex<Vec<AuditRecord>>);

impl Notifier for Told {
    async fn notify(&self, record: &AuditRecord) -> Result<(), LedgerError> {
        self.0.lock().unwrap().push(record.clone());
        Ok(())
    }
}

/// The default policy with the pod-not-ready rule asking for approval and links on.
pub fn policy_with_links() -> Policy {
    let yaml = DEFAULT_POLICY_YAML
        .replacen(
            "    class: pod_not_ready\n    action: restart_pod\n",
            "    class: pod_not_ready\n    action: restart_pod\n    approval: required\n",
            1,
        )
        .replacen("  links: false\n", "  links: true\n", 1);
    let policy = Policy::from_yaml(&yaml).unwrap();
    assert!(policy.approval.links);
    policy
}
