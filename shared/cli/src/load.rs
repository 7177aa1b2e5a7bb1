//! Reading the files a command is given: the policy (or the embedded default) and a cluster
//! snapshot, each refused with a message that names the file.

use std::path::Path;

use anyhow::Context;
use reflex_core::policy::Policy;
use reflex_snapshot::Snapshot;

/// The policy at `path`, or the embedded default policy.
pub fn load_policy(path: Option<&Path>) -> anyhow::Result<Policy> {
    match path {
        None => Ok(Policy::default_policy()),
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read policy {}", path.display()))?;
            Policy::from_yaml(&text).with_context(|| format!("policy {} refused", path.display()))
        }
    }
}

/// The cluster snapshot at `path` (a kubectl `List` JSON).
pub fn load_snapshot(path: &Path) -> anyhow::Result<Snapshot> {
    let bytes = std::fs::read(path)
        .with_context(|| format!("cannot read cluster snapshot {}", path.display()))?;
    Snapshot::from_json_vec(bytes)
        .with_context(|| format!("cluster snapshot {} refused", path.display()))
}
