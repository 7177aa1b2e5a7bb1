//! reflex-kube: the live Kubernetes adapter. [`KubeCluster`] reads a cluster for planning
//! ([`reflex_core::cluster::ClusterView`]) and performs plans
//! ([`reflex_core::cluster::Actuator`]) through kube-rs.
//!
//! | file | job |
//! |---|---|
//! | `read.rs` | the planner's reads: one `GET` or paged `LIST` each, decoded into core types |
//! | `actions/restart_pod.rs` | `restart_pod`: delete (uid precondition), wait for a Ready replacement |
//! | `actions/rollout.rs` | `rollout_restart` and the rollout check every workload change ends with |
//! | `actions/rollback.rs` | `rollback`: the `test`-guarded JSON patch, a conflict told as such |
//! | `actions/drain.rs` | `replace_node`'s cluster part: cordon, parallel evictions, wait until gone |
//! | `actions/nodeclaim.rs` | `replace_node` of a Karpenter node: delete its NodeClaim, wait until gone and for the NodePool's new node |
//! | `evidence.rs` | a notification's extra reads: a container's previous log, an object's Events (short time limit) |
//! | `call.rs` | one API call: time limit, bounded resend, request builders |
//! | `auth.rs` | a bearer token per request, re-signed before it expires and once after a 401 |
//! | `error.rs` | HTTP statuses onto the core's `ClusterError` |
//!
//! Start at [`KubeCluster`] and `actions/mod.rs`, which maps each [`reflex_core::vocab::op::Op`]
//! to its file.
//!
//! The one decision to know: **kube's own retry layer is off, and every call is bounded by
//! the action's time.** kube 5 installs a `RetryLayer` by default (`Config::default_retry`,
//! true in every `Config` constructor) that resends 429, 503 and 504 answers up to 15 times
//! with exponential backoff up to 1000 s. An eviction refused by a PodDisruptionBudget is a
//! 429, so that layer would hold a drain (and a Lambda) for far longer than its timeout.
//! [`KubeCluster::from_config`] and [`KubeCluster::from_kubeconfig`] set
//! `default_retry = false` before building the client; a client handed to
//! [`KubeCluster::new`] should be built the same way (see [`client_from_config`]). On top of
//! that, every call runs under a tokio timeout of at most [`Settings::request_timeout`] and
//! never past its action's deadline, and this crate runs its own bounded loops: a 429 from
//! an eviction is retried with capped exponential backoff and jitter until the op's timeout;
//! idempotent calls answered 5xx, cut off or unanswered are resent at most
//! [`Settings::transient_retries`] times.
//!
//! `Submit::DryRun` sends every mutating call with `dryRun=All` (query, or `DeleteOptions`
//! for deletes); the server validates and admits it and persists nothing.

mod actions;
mod auth;
mod call;
mod error;
mod evidence;
mod read;

use std::collections::HashMap;
use std::fmt;
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

pub use auth::{BoxError, RefreshingToken, SignFuture, SignToken, TokenError, client_with_token};
pub use error::KubeError;
pub use evidence::EVIDENCE_CALL_TIMEOUT;
use reflex_core::vocab::op::PodRef;

/// Timing of calls, waits and eviction retries.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Longest wait for one API call; a call is also cut at its action's deadline.
    pub request_timeout: Duration,
    /// Pause between reads while waiting for a replacement pod, a rollout or evicted pods.
    pub poll_interval: Duration,
    /// Evictions in flight at once during a drain.
    pub eviction_concurrency: usize,
    /// First pause before resending (after a 429 eviction or a transient failure); doubles
    /// per attempt, with jitter.
    pub backoff_min: Duration,
    /// Longest pause between two attempts.
    pub backoff_max: Duration,
    /// How often an idempotent call answered 5xx, cut off or unanswered is resent.
    pub transient_retries: u32,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            request_timeout: Duration::from_secs(10),
            poll_interval: Duration::from_secs(2),
            eviction_concurrency: 16,
            backoff_min: Duration::from_millis(500),
            backoff_max: Duration::from_secs(10),
            transient_retries: 2,
        }
    }
}

/// What an earlier step of the same plan learnt that a later step needs: the uid of each
/// deleted or evicted pod (a StatefulSet's replacement keeps the name, so "gone" and
/// "replaced" are told by uid), and the controller's other pods at deletion time (so a
/// replacement is a pod that was not there before). The wait that reads an entry removes
/// it; entries whose wait never ran (the plan failed first) are dropped past
/// [`MEMO_LIMIT`], so a long-lived adapter does not grow without bound.
#[derive(Debug, Default)]
struct Memo {
    deleted: HashMap<PodRef, actions::restart_pod::Deleted>,
    evicted: HashMap<PodRef, String>,
    /// When the drain under way must be over: set by its first eviction batch, shared by
    /// later batches and the wait for evicted pods, cleared by the next cordon.
    drain_deadline: Option<tokio::time::Instant>,
}

/// Entries per map of [`Memo`] before stale ones are dropped.
const MEMO_LIMIT: usize = 4096;

impl Memo {
    fn deleted(&mut self, pod: PodRef, deleted: actions::restart_pod::Deleted) {
        if self.deleted.len() >= MEMO_LIMIT {
            self.deleted.clear();
        }
        self.deleted.insert(pod, deleted);
    }

    fn evicted(&mut self, pod: PodRef, uid: String) {
        if self.evicted.len() >= MEMO_LIMIT {
            self.evicted.clear();
        }
        self.evicted.insert(pod, uid);
    }
}

/// A live cluster, through kube-rs. Cheap to clone (clones share the client and memo).
#[derive(Clone)]
pub struct KubeCluster {
    client: kube::Client,
    settings: Settings,
    memo: Arc<Mutex<Memo>>,
    /// When this adapter must stop acting (the invocation's end), if ever.
    ends: Option<tokio::time::Instant>,
}

impl fmt::Debug for KubeCluster {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KubeCluster")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

/// Builds a client from `config` with kube's default retry layer off (see the crate docs).
pub fn client_from_config(mut config: kube::Config) -> Result<kube::Client, KubeError> {
    install_crypto_provider();
    config.default_retry = false;
    kube::Client::try_from(config).map_err(KubeError::Client)
}

/// Makes ring rustls's process-wide crypto provider, unless one is chosen already.
///
/// A binary that also links the AWS SDK carries rustls with two providers (aws-lc-rs and
/// ring), and rustls then refuses to pick one: kube's TLS set-up would panic. Every client
/// reflex builds goes through [`client_from_config`], which calls this first.
pub fn install_crypto_provider() {
    // Err only says a provider is installed already, which is all this wants.
    let _already_chosen = rustls::crypto::ring::default_provider().install_default();
}

impl KubeCluster {
    /// A cluster over `client`, with default [`Settings`]. Build the client with
    /// [`client_from_config`] (kube's default retry off); every call is time-bounded either
    /// way.
    pub fn new(client: kube::Client) -> Self {
        KubeCluster {
            client,
            settings: Settings::default(),
            memo: Arc::default(),
            ends: None,
        }
    }

    /// A cluster from a kube `Config` (kube's default retry is switched off).
    pub fn from_config(config: kube::Config) -> Result<Self, KubeError> {
        client_from_config(config).map(Self::new)
    }

    /// A cluster from a kubeconfig file, using `context` or the file's current context.
    pub async fn from_kubeconfig(path: &Path, context: Option<&str>) -> Result<Self, KubeError> {
        let kubeconfig = kube::config::Kubeconfig::read_from(path).map_err(|source| {
            KubeError::ReadKubeconfig {
                path: path.to_owned(),
                source,
            }
        })?;
        let options = kube::config::KubeConfigOptions {
            context: context.map(str::to_owned),
            ..Default::default()
        };
        let config = kube::Config::from_custom_kubeconfig(kubeconfig, &options)
            .await
            .map_err(|source| KubeError::Kubeconfig {
                path: path.to_owned(),
                source,
            })?;
        Self::from_config(config)
    }

    /// The user a kubeconfig acts as in `context` (or its current context): who approves
    /// an action with it (`reflex approve --kubeconfig`), as `kubeconfig user NAME (context
    /// CONTEXT)`.
    pub fn kubeconfig_user(path: &Path, context: Option<&str>) -> Result<String, KubeError> {
        let kubeconfig = kube::config::Kubeconfig::read_from(path).map_err(|source| {
            KubeError::ReadKubeconfig {
                path: path.to_owned(),
                source,
            }
        })?;
        let name = context
            .map(str::to_owned)
            .or_else(|| kubeconfig.current_context.clone())
            .unwrap_or_default();
        let user = kubeconfig
            .contexts
            .iter()
            .find(|c| c.name == name)
            .and_then(|c| c.context.as_ref())
            .and_then(|c| c.user.clone())
            .unwrap_or_else(|| "(no user)".to_owned());
        Ok(format!("kubeconfig user {user} (context {name})"))
    }

    /// The same cluster with other timing.
    pub fn with_settings(mut self, settings: Settings) -> Self {
        self.settings = settings;
        self
    }

    /// This adapter may act for `limit` more (the rest of a Lambda invocation): a step that
    /// may not finish in the time left is not started ([`reflex_core::execute::run`]).
    pub fn with_time_limit(mut self, limit: Option<Duration>) -> Self {
        self.ends = limit.map(|l| tokio::time::Instant::now() + l);
        self
    }

    /// The timing in use.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// The kube client (for callers that need a read this adapter does not offer).
    pub fn client(&self) -> &kube::Client {
        &self.client
    }

    fn memo(&self) -> MutexGuard<'_, Memo> {
        // The memo is a cache of facts; a panic elsewhere cannot leave one half-written.
        self.memo.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
