//! Where each invocation gets its cluster client from, chosen once at cold start: a
//! kubeconfig file when `REFLEX_KUBECONFIG` is set (a cluster outside EKS, or a test
//! stack), EKS authentication otherwise (the deployed function).
//!
//! The one design choice to know: the kubeconfig is read and its client built at cold
//! start, so a bad file fails the start; the EKS client is fetched per invocation from
//! [`EksAuth`], which caches it and re-signs its token before it expires, so a failure
//! there is a retryable [`HandlerError::ClusterUnavailable`] of that one event.

use std::path::Path;

use reflex_aws::{Aws, EksAuth};
use reflex_kube::{KubeCluster, KubeError};

use crate::HandlerError;

/// Where each invocation gets its cluster client from.
pub enum ClusterSource {
    /// EKS authentication; one cached client that re-signs its token per request before
    /// it expires (and once after a 401), so a long action keeps its credentials.
    Eks(EksAuth),
    /// A kubeconfig file (`REFLEX_KUBECONFIG`), read once.
    Kubeconfig(kube::Client),
}

impl std::fmt::Debug for ClusterSource {
    // kube::Client is not Debug.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ClusterSource::Eks(auth) => f.debug_tuple("Eks").field(auth).finish(),
            ClusterSource::Kubeconfig(_) => f.write_str("Kubeconfig"),
        }
    }
}

impl ClusterSource {
    /// The kubeconfig at `kubeconfig` (its current context) when one is given, else EKS
    /// authentication through `aws` for the configured cluster.
    pub async fn choose(kubeconfig: Option<&Path>, aws: &Aws) -> Result<Self, KubeError> {
        match kubeconfig {
            Some(path) => {
                let cluster = KubeCluster::from_kubeconfig(path, None).await?;
                Ok(ClusterSource::Kubeconfig(cluster.client().clone()))
            }
            None => Ok(ClusterSource::Eks(EksAuth::new(aws))),
        }
    }

    /// A cluster adapter for one invocation (its per-plan memo starts empty).
    pub async fn cluster(&self) -> Result<KubeCluster, HandlerError> {
        match self {
            ClusterSource::Eks(auth) => auth
                .client()
                .await
                .map(KubeCluster::new)
                .map_err(|e| HandlerError::ClusterUnavailable(e.to_string())),
            ClusterSource::Kubeconfig(client) => Ok(KubeCluster::new(client.clone())),
        }
    }
}
