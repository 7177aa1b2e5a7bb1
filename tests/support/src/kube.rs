//! The fake API server (reflex-fake-kube) for the tests: seeded from a snapshot (a kubectl
//! `List`, such as events/cluster/voting-app.json), and the clients pointed at it.
//!
//! Every client here has kube's default retry layer switched off, as reflex's own client
//! builder does ([`reflex_kube::client_from_config`]): kube 5 would otherwise retry 429,
//! 503 and 504 answers for minutes (an eviction refused by a PodDisruptionBudget is a 429),
//! and callers run their own bounded retry. [`build`] is the one way to get a client with
//! the layer as configured, for the tests that look at it.

use std::path::PathBuf;
use std::time::Duration;

use reflex_fake_kube::FakeKube;
use reflex_kube::{KubeCluster, Settings};

/// The sample cluster of events/cluster (6 nodes, one NotReady; the voting app), as a
/// path under `events/`.
pub const VOTING_APP: &str = "cluster/voting-app.json";

/// The sample cluster's bytes.
pub fn voting_app() -> Vec<u8> {
    crate::event(VOTING_APP)
}

/// A fake API server seeded from `snapshot`, on an ephemeral loopback port.
pub async fn start(snapshot: &[u8]) -> FakeKube {
    FakeKube::start(snapshot)
        .await
        .expect("start the fake API server")
}

/// A fake API server seeded with the sample cluster.
pub async fn start_voting_app() -> FakeKube {
    start(&voting_app()).await
}

/// A kube `Config` for a server at `url`, default retry off.
pub fn config(url: &str) -> kube::Config {
    let mut config = kube::Config::new(url.parse().expect("cluster url"));
    config.default_retry = false;
    config
}

/// A kube client for `fake`, default retry off.
pub fn client(fake: &FakeKube) -> kube::Client {
    client_for(&fake.url())
}

/// A kube client for a server known only by its URL (one in another process).
pub fn client_for(url: &str) -> kube::Client {
    build(config(url))
}

/// A kube client from `config` as given, after choosing rustls's crypto provider (a
/// workspace build links two, and rustls will not pick one by itself).
pub fn build(config: kube::Config) -> kube::Client {
    reflex_kube::install_crypto_provider();
    kube::Client::try_from(config).expect("kube client")
}

/// Test timings: short polls and backoffs, so waits end in milliseconds.
pub fn fast() -> Settings {
    Settings {
        request_timeout: Duration::from_secs(2),
        poll_interval: Duration::from_millis(25),
        eviction_concurrency: 32,
        backoff_min: Duration::from_millis(20),
        backoff_max: Duration::from_millis(200),
        transient_retries: 2,
    }
}

/// reflex's live kube adapter on `fake`, with `settings`.
pub fn cluster(fake: &FakeKube, settings: Settings) -> KubeCluster {
    cluster_at(&fake.url(), settings)
}

/// reflex's live kube adapter on a server at `url` (which may be a port nobody listens on).
pub fn cluster_at(url: &str, settings: Settings) -> KubeCluster {
    KubeCluster::from_config(config(url))
        .expect("kube adapter")
        .with_settings(settings)
}

/// `fake`'s kubeconfig written to a temporary file named `name`.
pub fn kubeconfig_file(fake: &FakeKube, name: &str) -> PathBuf {
    crate::temp_file(name, &fake.kubeconfig_yaml())
}

/// A fake API server on its own runtime, serving while the test thread blocks (on a child
/// process such as the `reflex` binary), and a kubeconfig file pointing at it.
#[derive(Debug)]
pub struct Background {
    /// The server, to inspect its state and requests.
    pub fake: FakeKube,
    /// Its kubeconfig.
    pub kubeconfig: PathBuf,
    // Declared last: dropped after the server it runs.
    _runtime: tokio::runtime::Runtime,
}

impl Background {
    /// Seeds a server from `snapshot`; its kubeconfig file is named after `name`.
    pub fn start(snapshot: &[u8], name: &str) -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("runtime");
        let fake = runtime.block_on(start(snapshot));
        let kubeconfig = kubeconfig_file(&fake, &format!("{name}.kubeconfig"));
        Self {
            fake,
            kubeconfig,
            _runtime: runtime,
        }
    }
}
