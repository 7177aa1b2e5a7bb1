//! EKS access: a kube-rs client for the cluster, authenticated the way `aws eks get-token`
//! does it.
//!
//! DescribeCluster gives the API endpoint and the cluster CA (base64 of PEM). The bearer
//! token is `k8s-aws-v1.` + base64url (no padding) of an STS `GetCallerIdentity` GET URL,
//! presigned with SigV4 for 60 s and with the header `x-k8s-aws-id: <cluster>` among the
//! signed headers; the cluster's authenticator replays that URL to learn who is calling.
//!
//! The decision to know: the client is built once (the endpoint and CA never change, so
//! DescribeCluster runs once) and signs its own tokens, per request, through
//! [`reflex_kube::client_with_token`]: each request carries a token younger than
//! [`REFRESH_AFTER`], and a `401` is answered by signing a new token and resending once.
//! EKS accepts a token for 15 minutes after signing, and one invocation may run longer than
//! the rest of a token's life (a drain plus its verification, several alerts one after
//! another), so a token fixed when the client was handed out would expire mid-action.
//! kube's built-in retry of HTTP 429 is turned off (`default_retry = false`): a drain
//! answered 429 by a PodDisruptionBudget runs its own bounded loop instead of hanging.

use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials;
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use aws_sigv4::http_request::{
    SignableBody, SignableRequest, SignatureLocation, SigningSettings, sign,
};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use reflex_kube::{RefreshingToken, SignFuture, SignToken};
use tokio::sync::Mutex;

use crate::config::Aws;
use crate::error::{AwsError, classify};

/// The header that binds a token to one cluster.
pub const CLUSTER_ID_HEADER: &str = "x-k8s-aws-id";
/// Validity of the presigned URL (what `aws eks get-token` uses).
pub const TOKEN_EXPIRES: Duration = Duration::from_secs(60);
/// Age at which a token is replaced by a freshly signed one before the next request (EKS
/// accepts it for 15 minutes; a request sent just before this age still has 6 left).
pub const REFRESH_AFTER: Duration = Duration::from_secs(9 * 60);

/// Where the cluster's API server is and which CA signs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterAccess {
    /// `https://...eks.amazonaws.com`.
    pub endpoint: String,
    /// The CA certificates, DER.
    pub ca_der: Vec<Vec<u8>>,
}

struct Cached {
    access: ClusterAccess,
    client: kube::Client,
}

/// Signs EKS bearer tokens with the session's credentials.
#[derive(Debug, Clone)]
struct Signer {
    credentials: Option<SharedCredentialsProvider>,
    region: String,
    cluster: String,
}

impl Signer {
    async fn token(&self) -> Result<String, AwsError> {
        let provider = self
            .credentials
            .as_ref()
            .ok_or_else(|| AwsError::NoCredentials {
                detail: "no credentials provider is configured".into(),
            })?;
        let credentials =
            provider
                .provide_credentials()
                .await
                .map_err(|e| AwsError::NoCredentials {
                    detail: aws_sdk_dynamodb::error::DisplayErrorContext(&e).to_string(),
                })?;
        presign_token(&self.cluster, &self.region, &credentials, SystemTime::now())
    }
}

impl SignToken for Signer {
    fn sign(&self) -> SignFuture<'_> {
        Box::pin(async move {
            let token = self.token().await?;
            Ok(secrecy::SecretString::from(token))
        })
    }
}

/// Builds (and caches) the kube client for one EKS cluster.
pub struct EksAuth {
    eks: aws_sdk_eks::Client,
    signer: Signer,
    refresh_after: Duration,
    cached: Mutex<Option<Cached>>,
}

impl std::fmt::Debug for EksAuth {
    // kube::Client is not Debug; the token is never printed.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EksAuth")
            .field("cluster", &self.signer.cluster)
            .field("region", &self.signer.region)
            .field("refresh_after", &self.refresh_after)
            .finish_non_exhaustive()
    }
}

impl EksAuth {
    /// The cluster named in the configuration.
    pub fn new(aws: &Aws) -> Self {
        EksAuth {
            eks: aws_sdk_eks::Client::new(aws.sdk_config()),
            signer: Signer {
                credentials: aws.sdk_config().credentials_provider(),
                region: aws.config().region.clone(),
                cluster: aws.config().cluster_name.clone(),
            },
            refresh_after: REFRESH_AFTER,
            cached: Mutex::new(None),
        }
    }

    /// The same, replacing tokens at another age than [`REFRESH_AFTER`].
    pub fn with_refresh_after(mut self, refresh_after: Duration) -> Self {
        self.refresh_after = refresh_after;
        self
    }

    /// The client for the cluster (described on the first call); clone it freely: it
    /// shares one connection pool and signs its own tokens, however long it is used.
    pub async fn client(&self) -> Result<kube::Client, AwsError> {
        let mut cached = self.cached.lock().await;
        if let Some(c) = cached.as_ref() {
            return Ok(c.client.clone());
        }
        let access = self.describe().await?;
        let client = self.client_for(&access)?;
        *cached = Some(Cached {
            access,
            client: client.clone(),
        });
        Ok(client)
    }

    /// A client for a cluster whose endpoint and CA are known, signing its tokens as
    /// [`EksAuth::client`]'s does.
    pub fn client_for(&self, access: &ClusterAccess) -> Result<kube::Client, AwsError> {
        let token = RefreshingToken::new(self.signer.clone(), self.refresh_after);
        reflex_kube::client_with_token(cluster_config(access)?, token).map_err(AwsError::Kube)
    }

    /// A kube configuration with a fresh token, for callers that build their own client
    /// (through [`kube_client`], which settles the TLS provider). Its token is fixed: such
    /// a client stops working once the token is 15 minutes old.
    pub async fn config(&self) -> Result<kube::Config, AwsError> {
        let access = {
            let cached = self.cached.lock().await;
            cached.as_ref().map(|c| c.access.clone())
        };
        let access = match access {
            Some(a) => a,
            None => self.describe().await?,
        };
        kube_config(&access, self.token().await?)
    }

    /// A freshly signed bearer token.
    pub async fn token(&self) -> Result<String, AwsError> {
        self.signer.token().await
    }

    /// DescribeCluster: endpoint and CA.
    async fn describe(&self) -> Result<ClusterAccess, AwsError> {
        let cluster_name = &self.signer.cluster;
        let eks_error = |detail: String| AwsError::Eks {
            cluster: cluster_name.clone(),
            detail,
            transient: false,
        };
        let out = self
            .eks
            .describe_cluster()
            .name(cluster_name)
            .send()
            .await
            .map_err(|e| {
                let fault = classify("eks:DescribeCluster", e);
                AwsError::Eks {
                    cluster: cluster_name.clone(),
                    detail: fault.message,
                    transient: fault.transient,
                }
            })?;
        let cluster = out
            .cluster
            .ok_or_else(|| eks_error("DescribeCluster returned no cluster".into()))?;
        let endpoint = cluster
            .endpoint
            .ok_or_else(|| eks_error("the cluster has no endpoint yet (still creating?)".into()))?;
        let ca = cluster
            .certificate_authority
            .and_then(|c| c.data)
            .ok_or_else(|| eks_error("the cluster has no certificate authority data".into()))?;
        let ca_der = ca_der_from_base64_pem(&ca).map_err(eks_error)?;
        Ok(ClusterAccess { endpoint, ca_der })
    }
}

/// The presigned STS URL for `cluster`, signed at `time`.
pub fn presign_url(
    cluster: &str,
    region: &str,
    credentials: &Credentials,
    time: SystemTime,
) -> Result<String, AwsError> {
    let identity: Identity = credentials.clone().into();
    let mut settings = SigningSettings::default();
    settings.signature_location = SignatureLocation::QueryParams;
    settings.expires_in = Some(TOKEN_EXPIRES);
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name("sts")
        .time(time)
        .settings(settings)
        .build()
        .map_err(|e| AwsError::Token(e.to_string()))?
        .into();
    let url =
        format!("https://sts.{region}.amazonaws.com/?Action=GetCallerIdentity&Version=2011-06-15");
    let headers = [(CLUSTER_ID_HEADER, cluster)];
    let signable = SignableRequest::new("GET", &url, headers.into_iter(), SignableBody::Bytes(&[]))
        .map_err(|e| AwsError::Token(e.to_string()))?;
    let (instructions, _signature) = sign(signable, &params)
        .map_err(|e| AwsError::Token(e.to_string()))?
        .into_parts();
    let mut request = http::Request::builder()
        .method("GET")
        .uri(&url)
        .body(())
        .map_err(|e| AwsError::Token(e.to_string()))?;
    instructions.apply_to_request_http1x(&mut request);
    Ok(request.uri().to_string())
}

/// The EKS bearer token for `cluster`, signed at `time`.
pub fn presign_token(
    cluster: &str,
    region: &str,
    credentials: &Credentials,
    time: SystemTime,
) -> Result<String, AwsError> {
    let url = presign_url(cluster, region, credentials, time)?;
    Ok(format!("k8s-aws-v1.{}", URL_SAFE_NO_PAD.encode(url)))
}

/// A kube configuration for the cluster with `token`, without kube's default 429 retry.
pub fn kube_config(access: &ClusterAccess, token: String) -> Result<kube::Config, AwsError> {
    let mut config = cluster_config(access)?;
    config.auth_info.token = Some(secrecy::SecretString::from(token));
    Ok(config)
}

/// Endpoint and CA, no credentials, without kube's default 429 retry.
fn cluster_config(access: &ClusterAccess) -> Result<kube::Config, AwsError> {
    let uri: http::Uri = access.endpoint.parse().map_err(|e| AwsError::Eks {
        cluster: access.endpoint.clone(),
        detail: format!("endpoint is not a URL: {e}"),
        transient: false,
    })?;
    let mut config = kube::Config::new(uri);
    config.root_cert = Some(access.ca_der.clone());
    config.default_retry = false;
    Ok(config)
}

/// A kube client from `config`, built the one way reflex builds every client
/// ([`reflex_kube::client_from_config`]: rustls's crypto provider settled, kube's default
/// retry off).
pub fn kube_client(config: kube::Config) -> Result<kube::Client, AwsError> {
    reflex_kube::client_from_config(config).map_err(AwsError::Kube)
}

/// DescribeCluster's `certificateAuthority.data` (base64 of a PEM bundle) as DER certificates.
pub fn ca_der_from_base64_pem(data: &str) -> Result<Vec<Vec<u8>>, String> {
    let pem = STANDARD
        .decode(data.trim())
        .map_err(|e| format!("certificate authority data is not base64: {e}"))?;
    let pem = String::from_utf8(pem)
        .map_err(|_| "certificate authority data is not PEM text".to_owned())?;
    let mut certs = Vec::new();
    let mut body: Option<String> = None;
    for line in pem.lines().map(str::trim) {
        if line == "-----BEGIN CERTIFICATE-----" {
            body = Some(String::new());
        } else if line == "-----END CERTIFICATE-----" {
            let b64 = body
                .take()
                .ok_or("END CERTIFICATE without BEGIN in the CA bundle")?;
            certs.push(
                STANDARD
                    .decode(b64)
                    .map_err(|e| format!("a CA certificate is not valid base64: {e}"))?,
            );
        } else if let Some(b) = body.as_mut() {
            b.push_str(line);
        }
    }
    if certs.is_empty() {
        return Err("no certificate in the CA bundle".into());
    }
    Ok(certs)
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::time::UNIX_EPOCH;

    use super::*;

    fn creds() -> Credentials {
        Credentials::new(
            "AKIDEXAMPLE",
            "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
            Some("session-token".into()),
            None,
            "unit-test",
        )
    }

    fn query(url: &str) -> HashMap<String, String> {
        let uri: http::Uri = url.parse().expect("url");
        form_pairs(uri.query().unwrap_or_default())
    }

    fn form_pairs(q: &str) -> HashMap<String, String> {
        q.split('&')
            .filter_map(|kv| kv.split_once('='))
            .map(|(k, v)| (percent_decode(k), percent_decode(v)))
            .collect()
    }

    fn percent_decode(s: &str) -> String {
        let bytes = s.as_bytes();
        let mut out = Vec::new();
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] == b'%' && i + 3 <= bytes.len() {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).expect("utf8");
                out.push(u8::from_str_radix(hex, 16).expect("hex"));
                i += 3;
            } else {
                out.push(bytes[i]);
                i += 1;
            }
        }
        String::from_utf8(out).expect("utf8")
    }

    #[test]
    fn token_decodes_to_a_presigned_get_caller_identity_url_bound_to_the_cluster() {
        let time = UNIX_EPOCH + Duration::from_secs(1_767_225_600);
        let token = presign_token("voting", "eu-west-1", &creds(), time).expect("token");
        let encoded = token.strip_prefix("k8s-aws-v1.").expect("prefix");
        assert!(!encoded.contains('='), "no padding");
        assert!(!encoded.contains('+') && !encoded.contains('/'), "url-safe");
        let url =
            String::from_utf8(URL_SAFE_NO_PAD.decode(encoded).expect("base64url")).expect("utf8");
        let uri: http::Uri = url.parse().expect("url");
        assert_eq!(uri.scheme_str(), Some("https"));
        assert_eq!(uri.host(), Some("sts.eu-west-1.amazonaws.com"));
        let q = query(&url);
        assert_eq!(q["Action"], "GetCallerIdentity");
        assert_eq!(q["Version"], "2011-06-15");
        assert_eq!(q["X-Amz-Expires"], "60");
        assert_eq!(q["X-Amz-Algorithm"], "AWS4-HMAC-SHA256");
        assert_eq!(q["X-Amz-Date"], "20260101T000000Z");
        assert!(q["X-Amz-Credential"].starts_with("AKIDEXAMPLE/20260101/eu-west-1/sts/"));
        let signed: Vec<&str> = q["X-Amz-SignedHeaders"].split(';').collect();
        assert!(signed.contains(&"x-k8s-aws-id"), "{signed:?}");
        assert!(signed.contains(&"host"), "{signed:?}");
        assert_eq!(q["X-Amz-Security-Token"], "session-token");
        assert_eq!(q["X-Amz-Signature"].len(), 64);
    }

    #[test]
    fn token_differs_per_cluster() {
        let time = UNIX_EPOCH + Duration::from_secs(1_767_225_600);
        let a = presign_token("voting", "eu-west-1", &creds(), time).expect("token");
        let b = presign_token("other", "eu-west-1", &creds(), time).expect("token");
        assert_ne!(a, b);
    }

    #[test]
    fn ca_bundle_is_decoded_to_der() {
        let der_a = b"first certificate bytes";
        let der_b = b"second";
        let pem = format!(
            "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
            STANDARD.encode(der_a),
            STANDARD.encode(der_b)
        );
        let certs = ca_der_from_base64_pem(&STANDARD.encode(pem)).expect("certs");
        assert_eq!(certs, vec![der_a.to_vec(), der_b.to_vec()]);
        assert!(ca_der_from_base64_pem("not base64!").is_err());
        assert!(ca_der_from_base64_pem(&STANDARD.encode("no pem here")).is_err());
    }

    #[test]
    fn kube_config_has_token_ca_and_no_default_retry() {
        let access = ClusterAccess {
            endpoint: "https://ABC.gr7.eu-west-1.eks.amazonaws.com".into(),
            ca_der: vec![b"der".to_vec()],
        };
        let config = kube_config(&access, "k8s-aws-v1.abc".into()).expect("config");
        assert!(!config.default_retry);
        assert_eq!(config.root_cert, Some(vec![b"der".to_vec()]));
        assert!(config.auth_info.token.is_some());
        assert_eq!(
            config.cluster_url.host(),
            Some("ABC.gr7.eu-west-1.eks.amazonaws.com")
        );
    }
}
