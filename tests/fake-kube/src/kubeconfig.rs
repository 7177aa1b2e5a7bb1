//! A kubeconfig for the fake server: plain HTTP, a dummy bearer token, one context.
//!
//! Clients load it like any other kubeconfig (`KUBECONFIG=...`, `--kubeconfig FILE`), so the
//! code path from kubeconfig to client is exercised too. No TLS: the server only listens
//! on the loopback interface.

/// The context, cluster and user name used in the kubeconfig.
pub(crate) const CONTEXT: &str = "fake-kube";

/// The bearer token the kubeconfig carries; the server accepts any.
pub(crate) const TOKEN: &str = "fake-kube-token";

/// A kubeconfig document (YAML) pointing at `url`.
pub(crate) fn kubeconfig_yaml(url: &str) -> String {
    format!(
        "apiVersion: v1
kind: Config
clusters:
- name: {CONTEXT}
  cluster:
    server: {url}
contexts:
- name: {CONTEXT}
  context:
    cluster: {CONTEXT}
    user: {CONTEXT}
    namespace: default
current-context: {CONTEXT}
users:
- name: {CONTEXT}
  user:
    token: {TOKEN}
preferences: {{}}
"
    )
}
