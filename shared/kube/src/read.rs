//! [`ClusterView`] over the API: each method is one `GET` or one `LIST` (paged), decoded
//! straight into the core's object types, the same types a snapshot file fills.
//!
//! Every read is bounded by what the decision needs: nothing is listed cluster-wide for a
//! pod or workload action, a collection is narrowed by the selector the decision already
//! holds, and the node list (the one read that grows with the cluster) is read once per
//! decision, whole, from the API server's watch cache. Per call:
//!
//! | method | request | scope | consistency |
//! |---|---|---|---|
//! | `pod`, `replica_set`, `workload`, `namespace`, `node`, `pvc`, `pv`, `nodeclaim` | `GET` one object | the object | latest (quorum read) |
//! | `replica_sets` | `LIST` ReplicaSets, `labelSelector=` the Deployment's selector, paged | the Deployment's ReplicaSets | latest: the revision to roll back to is read here, and the rollback patch is `test`-guarded on it |
//! | `pods_selected` | `LIST` pods, `labelSelector=` the workload's selector, paged | the workload's pods | latest |
//! | `pods_on_node` | `LIST` pods, `fieldSelector=spec.nodeName=<node>`, paged | one node's pods | latest: the drain evicts exactly these |
//! | `pdbs` | `LIST` PodDisruptionBudgets of one namespace, paged | a namespace with pods to evict | latest: the budgets' notes say what blocks now |
//! | `hpas` | `LIST` HorizontalPodAutoscalers of one namespace | the Deployment's namespace | `resourceVersion=0` (cached): only tells whether an autoscaler targets the Deployment |
//! | `nodes` | `LIST` nodes | the cluster | `resourceVersion=0` (cached, one request, no paging): the share of NotReady nodes and the in-flight replacements are counted from it, and the node to replace is then read fresh with `GET` |
//! | `nodeclaims` | `LIST` NodeClaims, paged | the cluster | latest; only read when a node names no NodeClaim owner |
//!
//! A `resourceVersion=0` list is answered from the API server's watch cache, whole (the
//! cache does not page; kube leaves `resourceVersion=0` out of a request that carries
//! `limit`, so such a list is sent without one): one request instead of one per 500 items,
//! and no read of etcd.

use std::future::Future;

use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, ReplicaSet as RsType, StatefulSet};
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use k8s_openapi::api::core::v1::{
    Namespace as NsType, Node as NodeType, PersistentVolume, PersistentVolumeClaim, Pod as PodType,
    Service as ServiceType,
};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use kube::Resource;
use kube::api::ListParams;
use reflex_core::cluster::{ClusterError, ClusterView, ReadResult};
use reflex_core::objects::{
    Hpa, LabelSelector, Namespace, Node, NodeClaim, Pdb, Pod, Pv, Pvc, ReplicaSet, Service,
    TargetGroupBinding, Workload,
};
use reflex_core::vocab::target::TargetKind;

use crate::KubeCluster;
use crate::call::Deadline;

/// The collection path of Karpenter's NodeClaims (`karpenter.sh/v1`, cluster-scoped).
pub(crate) const NODECLAIMS: &str = "/apis/karpenter.sh/v1/nodeclaims";

/// The all-namespace collection path of the AWS Load Balancer Controller's
/// TargetGroupBindings (`elbv2.k8s.aws/v1beta1`).
pub(crate) const TARGETGROUPBINDINGS: &str = "/apis/elbv2.k8s.aws/v1beta1/targetgroupbindings";

/// The collection path of resource `K` (`/api/v1/namespaces/production/pods`).
pub(crate) fn collection<K: Resource<DynamicType = ()>>(namespace: Option<&str>) -> String {
    K::url_path(&(), namespace)
}

/// The collection path of a workload kind.
pub(crate) fn workload_collection(kind: TargetKind, namespace: &str) -> Option<String> {
    let ns = Some(namespace);
    match kind {
        TargetKind::Deployment => Some(collection::<Deployment>(ns)),
        TargetKind::StatefulSet => Some(collection::<StatefulSet>(ns)),
        TargetKind::DaemonSet => Some(collection::<DaemonSet>(ns)),
        TargetKind::Pod | TargetKind::Node | TargetKind::WeightedRecord => None,
    }
}

/// A structured label selector in the `labelSelector=` query syntax (`app=vote,tier in
/// (web,api),!canary`), as kubectl writes it.
pub(crate) fn selector_query(selector: &LabelSelector) -> String {
    let labels = selector
        .match_labels
        .iter()
        .map(|(k, v)| format!("{k}={v}"));
    let expressions = selector
        .match_expressions
        .iter()
        .map(|r| match r.operator.as_str() {
            "In" => format!("{} in ({})", r.key, r.values.join(",")),
            "NotIn" => format!("{} notin ({})", r.key, r.values.join(",")),
            "Exists" => r.key.clone(),
            // DoesNotExist, and anything unknown: select nothing rather than everything.
            _ => format!("!{}", r.key),
        });
    labels.chain(expressions).collect::<Vec<_>>().join(",")
}

/// A list good enough from the API server's watch cache (`resourceVersion=0`).
fn cached() -> ListParams {
    ListParams::default().at("0")
}

impl KubeCluster {
    fn read_deadline(&self) -> Deadline {
        Deadline::after(self.settings.request_timeout)
    }

    async fn get_one<T: serde::de::DeserializeOwned>(
        &self,
        collection: String,
        name: &str,
    ) -> ReadResult<Option<T>> {
        self.get(&collection, name, &self.read_deadline())
            .await
            .map_err(|e| e.into_cluster(&format!("GET {collection}/{name}")))
    }

    async fn list_all<T: serde::de::DeserializeOwned>(
        &self,
        collection: String,
        params: ListParams,
    ) -> ReadResult<Vec<T>> {
        self.list(&collection, params, &self.read_deadline())
            .await
            .map_err(|e| e.into_cluster(&format!("LIST {collection}")))
    }
}

impl ClusterView for KubeCluster {
    fn pod(
        &self,
        namespace: &str,
        name: &str,
    ) -> impl Future<Output = ReadResult<Option<Pod>>> + Send {
        self.get_one(collection::<PodType>(Some(namespace)), name)
    }

    fn replica_set(
        &self,
        namespace: &str,
        name: &str,
    ) -> impl Future<Output = ReadResult<Option<ReplicaSet>>> + Send {
        self.get_one(collection::<RsType>(Some(namespace)), name)
    }

    fn replica_sets(
        &self,
        namespace: &str,
        selector: &LabelSelector,
    ) -> impl Future<Output = ReadResult<Vec<ReplicaSet>>> + Send {
        self.list_all(
            collection::<RsType>(Some(namespace)),
            ListParams::default().labels(&selector_query(selector)),
        )
    }

    async fn workload(
        &self,
        kind: TargetKind,
        namespace: &str,
        name: &str,
    ) -> ReadResult<Option<Workload>> {
        let Some(collection) = workload_collection(kind, namespace) else {
            return Err(ClusterError::Unsupported(format!(
                "{kind} is not a workload kind"
            )));
        };
        self.get_one(collection, name).await
    }

    fn namespace(&self, name: &str) -> impl Future<Output = ReadResult<Option<Namespace>>> + Send {
        self.get_one(collection::<NsType>(None), name)
    }

    fn node(&self, name: &str) -> impl Future<Output = ReadResult<Option<Node>>> + Send {
        self.get_one(collection::<NodeType>(None), name)
    }

    fn nodes(&self) -> impl Future<Output = ReadResult<Vec<Node>>> + Send {
        self.list_all(collection::<NodeType>(None), cached())
    }

    fn pods_on_node(&self, node: &str) -> impl Future<Output = ReadResult<Vec<Pod>>> + Send {
        self.list_all(
            collection::<PodType>(None),
            ListParams::default().fields(&format!("spec.nodeName={node}")),
        )
    }

    fn pdbs(&self, namespace: &str) -> impl Future<Output = ReadResult<Vec<Pdb>>> + Send {
        self.list_all(
            collection::<PodDisruptionBudget>(Some(namespace)),
            ListParams::default(),
        )
    }

    fn hpas(&self, namespace: &str) -> impl Future<Output = ReadResult<Vec<Hpa>>> + Send {
        self.list_all(
            collection::<HorizontalPodAutoscaler>(Some(namespace)),
            cached(),
        )
    }

    fn pods_selected(
        &self,
        namespace: &str,
        selector: &LabelSelector,
    ) -> impl Future<Output = ReadResult<Vec<Pod>>> + Send {
        self.list_all(
            collection::<PodType>(Some(namespace)),
            ListParams::default().labels(&selector_query(selector)),
        )
    }

    fn pvc(
        &self,
        namespace: &str,
        name: &str,
    ) -> impl Future<Output = ReadResult<Option<Pvc>>> + Send {
        self.get_one(collection::<PersistentVolumeClaim>(Some(namespace)), name)
    }

    fn pv(&self, name: &str) -> impl Future<Output = ReadResult<Option<Pv>>> + Send {
        self.get_one(collection::<PersistentVolume>(None), name)
    }

    fn nodeclaim(&self, name: &str) -> impl Future<Output = ReadResult<Option<NodeClaim>>> + Send {
        self.get_one(NODECLAIMS.to_owned(), name)
    }

    fn nodeclaims(&self) -> impl Future<Output = ReadResult<Vec<NodeClaim>>> + Send {
        self.list_all(NODECLAIMS.to_owned(), ListParams::default())
    }

    fn deployments(
        &self,
        namespace: &str,
    ) -> impl Future<Output = ReadResult<Vec<Workload>>> + Send {
        self.list_all(
            collection::<Deployment>(Some(namespace)),
            ListParams::default(),
        )
    }

    fn service(
        &self,
        namespace: &str,
        name: &str,
    ) -> impl Future<Output = ReadResult<Option<Service>>> + Send {
        self.get_one(collection::<ServiceType>(Some(namespace)), name)
    }

    fn target_group_bindings(
        &self,
    ) -> impl Future<Output = ReadResult<Vec<TargetGroupBinding>>> + Send {
        self.list_all(TARGETGROUPBINDINGS.to_owned(), ListParams::default())
    }
}
