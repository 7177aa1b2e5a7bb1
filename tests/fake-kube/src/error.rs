//! Errors of the test kit's own API (starting a server, seeding it, configuring faults).
//! Errors a client sees are `Status` answers, built in `status.rs`.

/// Why the fake server could not do what its caller asked.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The snapshot is not a kubectl `List` of supported objects.
    #[error("invalid snapshot: {0}")]
    Snapshot(String),
    /// The listening socket could not be bound.
    #[error("cannot listen on {addr}")]
    Bind {
        /// Address asked for.
        addr: std::net::SocketAddr,
        /// Why binding failed.
        #[source]
        source: std::io::Error,
    },
    /// A route pattern is not a valid regex.
    #[error("invalid route pattern {pattern:?}")]
    Route {
        /// The pattern given.
        pattern: String,
        /// Why it does not compile.
        #[source]
        source: regex::Error,
    },
    /// A fault rule in JSON form is malformed.
    #[error("invalid fault rule: {0}")]
    FaultSpec(String),
    /// An object handed to the store is unusable or refused.
    #[error("object refused: {0}")]
    Object(String),
}
