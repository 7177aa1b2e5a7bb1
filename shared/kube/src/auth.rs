//! Bearer tokens that expire while an action runs: each request asks for a token, which is
//! re-signed once it is older than its refresh age, and a `401` is answered by re-signing
//! and sending the same request once more.
//!
//! The decision to know: the token is set per request, by a service in front of an
//! unauthenticated kube client ([`client_with_token`]), not baked into the client. A drain
//! and its verification can outlast a token (EKS accepts one for 15 minutes after it was
//! signed); a client that carried one fixed token would start failing half-way through.
//! Only one retry: if the freshly signed token is refused too, the credentials themselves
//! are refused, and the `401` goes back to the caller (`error.rs` says so in its message).
//! Concurrent requests refused together (a batch of evictions) share one re-signing: a
//! request whose refused token was already replaced takes the replacement.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use http::header::{AUTHORIZATION, HeaderValue};
use http::{Request, Response, StatusCode};
use kube::client::Body;
use secrecy::{ExposeSecret, SecretString};
use tokio::sync::Mutex;
use tokio::time::Instant;

use crate::KubeError;

/// A boxed, sendable error: what a token signer fails with.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A boxed future, as [`SignToken::sign`] returns it.
pub type SignFuture<'a> = Pin<Box<dyn Future<Output = Result<SecretString, BoxError>> + Send + 'a>>;

/// Signs a new bearer token for the cluster (for EKS: a presigned STS `GetCallerIdentity`
/// URL). Called when the current token reaches its refresh age, or was refused.
pub trait SignToken: Send + Sync + 'static {
    /// A freshly signed token.
    fn sign(&self) -> SignFuture<'_>;
}

/// Signing a token failed: no request was sent.
#[derive(Debug, thiserror::Error)]
#[error("cannot sign a token for the cluster: {source}")]
pub struct TokenError {
    #[source]
    source: BoxError,
}

/// A token, re-signed when older than its refresh age or after the server refused it.
pub struct RefreshingToken {
    signer: Box<dyn SignToken>,
    refresh_after: Duration,
    current: Mutex<Option<(SecretString, Instant)>>,
}

impl fmt::Debug for RefreshingToken {
    // The token itself is never printed.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RefreshingToken")
            .field("refresh_after", &self.refresh_after)
            .finish_non_exhaustive()
    }
}

impl RefreshingToken {
    /// Tokens from `signer`, each used until it is `refresh_after` old. Pick a refresh age
    /// well inside the token's validity: a request sent just before the refresh age carries
    /// the old token for as long as it takes.
    pub fn new(signer: impl SignToken, refresh_after: Duration) -> Self {
        RefreshingToken {
            signer: Box::new(signer),
            refresh_after,
            current: Mutex::new(None),
        }
    }

    /// The token to send now: the current one while it is younger than the refresh age,
    /// else a freshly signed one.
    pub async fn token(&self) -> Result<SecretString, TokenError> {
        let mut current = self.current.lock().await;
        match current.as_ref() {
            Some((token, signed)) if signed.elapsed() < self.refresh_after => Ok(token.clone()),
            _ => self.sign_into(&mut current).await,
        }
    }

    /// The server refused `refused`: a token signed after it (by this call, or by another
    /// request refused at the same time).
    pub async fn refused(&self, refused: &SecretString) -> Result<SecretString, TokenError> {
        let mut current = self.current.lock().await;
        match current.as_ref() {
            Some((token, _)) if token.expose_secret() != refused.expose_secret() => {
                Ok(token.clone())
            }
            _ => self.sign_into(&mut current).await,
        }
    }

    async fn sign_into(
        &self,
        current: &mut Option<(SecretString, Instant)>,
    ) -> Result<SecretString, TokenError> {
        let token = self
            .signer
            .sign()
            .await
            .map_err(|source| TokenError { source })?;
        *current = Some((token.clone(), Instant::now()));
        Ok(token)
    }
}

/// A kube client for `config`'s cluster whose every request carries a token from `token`
/// (see the module docs). Any credentials in `config` are dropped: the token is the one
/// way this client authenticates. kube's default retry is off, as for every client reflex
/// builds ([`crate::client_from_config`]).
pub fn client_with_token(
    mut config: kube::Config,
    token: RefreshingToken,
) -> Result<kube::Client, KubeError> {
    let default_namespace = config.default_namespace.clone();
    config.auth_info = kube::config::AuthInfo::default();
    let inner = crate::client_from_config(config)?;
    let service = Bearer {
        inner,
        token: Arc::new(token),
    };
    Ok(kube::Client::new(service, default_namespace))
}

/// The service in front of the unauthenticated client: sets the token, resends once on 401.
#[derive(Clone)]
struct Bearer {
    inner: kube::Client,
    token: Arc<RefreshingToken>,
}

type BearerFuture = Pin<Box<dyn Future<Output = Result<Response<Body>, BoxError>> + Send>>;

impl tower_service::Service<Request<Body>> for Bearer {
    type Response = Response<Body>;
    type Error = BoxError;
    type Future = BearerFuture;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        // The inner client queues requests itself.
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<Body>) -> Self::Future {
        let Bearer { inner, token } = self.clone();
        Box::pin(async move {
            // Bodies reflex sends are whole buffers, so a copy for the one resend is cheap;
            // a streamed body cannot be sent twice and its 401 stands.
            let again = copy(&request);
            let sent = token.token().await?;
            let answer = inner.send(authorized(request, &sent)?).await?;
            let Some(again) = again.filter(|_| answer.status() == StatusCode::UNAUTHORIZED) else {
                return Ok(answer);
            };
            let fresh = token.refused(&sent).await?;
            Ok(inner.send(authorized(again, &fresh)?).await?)
        })
    }
}

/// The request with `Authorization: Bearer <token>`, marked sensitive.
fn authorized(mut request: Request<Body>, token: &SecretString) -> Result<Request<Body>, BoxError> {
    let mut value = HeaderValue::try_from(format!("Bearer {}", token.expose_secret()))
        .map_err(|e| TokenError { source: e.into() })?;
    value.set_sensitive(true);
    request.headers_mut().insert(AUTHORIZATION, value);
    Ok(request)
}

/// A copy of `request` to send again, when its body can be copied.
fn copy(request: &Request<Body>) -> Option<Request<Body>> {
    let body = request.body().try_clone()?;
    let mut copy = Request::new(body);
    *copy.method_mut() = request.method().clone();
    *copy.uri_mut() = request.uri().clone();
    *copy.version_mut() = request.version();
    *copy.headers_mut() = request.headers().clone();
    Some(copy)
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use super::*;

    /// Signs `token-1`, `token-2`, ... and counts how often it was asked.
    #[derive(Clone, Default)]
    struct Counter(Arc<AtomicU32>);

    impl SignToken for Counter {
        fn sign(&self) -> SignFuture<'_> {
            let n = self.0.fetch_add(1, Ordering::SeqCst) + 1;
            Box::pin(async move { Ok(SecretString::from(format!("token-{n}"))) })
        }
    }

    #[tokio::test]
    async fn a_token_is_reused_until_its_refresh_age_then_re_signed() {
        let signer = Counter::default();
        let token = RefreshingToken::new(signer.clone(), Duration::from_millis(200));
        assert_eq!(token.token().await.unwrap().expose_secret(), "token-1");
        assert_eq!(token.token().await.unwrap().expose_secret(), "token-1");
        tokio::time::sleep(Duration::from_millis(250)).await;
        assert_eq!(token.token().await.unwrap().expose_secret(), "token-2");
        assert_eq!(signer.0.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn requests_refused_together_share_one_re_signing() {
        let signer = Counter::default();
        let token = RefreshingToken::new(signer.clone(), Duration::from_secs(600));
        let old = token.token().await.unwrap();
        let a = token.refused(&old).await.unwrap();
        let b = token.refused(&old).await.unwrap();
        assert_eq!(a.expose_secret(), "token-2");
        assert_eq!(b.expose_secret(), "token-2");
        let c = token.refused(&b).await.unwrap();
        assert_eq!(c.expose_secret(), "token-3", "the replacement refused too");
        assert_eq!(signer.0.load(Ordering::SeqCst), 3);
    }
}
