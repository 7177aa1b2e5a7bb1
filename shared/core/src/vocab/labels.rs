//! The node labels and API names that say who provisioned a node, in one place: a node is
//! replaced by the mechanism that launched it (ARCHITECTURE section 12).

/// Karpenter (and EKS Auto Mode) label on its nodes and NodeClaims: the NodePool.
pub const NODEPOOL_LABEL: &str = "karpenter.sh/nodepool";
/// The `apiVersion` of Karpenter's NodeClaims, which own the nodes they became.
pub const KARPENTER_API_VERSION: &str = "karpenter.sh/v1";
/// EKS managed node group label on its nodes: the node group (an Auto Scaling group).
pub const NODEGROUP_LABEL: &str = "eks.amazonaws.com/nodegroup";
/// eksctl's label on the nodes of its node groups, self-managed ones included.
pub const EKSCTL_NODEGROUP_LABEL: &str = "alpha.eksctl.io/nodegroup-name";
