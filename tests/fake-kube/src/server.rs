//! The HTTP side: the accept loop, and the per-request path through the request log, the
//! bearer-token check, the fault rules and then the API (or the admin endpoint under
//! `/_fake/`).
//!
//! Plain HTTP/1.1 on hyper, one task per connection. A dropped connection is produced by
//! failing the service future, which makes hyper close the socket without writing a
//! response: the client sees exactly what a crashed or cut-off apiserver looks like.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderValue, RETRY_AFTER};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinSet;

use crate::admin;
use crate::api::{self, ApiRequest};
use crate::controllers::Controllers;
use crate::faults::{Fault, Faults};
use crate::requests::{RecordedRequest, RequestLog};
use crate::status::ApiError;
use crate::store::Store;
use crate::tokens::Tokens;

/// State shared by the connection tasks, controller tasks and the test's handle.
#[derive(Debug, Default)]
pub(crate) struct Shared {
    store: Mutex<Store>,
    pub faults: Faults,
    pub tokens: Tokens,
    pub log: RequestLog,
    pub controllers: Controllers,
}

impl Shared {
    pub fn new(store: Store) -> Self {
        Self {
            store: Mutex::new(store),
            ..Self::default()
        }
    }

    /// Locks the store. A panic elsewhere cannot leave it half-written (writes are single
    /// map operations), so a poisoned lock is still usable.
    pub fn store(&self) -> MutexGuard<'_, Store> {
        self.store.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The error that makes hyper close a connection without answering.
#[derive(Debug, thiserror::Error)]
#[error("connection dropped by an injected fault")]
struct DropConnection;

/// Accepts connections until `shutdown` fires; open connections end with the loop.
pub(crate) async fn serve(
    listener: TcpListener,
    shared: Arc<Shared>,
    mut shutdown: oneshot::Receiver<()>,
) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => {
                // A failed accept (the client gave up, or descriptors ran out) affects only
                // that connection; keep serving the others.
                let Ok((stream, _)) = accepted else { continue };
                let shared = Arc::clone(&shared);
                connections.spawn(async move {
                    let service = service_fn(move |request| respond(Arc::clone(&shared), request));
                    // A connection error means the client went away or a fault dropped it.
                    let _ = http1::Builder::new().serve_connection(TokioIo::new(stream), service).await;
                });
            }
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}

fn json_response(status: u16, body: String, retry_after: Option<u32>) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() =
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    if let Some(seconds) = retry_after {
        response
            .headers_mut()
            .insert(RETRY_AFTER, HeaderValue::from(seconds));
    }
    response
}

async fn respond(
    shared: Arc<Shared>,
    request: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, DropConnection> {
    let (parts, body) = request.into_parts();
    // A body that cannot be read means the client is gone: nobody to answer.
    let body = body.collect().await.map_err(|_| DropConnection)?.to_bytes();
    let path = parts.uri.path().to_owned();
    let query = parts.uri.query().map(str::to_owned);
    let content_type = parts
        .headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let accept = parts
        .headers
        .get(ACCEPT)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let method = parts.method.as_str().to_owned();
    let authorization = parts
        .headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);

    if let Some(admin_path) = path.strip_prefix("/_fake/") {
        let (status, body) = admin::handle(&shared, &method, admin_path, &body);
        return Ok(json_response(status, body.to_string(), None));
    }

    // Authentication comes first, as in kube-apiserver: a refused token reaches neither
    // the fault rules nor the API.
    let token = shared.tokens.check(authorization.as_deref());
    let seq = shared.log.arrived(RecordedRequest {
        seq: 0,
        method: method.clone(),
        path: path.clone(),
        query: query.clone(),
        content_type: content_type.clone(),
        body: String::from_utf8_lossy(&body).into_owned(),
        status: None,
        bytes: None,
        bearer: token.ordinal,
    });
    if token.refused {
        let error = ApiError::unauthorized();
        let body = error.body().to_string();
        shared.log.answered(seq, error.code, body.len());
        return Ok(json_response(error.code, body, None));
    }
    let decision = shared.faults.decide(&method, &path);
    if !decision.delay.is_zero() {
        tokio::time::sleep(decision.delay).await;
    }
    let (status, body, retry_after) = match decision.outcome {
        Some(Fault::Drop) => return Err(DropConnection),
        Some(Fault::Status(code)) => {
            let error = ApiError::injected(code);
            (code, error.body(), error.retry_after)
        }
        _ => {
            let query = form_urlencoded::parse(query.as_deref().unwrap_or_default().as_bytes())
                .into_owned()
                .collect();
            let request = ApiRequest {
                method: &method,
                path: &path,
                query,
                content_type: content_type.as_deref(),
                accept: accept.as_deref(),
                body: &body,
            };
            let response = api::handle(&shared, &request);
            (response.status, response.body, response.retry_after)
        }
    };
    // A pod log is plain text; the API hands it over as a JSON string.
    let body = match body {
        serde_json::Value::String(text) if status == 200 && path.ends_with("/log") => text,
        body => body.to_string(),
    };
    shared.log.answered(seq, status, body.len());
    Ok(json_response(status, body, retry_after))
}
