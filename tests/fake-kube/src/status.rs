//! API errors and the `Status` bodies kube-apiserver answers with.
//!
//! Codes, reasons and messages follow what kube-apiserver writes, because clients (kube-rs,
//! and reflex above it) branch on them. In particular a JSON patch that cannot be applied,
//! including a failed `test` operation, is `422 Invalid` with the generic message and
//! empty details: the apiserver builds it with `NewGenericServerResponse(422, ...)`, which
//! drops the underlying "test failed" text, so a client cannot tell a lost race from a
//! wrong path by the answer alone and has to re-read the object.

use serde_json::{Value, json};

use crate::resources::ResourceType;

/// A failed request: HTTP status, `Status.reason` and message, plus optional details.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ApiError {
    pub code: u16,
    pub reason: &'static str,
    pub message: String,
    pub details: Value,
    /// Seconds for a `Retry-After` header, when the server would send one.
    pub retry_after: Option<u32>,
}

impl ApiError {
    /// An error with no details.
    pub fn new(code: u16, reason: &'static str, message: impl Into<String>) -> Self {
        Self {
            code,
            reason,
            message: message.into(),
            details: Value::Null,
            retry_after: None,
        }
    }

    fn with_details(mut self, details: Value) -> Self {
        self.details = details;
        self
    }

    /// The details object naming the object an error is about.
    fn object_details(resource: &ResourceType, name: &str) -> Value {
        let mut details = json!({ "name": name, "kind": resource.plural });
        if !resource.group.is_empty() {
            details["group"] = json!(resource.group);
        }
        details
    }

    /// `404 NotFound` for a missing object.
    pub fn not_found(resource: &ResourceType, name: &str) -> Self {
        Self::new(
            404,
            "NotFound",
            format!("{} \"{name}\" not found", resource.qualified()),
        )
        .with_details(Self::object_details(resource, name))
    }

    /// `404 NotFound` for a path the server does not serve.
    pub fn no_such_path() -> Self {
        Self::new(
            404,
            "NotFound",
            "the server could not find the requested resource",
        )
        .with_details(json!({}))
    }

    /// `409 Conflict`: a stale `resourceVersion` or a failed precondition.
    pub fn conflict(resource: &ResourceType, name: &str, why: &str) -> Self {
        Self::new(
            409,
            "Conflict",
            format!(
                "Operation cannot be fulfilled on {} \"{name}\": {why}",
                resource.qualified()
            ),
        )
        .with_details(Self::object_details(resource, name))
    }

    /// The conflict for an update carrying an older `resourceVersion`.
    pub fn stale(resource: &ResourceType, name: &str) -> Self {
        Self::conflict(
            resource,
            name,
            "the object has been modified; please apply your changes to the latest version and try again",
        )
    }

    /// `409 AlreadyExists` on create.
    pub fn already_exists(resource: &ResourceType, name: &str) -> Self {
        Self::new(
            409,
            "AlreadyExists",
            format!("{} \"{name}\" already exists", resource.qualified()),
        )
        .with_details(Self::object_details(resource, name))
    }

    /// `400 BadRequest`.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(400, "BadRequest", message)
    }

    /// `422 Invalid` for a JSON patch that does not apply (see the module header).
    pub fn patch_not_applied() -> Self {
        Self::new(
            422,
            "Invalid",
            "the server rejected our request due to an error in our request",
        )
        .with_details(json!({}))
    }

    /// `405 MethodNotAllowed`.
    pub fn method_not_allowed() -> Self {
        Self::new(
            405,
            "MethodNotAllowed",
            "the server does not allow this method on the requested resource",
        )
        .with_details(json!({}))
    }

    /// `415 UnsupportedMediaType` for a patch type the fake does not implement.
    pub fn unsupported_media_type(content_type: &str) -> Self {
        Self::new(
            415,
            "UnsupportedMediaType",
            format!(
                "the body of the request was in an unknown format ({content_type}) - accepted media types include: \
                 application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json"
            ),
        )
    }

    /// `429 TooManyRequests` from the eviction subresource, one cause per blocking budget.
    pub fn disruption_budget(cause: String) -> Self {
        Self::new(
            429,
            "TooManyRequests",
            "Cannot evict pod as it would violate the pod's disruption budget.",
        )
        .with_details(json!({ "causes": [{ "reason": "DisruptionBudget", "message": cause }] }))
    }

    /// `401 Unauthorized`: a missing, unknown or expired token (kube-apiserver says no more).
    pub fn unauthorized() -> Self {
        Self::new(401, "Unauthorized", "Unauthorized")
    }

    /// `500 InternalError`.
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(500, "InternalError", message)
    }

    /// The error for a status code injected by a fault rule, shaped like the apiserver's own.
    pub fn injected(code: u16) -> Self {
        match code {
            429 => Self {
                retry_after: Some(1),
                ..Self::new(
                    429,
                    "TooManyRequests",
                    "Too many requests, please try again later.",
                )
                .with_details(json!({ "retryAfterSeconds": 1 }))
            },
            503 => Self::new(
                503,
                "ServiceUnavailable",
                "the server is currently unable to handle the request",
            ),
            504 => Self::new(
                504,
                "Timeout",
                "the server was unable to return a response in the time allotted",
            ),
            409 => Self::new(
                409,
                "Conflict",
                "the server reported a conflict (injected fault)",
            ),
            404 => Self::no_such_path(),
            401 => Self::unauthorized(),
            c if c >= 500 => Self::internal("Internal error occurred: injected fault"),
            c => Self::new(c, "BadRequest", "injected fault"),
        }
    }

    /// The `Status` body.
    pub fn body(&self) -> Value {
        let mut body = json!({
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        });
        if !self.details.is_null() {
            body["details"] = self.details.clone();
        }
        body
    }
}

/// A `Status` body for a successful call (eviction answers `201` with one).
pub(crate) fn success(code: u16) -> Value {
    json!({ "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": code })
}
