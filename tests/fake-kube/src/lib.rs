//! A fake Kubernetes API server for reflex's tests.
//!
//! It keeps objects in memory, seeded from reflex's snapshot format (a kubectl `List`), and
//! serves them over real HTTP on the loopback interface, so the real kube-rs client runs
//! unchanged against it. Start reading at [`FakeKube`].
//!
//! The one decision to know: objects are untyped JSON, and the server implements exactly
//! the API semantics reflex relies on, with kube-apiserver's status codes and `Status`
//! bodies: `resourceVersion` conflicts, merge and JSON patches, the eviction subresource
//! with PodDisruptionBudget accounting, pod logs (set by the test, `tailLines` and
//! `limitBytes` honoured), Events (seeded like any object, selected by `involvedObject`), `dryRun=All`, deletes with preconditions, label and
//! field selectors, 404s; and what kubectl needs besides (discovery, server-side Tables),
//! so kubectl can be run against it as the reference client. It has no watch, no
//! admission, no schema validation and no garbage collection. Authentication is one optional rule: tokens older than a maximum
//! age (counted from the first request that carried them) are refused. A node's kubelet
//! can be stopped: its pods then stay Terminating after a delete, as on a dead node. Two
//! controller steps (replacing a deleted pod, completing a rollout) stand in for
//! kube-controller-manager, and fault rules stand in for a bad day.
//!
//! | file | job |
//! |---|---|
//! | `server.rs` | accept loop; per request: log, token check, faults, then the API or admin endpoint |
//! | `api.rs` | verbs: get, list, create, patch, replace, delete; a pod's log |
//! | `discovery.rs` | `/api`, `/apis`, each group version's resource list, `/version` |
//! | `table.rs` | the Table a `kubectl get` asks for: kube-apiserver's columns per kind |
//! | `eviction.rs` | the eviction subresource and budgets |
//! | `store.rs` | objects, resourceVersion/uid/generation bookkeeping |
//! | `patch.rs`, `selector.rs` | patch types; label and field selectors |
//! | `controllers.rs` | pod replacement and rollout steps |
//! | `tokens.rs` | bearer tokens seen, and refusing ones older than a maximum age |
//! | `faults.rs`, `requests.rs`, `admin.rs` | test controls |
//!
//! ```no_run
//! # async fn example(snapshot: &[u8]) -> Result<(), reflex_fake_kube::Error> {
//! use reflex_fake_kube::{FakeKube, Route};
//!
//! let fake = FakeKube::start(snapshot).await?;
//! // Point a kube client at `fake.url()` (or write `fake.kubeconfig_yaml()` to a file).
//! fake.faults().fail_next(Route::regex("/eviction$")?, 2, 429);
//! // ... run the code under test ...
//! let evictions = fake.requests().iter().filter(|r| r.path.ends_with("/eviction")).count();
//! # let _ = evictions;
//! fake.shutdown().await;
//! # Ok(())
//! # }
//! ```

mod admin;
mod api;
mod controllers;
mod discovery;
mod error;
mod eviction;
mod faults;
mod kubeconfig;
mod patch;
mod requests;
mod resources;
mod selector;
mod server;
mod snapshot;
mod status;
mod store;
mod table;
mod tokens;

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;

use serde_json::Value;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use controllers::{ControllerSettings, Controllers};
pub use error::Error;
pub use faults::{Fault, FaultRule, Faults, Route};
pub use requests::RecordedRequest;
pub use tokens::Tokens;

use server::Shared;
use store::meta;

/// A running fake API server. Dropping it stops the server too; [`FakeKube::shutdown`]
/// also waits for the accept loop to end.
#[derive(Debug)]
pub struct FakeKube {
    addr: SocketAddr,
    shared: Arc<Shared>,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl FakeKube {
    /// Seeds a server from a kubectl `List` and serves it on an ephemeral loopback port.
    pub async fn start(snapshot_json: &[u8]) -> Result<Self, Error> {
        Self::start_on(snapshot_json, SocketAddr::from((Ipv4Addr::LOCALHOST, 0))).await
    }

    /// Like [`FakeKube::start`], on a given address (port 0 picks a free one).
    pub async fn start_on(snapshot_json: &[u8], addr: SocketAddr) -> Result<Self, Error> {
        let store = snapshot::seed(snapshot_json)?;
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| Error::Bind { addr, source })?;
        let addr = listener
            .local_addr()
            .map_err(|source| Error::Bind { addr, source })?;
        let shared = Arc::new(Shared::new(store));
        let (shutdown, stop) = oneshot::channel();
        let task = tokio::spawn(server::serve(listener, Arc::clone(&shared), stop));
        Ok(Self {
            addr,
            shared,
            shutdown: Some(shutdown),
            task: Some(task),
        })
    }

    /// The address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The base URL (`http://127.0.0.1:PORT`), what a client's cluster URL should be.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// A kubeconfig (YAML) for this server: plain HTTP, a dummy token, context `fake-kube`.
    pub fn kubeconfig_yaml(&self) -> String {
        kubeconfig::kubeconfig_yaml(&self.url())
    }

    /// One stored object. `kind` is a kind or plural (`Pod`, `pods`); `namespace` is
    /// ignored for cluster-scoped kinds.
    pub fn object(&self, kind: &str, namespace: Option<&str>, name: &str) -> Option<Value> {
        let resource = resources::lookup(kind)?;
        self.shared.store().get(resource, namespace, name).cloned()
    }

    /// Stored objects of one kind, in one namespace or all (`None`), ordered by
    /// namespace and name.
    pub fn objects(&self, kind: &str, namespace: Option<&str>) -> Vec<Value> {
        let Some(resource) = resources::lookup(kind) else {
            return Vec::new();
        };
        self.shared
            .store()
            .list(resource, namespace)
            .cloned()
            .collect()
    }

    /// Creates or replaces an object, as a controller outside the API would (no
    /// resourceVersion check; status written as given). Returns the stored object.
    pub fn put_object(&self, object: Value) -> Result<Value, Error> {
        let resource = resources::of_object(&object).map_err(Error::Object)?;
        let name = meta(&object, "name")
            .ok_or_else(|| Error::Object("metadata.name is missing".into()))?
            .to_owned();
        let namespace = meta(&object, "namespace").map(str::to_owned);
        let mut store = self.shared.store();
        let result = if store.get(resource, namespace.as_deref(), &name).is_some() {
            let mut object = object;
            store::meta_mut(&mut object).remove("resourceVersion");
            store.update(resource, namespace.as_deref(), &name, object, false)
        } else {
            store.create(resource, object, false)
        };
        result.map_err(|e| Error::Object(e.message))
    }

    /// Sets the log a container's current instance (`previous` false) or previous instance
    /// (`previous` true) answers at `GET .../pods/NAME/log`, as a kubelet would keep it.
    pub fn set_log(&self, namespace: &str, pod: &str, container: &str, previous: bool, text: &str) {
        self.shared
            .store()
            .set_log(namespace, pod, container, previous, text.to_owned());
    }

    /// Removes an object without going through the API (no controller reaction).
    pub fn remove_object(&self, kind: &str, namespace: Option<&str>, name: &str) -> Option<Value> {
        let resource = resources::lookup(kind)?;
        self.shared.store().remove(resource, namespace, name)
    }

    /// Every stored object as a kubectl `List` (the snapshot format).
    pub fn snapshot(&self) -> Value {
        snapshot::export(&self.shared.store())
    }

    /// The latest resourceVersion handed out.
    pub fn resource_version(&self) -> u64 {
        self.shared.store().resource_version()
    }

    /// Every API request received so far, in arrival order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.shared.log.snapshot()
    }

    /// Forgets the requests received so far.
    pub fn clear_requests(&self) {
        self.shared.log.clear();
    }

    /// The fault rules.
    pub fn faults(&self) -> &Faults {
        &self.shared.faults
    }

    /// The bearer-token bookkeeping: distinct tokens seen, and a maximum token age past
    /// which requests are answered `401` (see [`Tokens::refuse_older_than`]).
    pub fn tokens(&self) -> &Tokens {
        &self.shared.tokens
    }

    /// Stops `node`'s kubelet: from now on its pods stay Terminating once deleted or
    /// evicted (with `metadata.deletionTimestamp` set), until they are force-deleted, the
    /// node object is deleted, or the kubelet is revived. (The node's Ready condition is
    /// the test's to set; a real node controller marks it Unknown after 40 s.)
    pub fn kill_kubelet(&self, node: &str) {
        api::set_kubelet_dead(&self.shared, node, true);
    }

    /// Brings `node`'s kubelet back: its Terminating pods are removed.
    pub fn revive_kubelet(&self, node: &str) {
        api::set_kubelet_dead(&self.shared, node, false);
    }

    /// The nodes whose kubelet is stopped.
    pub fn dead_kubelets(&self) -> Vec<String> {
        self.shared.store().dead_kubelets()
    }

    /// The controller switches.
    pub fn controllers(&self) -> &Controllers {
        &self.shared.controllers
    }

    /// Stops accepting and closes open connections.
    pub async fn shutdown(mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(task) = self.task.take() {
            // The loop only ends by this signal; a join error would mean it panicked, and
            // there is nothing left to stop either way.
            let _ = task.await;
        }
    }
}

impl Drop for FakeKube {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}
