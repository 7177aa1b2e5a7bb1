//! Who owns a node, so that `replace_node` replaces it by the mechanism that provisioned
//! it (ARCHITECTURE section 12).
//!
//! - **Karpenter** (EKS Auto Mode included): the node carries `karpenter.sh/nodepool`, or an
//!   owner reference to a `karpenter.sh/v1` NodeClaim. Its NodeClaim is read by the owner
//!   reference's name; when that is missing or not found, the NodeClaims are listed and the
//!   one whose `status.nodeName` or `status.providerID` is the node's is taken. A Karpenter
//!   node whose NodeClaim cannot be found has nothing to delete and is refused.
//! - **Auto Scaling group**: the node carries a node-group label (EKS managed node groups
//!   set `eks.amazonaws.com/nodegroup`, eksctl `alpha.eksctl.io/nodegroup-name`) and an
//!   EC2 `providerID`. Which group, and that it belongs to this cluster, the fleet checks
//!   before the cordon (it refuses an instance in no group, or in one not tagged
//!   `kubernetes.io/cluster/<name>=owned`).
//! - **None**: neither. Nothing known would launch a replacement, so the node is not drained:
//!   `suppressed`, and on-call is told. (A self-managed group's nodes are recognised once
//!   they carry `eks.amazonaws.com/nodegroup=<group>`, e.g. through the kubelet's
//!   `--node-labels`.)

use crate::cluster::ClusterView;
use crate::guard::Refusal;
use crate::objects::{Node, NodeClaim, Pool};
use crate::plan::context::Step;
use crate::vocab::labels::{
    EKSCTL_NODEGROUP_LABEL, KARPENTER_API_VERSION, NODEGROUP_LABEL, NODEPOOL_LABEL,
};

/// The mechanism that replaces a node.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum NodeOwner {
    /// An Auto Scaling group: terminate the instance without decrementing capacity.
    AutoScaling {
        /// The node group named by the node's label.
        group: String,
        /// The EC2 instance.
        instance_id: String,
    },
    /// Karpenter: delete the NodeClaim.
    Karpenter {
        /// The node's NodeClaim.
        claim: NodeClaim,
    },
}

impl NodeOwner {
    /// The pool within which the NotReady cap applies.
    pub(crate) fn pool(&self, node: &Node) -> Option<Pool> {
        match self {
            NodeOwner::Karpenter { claim } => node
                .pool()
                .or_else(|| claim.nodepool().map(|p| Pool::NodePool(p.to_owned()))),
            NodeOwner::AutoScaling { group, .. } => Some(Pool::NodeGroup(group.clone())),
        }
    }
}

/// Who owns `node`: `Ok(Err(refusal))` when no known mechanism does, or when its owner
/// cannot replace it (a Karpenter node without a NodeClaim, a group node without an EC2
/// instance).
pub(crate) async fn owner_of<C: ClusterView>(
    cluster: &C,
    node: &Node,
) -> Step<Result<NodeOwner, Refusal>> {
    let name = &node.metadata.name;
    if node.karpenter_provisioned() {
        return Ok(match find_claim(cluster, node).await? {
            Some(claim) => Ok(NodeOwner::Karpenter { claim }),
            None => {
                let by = node.nodeclaim_owner().map_or_else(String::new, |c| {
                    format!("owner reference to NodeClaim {c} not found, and ")
                });
                let why = cluster
                    .missing_kind("nodeclaims")
                    .map_or_else(String::new, |m| format!(" ({m})"));
                Err(Refusal::suppressed(format!(
                    "node {name} was provisioned by Karpenter but it has no NodeClaim ({by}no NodeClaim has status.nodeName {name} or its providerID){why}: nothing would replace it, so it is not drained"
                )))
            }
        });
    }
    let Some(group) = node.node_group() else {
        return Ok(Err(Refusal::suppressed(format!(
            "node {name} has no known owner: no {NODEPOOL_LABEL} label or {KARPENTER_API_VERSION} NodeClaim owner reference (Karpenter, EKS Auto Mode), no {NODEGROUP_LABEL} or {EKSCTL_NODEGROUP_LABEL} label (an Auto Scaling node group); nothing would launch a replacement, so it is not drained"
        ))));
    };
    Ok(match node.instance_id() {
        Some(id) => Ok(NodeOwner::AutoScaling {
            group: group.to_owned(),
            instance_id: id.to_owned(),
        }),
        None => Err(Refusal::suppressed(format!(
            "node {name} has no EC2 providerID ({:?}); its instance cannot be replaced",
            node.spec.provider_id
        ))),
    })
}

/// The node's NodeClaim: by its owner reference, else the one whose status names the node.
async fn find_claim<C: ClusterView>(cluster: &C, node: &Node) -> Step<Option<NodeClaim>> {
    if let Some(name) = node.nodeclaim_owner()
        && let Some(claim) = cluster.nodeclaim(name).await?
    {
        return Ok(Some(claim));
    }
    Ok(cluster
        .nodeclaims()
        .await?
        .into_iter()
        .find(|c| c.claims(node)))
}
