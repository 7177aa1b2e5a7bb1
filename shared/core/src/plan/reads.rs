//! One decision's reads: a [`ClusterView`] that answers a repeated `GET` of the same object
//! from the first answer, so the escalation ladder's owner walk and the planner's do not
//! each read the pod, its ReplicaSet, its Deployment and its namespace (a pod action
//! decides in at most 8 requests). Lists pass through: each is read once by its one caller.
//! A [`Reads`] lives for one alert's resolution, milliseconds, so its answers are as fresh
//! as a snapshot's.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};

use crate::cluster::{ClusterView, ReadResult};
use crate::objects::{
    Hpa, LabelSelector, Namespace, Node, NodeClaim, Pdb, Pod, Pv, Pvc, ReplicaSet, Service,
    TargetGroupBinding, Workload,
};
use crate::vocab::target::TargetKind;

/// The objects read so far, by (kind, namespace, name); `None` remembers a 404.
#[derive(Default)]
struct Seen {
    pods: HashMap<(String, String), Option<Pod>>,
    replica_sets: HashMap<(String, String), Option<ReplicaSet>>,
    workloads: HashMap<(TargetKind, String, String), Option<Workload>>,
    namespaces: HashMap<String, Option<Namespace>>,
    nodes: HashMap<String, Option<Node>>,
}

/// `inner`, with each `GET` sent once per decision.
pub(crate) struct Reads<'a, C> {
    inner: &'a C,
    seen: Mutex<Seen>,
}

impl<'a, C: ClusterView> Reads<'a, C> {
    pub(crate) fn new(inner: &'a C) -> Self {
        Reads {
            inner,
            seen: Mutex::default(),
        }
    }

    fn seen(&self) -> MutexGuard<'_, Seen> {
        // A cache of answers; a panic elsewhere cannot leave one half-written.
        self.seen.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The cached answer for `key` in the map `field` picks, or the inner read, remembered.
macro_rules! once {
    ($self:ident, $field:ident, $key:expr, $read:expr) => {{
        let key = $key;
        let hit = $self.seen().$field.get(&key).cloned();
        match hit {
            Some(answer) => Ok(answer),
            None => {
                let answer = $read.await?;
                $self.seen().$field.insert(key, answer.clone());
                Ok(answer)
            }
        }
    }};
}

impl<C: ClusterView> ClusterView for Reads<'_, C> {
    async fn pod(&self, namespace: &str, name: &str) -> ReadResult<Option<Pod>> {
        once!(
            self,
            pods,
            (namespace.to_owned(), name.to_owned()),
            self.inner.pod(namespace, name)
        )
    }

    async fn replica_set(&self, namespace: &str, name: &str) -> ReadResult<Option<ReplicaSet>> {
        once!(
            self,
            replica_sets,
            (namespace.to_owned(), name.to_owned()),
            self.inner.replica_set(namespace, name)
        )
    }

    fn replica_sets(
        &self,
        namespace: &str,
        selector: &LabelSelector,
    ) -> impl Future<Output = ReadResult<Vec<ReplicaSet>>> + Send {
        self.inner.replica_sets(namespace, selector)
    }

    async fn workload(
        &self,
        kind: TargetKind,
        namespace: &str,
        name: &str,
    ) -> ReadResult<Option<Workload>> {
        once!(
            self,
            workloads,
            (kind, namespace.to_owned(), name.to_owned()),
            self.inner.workload(kind, namespace, name)
        )
    }

    async fn namespace(&self, name: &str) -> ReadResult<Option<Namespace>> {
        once!(
            self,
            namespaces,
            name.to_owned(),
            self.inner.namespace(name)
        )
    }

    async fn node(&self, name: &str) -> ReadResult<Option<Node>> {
        once!(self, nodes, name.to_owned(), self.inner.node(name))
    }

    fn nodes(&self) -> impl Future<Output = ReadResult<Vec<Node>>> + Send {
        self.inner.nodes()
    }

    fn pods_on_node(&self, node: &str) -> impl Future<Output = ReadResult<Vec<Pod>>> + Send {
        self.inner.pods_on_node(node)
    }

    fn pdbs(&self, namespace: &str) -> impl Future<Output = ReadResult<Vec<Pdb>>> + Send {
        self.inner.pdbs(namespace)
    }

    fn hpas(&self, namespace: &str) -> impl Future<Output = ReadResult<Vec<Hpa>>> + Send {
        self.inner.hpas(namespace)
    }

    fn pods_selected(
        &self,
        namespace: &str,
        selector: &LabelSelector,
    ) -> impl Future<Output = ReadResult<Vec<Pod>>> + Send {
        self.inner.pods_selected(namespace, selector)
    }

    fn pvc(
        &self,
        namespace: &str,
        name: &str,
    ) -> impl Future<Output = ReadResult<Option<Pvc>>> + Send {
        self.inner.pvc(namespace, name)
    }

    fn pv(&self, name: &str) -> impl Future<Output = ReadResult<Option<Pv>>> + Send {
        self.inner.pv(name)
    }

    fn nodeclaim(&self, name: &str) -> impl Future<Output = ReadResult<Option<NodeClaim>>> + Send {
        self.inner.nodeclaim(name)
    }

    fn nodeclaims(&self) -> impl Future<Output = ReadResult<Vec<NodeClaim>>> + Send {
        self.inner.nodeclaims()
    }

    fn deployments(
        &self,
        namespace: &str,
    ) -> impl Future<Output = ReadResult<Vec<Workload>>> + Send {
        self.inner.deployments(namespace)
    }

    fn service(
        &self,
        namespace: &str,
        name: &str,
    ) -> impl Future<Output = ReadResult<Option<Service>>> + Send {
        self.inner.service(namespace, name)
    }

    fn target_group_bindings(
        &self,
    ) -> impl Future<Output = ReadResult<Vec<TargetGroupBinding>>> + Send {
        self.inner.target_group_bindings()
    }

    fn missing_kind(&self, resource: &str) -> Option<String> {
        self.inner.missing_kind(resource)
    }
}
