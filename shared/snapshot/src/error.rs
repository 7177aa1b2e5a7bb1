//! Why a snapshot cannot be loaded, or one of its items read: one error type, shared by the
//! load (`lib.rs`) and the lazy item table (`table.rs`).

use reflex_core::cluster::ClusterError;

/// Why a snapshot file could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    /// The file is not JSON, or not a `List`.
    #[error("cluster snapshot is not a kubectl List: {0}")]
    NotAList(String),
    /// One item did not decode as the kind it claims.
    #[error("cluster snapshot item {index} ({kind} {name}): {source}")]
    Item {
        /// Position in `items`.
        index: usize,
        /// Its `kind`.
        kind: String,
        /// Its `metadata.name`.
        name: String,
        /// The decoding error, with the field path.
        #[source]
        source: serde_path_to_error::Error<serde_json::Error>,
    },
}

impl From<SnapshotError> for ClusterError {
    /// An item a read needed did not decode: the read fails with the item's index, kind,
    /// name and field path (not worth retrying: the file will not change).
    fn from(e: SnapshotError) -> Self {
        ClusterError::Unsupported(e.to_string())
    }
}
