//! Where the cluster client comes from: a kubeconfig file when one is configured (read at
//! cold start, so a bad one fails the start), EKS authentication otherwise (a failure is a
//! retryable error of that one event).

use reflex_core::cluster::ClusterView;
use reflex_kube::KubeError;
use reflex_remediate::{ClusterSource, HandlerError};
use reflex_test_support::{aws::moto_aws, kube};

#[tokio::test]
async fn a_configured_kubeconfig_is_the_cluster_each_invocation_reads() {
    let fake = kube::start_voting_app().await;
    let path = kube::kubeconfig_file(&fake, "remediate-source.kubeconfig");
    let aws = moto_aws().await;

    let source = ClusterSource::choose(Some(&path), &aws).await.unwrap();

    assert!(matches!(source, ClusterSource::Kubeconfig(_)), "{source:?}");
    let cluster = source.cluster().await.unwrap();
    assert_eq!(cluster.nodes().await.unwrap().len(), 6);
    let reads = fake.requests().len();
    source.cluster().await.unwrap().nodes().await.unwrap();
    assert_eq!(
        fake.requests().len(),
        reads + 1,
        "the second invocation reads again"
    );
}

#[tokio::test]
async fn a_missing_kubeconfig_fails_the_cold_start() {
    let aws = moto_aws().await;
    let absent = reflex_test_support::temp_file("remediate-present", "")
        .with_file_name("remediate-absent.kubeconfig");

    let err = ClusterSource::choose(Some(&absent), &aws)
        .await
        .unwrap_err();

    assert!(matches!(err, KubeError::ReadKubeconfig { .. }), "{err:?}");
}

#[tokio::test]
async fn without_a_kubeconfig_the_cluster_comes_from_eks_and_a_missing_one_is_retried() {
    let aws = moto_aws().await;
    let cluster_name = aws.config().cluster_name.clone();

    let source = ClusterSource::choose(None, &aws).await.unwrap();

    assert!(matches!(source, ClusterSource::Eks(_)), "{source:?}");
    let Err(err) = source.cluster().await else {
        panic!("moto has no cluster {cluster_name}");
    };
    assert!(
        matches!(&err, HandlerError::ClusterUnavailable(why) if why.contains(&cluster_name)),
        "{err:?}"
    );
    assert!(err.retryable());
}
