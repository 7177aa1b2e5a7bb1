//! The Kubernetes API proper: one request in, one status and JSON body out.
//!
//! `handle` answers discovery paths first (`discovery.rs`), then resolves the path and
//! dispatches by verb: get, list, create, patch, replace, delete, and the pod eviction
//! subresource (in `eviction.rs`); a read whose `Accept` asks for a Table gets one
//! (`table.rs`). Every verb holds the store
//! lock for its whole read-modify-write, so requests are linearizable like etcd's
//! compare-and-swap. Controller reactions are collected as effects and scheduled after the
//! lock is released. `dryRun=All` runs the same code with persistence switched off.

use std::sync::Arc;

use serde_json::{Value, json};

use crate::controllers;
use crate::discovery;
use crate::eviction;
use crate::patch::Patch;
use crate::resources::{ApiPath, DEPLOYMENTS, NODECLAIMS, NODES, PODS, ResourceType, parse_path};
use crate::selector::{FieldSelector, LabelSelector};
use crate::server::Shared;
use crate::status::ApiError;
use crate::store::{Store, meta, meta_mut, seconds_from_now};
use crate::table::{self, Include};

/// A request as the API sees it.
#[derive(Debug)]
pub(crate) struct ApiRequest<'a> {
    pub method: &'a str,
    pub path: &'a str,
    pub query: Vec<(String, String)>,
    pub content_type: Option<&'a str>,
    /// The `Accept` header: a Table is answered when it asks for one.
    pub accept: Option<&'a str>,
    pub body: &'a [u8],
}

impl ApiRequest<'_> {
    fn param(&self, key: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// The answer: HTTP status, JSON body, and a `Retry-After` when one applies.
#[derive(Debug)]
pub(crate) struct ApiResponse {
    pub status: u16,
    pub body: Value,
    pub retry_after: Option<u32>,
}

/// What a successful write sets in motion once the store lock is released.
#[derive(Debug)]
pub(crate) enum Effect {
    /// A pod left the store through a delete or an eviction.
    PodRemoved(Value),
    /// A Deployment's spec (hence generation) changed.
    DeploymentChanged { namespace: String, name: String },
    /// A Karpenter NodeClaim was deleted.
    NodeClaimRemoved(Value),
}

/// Schedules the controllers' reactions to writes (with the store lock released).
fn run_effects(shared: &Arc<Shared>, effects: Vec<Effect>) {
    for effect in effects {
        match effect {
            Effect::PodRemoved(pod) => controllers::pod_removed(shared, pod),
            Effect::DeploymentChanged { namespace, name } => {
                controllers::deployment_changed(shared, namespace, name)
            }
            Effect::NodeClaimRemoved(claim) => controllers::nodeclaim_removed(shared, claim),
        }
    }
}

/// Marks `node`'s kubelet gone, or brings it back: a returning kubelet finishes the
/// termination of its Terminating pods (they leave the store, and their owners react).
pub(crate) fn set_kubelet_dead(shared: &Arc<Shared>, node: &str, dead: bool) {
    let mut effects = Vec::new();
    {
        let mut store = shared.store();
        if store.set_kubelet_dead(node, dead) && !dead {
            finish_pods_of_node(&mut store, node, true, &mut effects);
        }
    }
    run_effects(shared, effects);
}

/// Serves one API request.
pub(crate) fn handle(shared: &Arc<Shared>, request: &ApiRequest<'_>) -> ApiResponse {
    let mut effects = Vec::new();
    let result = {
        let mut store = shared.store();
        dispatch(&mut store, request, &mut effects)
    };
    run_effects(shared, effects);
    match result {
        Ok((status, body)) => ApiResponse {
            status,
            body,
            retry_after: None,
        },
        Err(error) => ApiResponse {
            status: error.code,
            body: error.body(),
            retry_after: error.retry_after,
        },
    }
}

fn dispatch(
    store: &mut Store,
    request: &ApiRequest<'_>,
    effects: &mut Vec<Effect>,
) -> Result<(u16, Value), ApiError> {
    if let Some(document) = discovery::document(request.path) {
        return match request.method {
            "GET" => Ok((200, document)),
            _ => Err(ApiError::method_not_allowed()),
        };
    }
    let path = parse_path(request.path).ok_or_else(ApiError::no_such_path)?;
    let dry_run = match request.param("dryRun") {
        None => false,
        Some("All") => true,
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "Invalid dry run value: {other}; supported values: All"
            )));
        }
    };
    match path.subresource.as_deref() {
        None | Some("status") => {}
        Some("eviction" | "log") if std::ptr::eq(path.resource, &PODS) => {}
        Some(_) => return Err(ApiError::no_such_path()),
    }
    let name = path.name.as_deref();
    match (request.method, name, path.subresource.as_deref()) {
        ("GET", None, None) => list(store, &path, request)
            .map(|list| (200, as_table(request, path.resource, list, true))),
        ("GET", Some(name), None | Some("status")) => get(store, &path, name)
            .cloned()
            .map(|object| (200, as_table(request, path.resource, object, false))),
        ("GET", Some(name), Some("log")) => pod_log(store, &path, name, request),
        ("POST", None, None) => create(store, &path, request.body, dry_run).map(|body| (201, body)),
        ("POST", Some(name), Some("eviction")) if std::ptr::eq(path.resource, &PODS) => {
            eviction::evict(
                store,
                path.namespace.as_deref(),
                name,
                request.body,
                dry_run,
                effects,
            )
        }
        ("PATCH", Some(name), None | Some("status")) => {
            let patch = Patch::decode(request.content_type, request.body)?;
            let current = get(store, &path, name)?;
            let desired = patch.apply(current)?;
            write(store, &path, name, desired, dry_run, effects).map(|body| (200, body))
        }
        ("PUT", Some(name), None | Some("status")) => {
            let desired: Value = serde_json::from_slice(request.body)
                .map_err(|e| ApiError::bad_request(format!("error decoding body: {e}")))?;
            write(store, &path, name, desired, dry_run, effects).map(|body| (200, body))
        }
        ("DELETE", Some(name), None) => delete(store, &path, name, request.body, dry_run, effects),
        _ => Err(ApiError::method_not_allowed()),
    }
}

/// `GET .../pods/NAME/log`: the log set for the container (`container=`, required when the
/// pod has several), of its previous instance with `previous=true`; the last `tailLines`
/// lines, then at most `limitBytes` bytes of them (possibly cut mid-character, as the
/// kubelet does). Answered as a JSON string, which the server writes as plain text.
fn pod_log(
    store: &Store,
    path: &ApiPath,
    name: &str,
    request: &ApiRequest<'_>,
) -> Result<(u16, Value), ApiError> {
    let pod = get(store, path, name)?;
    let namespace = path.namespace.as_deref().unwrap_or_default();
    let containers: Vec<&str> = pod
        .pointer("/spec/containers")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|c| c.get("name").and_then(Value::as_str))
        .collect();
    let container = match (request.param("container"), containers.as_slice()) {
        (Some(c), _) => c,
        (None, [only]) => only,
        (None, _) => {
            return Err(ApiError::bad_request(format!(
                "a container name must be specified for pod {name}, choose one of: {containers:?}"
            )));
        }
    };
    let previous = request.param("previous") == Some("true");
    let Some(text) = store.log(namespace, name, container, previous) else {
        return Err(ApiError::bad_request(if previous {
            format!("previous terminated container \"{container}\" in pod \"{name}\" not found")
        } else {
            format!("container \"{container}\" in pod \"{name}\" is not available")
        }));
    };
    let mut text = text;
    if let Some(tail) = request
        .param("tailLines")
        .and_then(|t| t.parse::<usize>().ok())
    {
        let starts: Vec<usize> = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .filter(|&i| i < text.len())
            .collect();
        if starts.len() > tail {
            text = &text[starts[starts.len() - tail]..];
        }
    }
    let mut bytes = text.as_bytes();
    if let Some(limit) = request
        .param("limitBytes")
        .and_then(|l| l.parse::<usize>().ok())
    {
        bytes = &bytes[..bytes.len().min(limit)];
    }
    Ok((
        200,
        Value::String(String::from_utf8_lossy(bytes).into_owned()),
    ))
}

/// `body` (a list when `is_list`, else one object) as the Table the request's `Accept` asks
/// for, or unchanged when it asks for none.
fn as_table(
    request: &ApiRequest<'_>,
    resource: &'static ResourceType,
    body: Value,
    is_list: bool,
) -> Value {
    let Some(api_version) = table::wanted(request.accept) else {
        return body;
    };
    let include = Include::from_param(request.param("includeObject"));
    if is_list {
        let items = body["items"].as_array().cloned().unwrap_or_default();
        table::table(
            api_version,
            resource,
            &items,
            body["metadata"].clone(),
            include,
        )
    } else {
        let metadata = json!({ "resourceVersion": body.pointer("/metadata/resourceVersion") });
        table::table(api_version, resource, &[body], metadata, include)
    }
}

fn get<'s>(store: &'s Store, path: &ApiPath, name: &str) -> Result<&'s Value, ApiError> {
    store
        .get(path.resource, path.namespace.as_deref(), name)
        .ok_or_else(|| ApiError::not_found(path.resource, name))
}

/// A `<Kind>List`, filtered by selectors and paged by `limit`/`continue`.
fn list(store: &Store, path: &ApiPath, request: &ApiRequest<'_>) -> Result<Value, ApiError> {
    if request
        .param("watch")
        .is_some_and(|w| w == "true" || w == "1")
    {
        return Err(ApiError::new(
            405,
            "MethodNotAllowed",
            "watch is not supported by this server",
        ));
    }
    let labels = LabelSelector::parse(request.param("labelSelector").unwrap_or_default())
        .map_err(ApiError::bad_request)?;
    let fields = FieldSelector::parse(
        request.param("fieldSelector").unwrap_or_default(),
        path.resource,
    )
    .map_err(ApiError::bad_request)?;
    let matching: Vec<&Value> = store
        .list(path.resource, path.namespace.as_deref())
        .filter(|o| labels.matches(o.pointer("/metadata/labels").and_then(Value::as_object)))
        .filter(|o| fields.matches(o))
        .collect();
    let offset = match request.param("continue").filter(|c| !c.is_empty()) {
        Some(token) => token.parse::<usize>().map_err(|_| {
            ApiError::new(
                410,
                "Expired",
                "The provided continue parameter is too old to display a consistent list result.",
            )
        })?,
        None => 0,
    };
    let limit = request
        .param("limit")
        .and_then(|l| l.parse::<usize>().ok())
        .filter(|l| *l > 0);
    let end = limit.map_or(matching.len(), |l| (offset + l).min(matching.len()));
    let items: Vec<Value> = matching
        .get(offset.min(end)..end)
        .unwrap_or_default()
        .iter()
        .map(|o| (*o).clone())
        .collect();
    let mut metadata = json!({ "resourceVersion": store.resource_version().to_string() });
    if end < matching.len() {
        metadata["continue"] = json!(end.to_string());
        metadata["remainingItemCount"] = json!(matching.len() - end);
    }
    Ok(json!({
        "kind": format!("{}List", path.resource.kind),
        "apiVersion": path.resource.api_version(),
        "metadata": metadata,
        "items": items,
    }))
}

/// Checks that a body's name and namespace agree with the request path.
fn check_identity(
    resource: &ResourceType,
    path: &ApiPath,
    name: Option<&str>,
    object: &Value,
) -> Result<(), ApiError> {
    if !object.is_object() {
        return Err(ApiError::bad_request("the body is not a JSON object"));
    }
    if let Some(kind) = object.get("kind").and_then(Value::as_str)
        && kind != resource.kind
    {
        return Err(ApiError::bad_request(format!(
            "the kind of the object ({kind}) does not match {}",
            resource.kind
        )));
    }
    if let (Some(in_body), Some(in_url)) = (meta(object, "name"), name)
        && in_body != in_url
    {
        return Err(ApiError::bad_request(format!(
            "the name of the object ({in_body}) does not match the name on the URL ({in_url})"
        )));
    }
    if let (Some(in_body), Some(in_url)) = (meta(object, "namespace"), path.namespace.as_deref())
        && in_body != in_url
    {
        return Err(ApiError::bad_request(
            "the namespace of the provided object does not match the namespace sent on the request",
        ));
    }
    Ok(())
}

fn create(
    store: &mut Store,
    path: &ApiPath,
    body: &[u8],
    dry_run: bool,
) -> Result<Value, ApiError> {
    let resource = path.resource;
    if resource.namespaced && path.namespace.is_none() {
        return Err(ApiError::method_not_allowed());
    }
    let mut object: Value = serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_request(format!("error decoding body: {e}")))?;
    check_identity(resource, path, None, &object)?;
    if meta(&object, "name").is_none_or(str::is_empty) {
        let Some(prefix) = meta(&object, "generateName").map(str::to_owned) else {
            return Err(ApiError::new(
                422,
                "Invalid",
                format!(
                    "{} \"\" is invalid: metadata.name: Required value: name or generateName is required",
                    resource.kind
                ),
            ));
        };
        let name = store.generate_name(resource, path.namespace.as_deref(), &prefix);
        meta_mut(&mut object).insert("name".into(), json!(name));
    }
    let metadata = meta_mut(&mut object);
    metadata.remove("resourceVersion");
    if let Some(namespace) = &path.namespace {
        metadata.insert("namespace".into(), json!(namespace));
    }
    store.create(resource, object, dry_run)
}

/// PATCH and PUT: the main resource ignores `status`; the `status` subresource changes
/// only `status`. Both go through the store's resourceVersion check.
fn write(
    store: &mut Store,
    path: &ApiPath,
    name: &str,
    desired: Value,
    dry_run: bool,
    effects: &mut Vec<Effect>,
) -> Result<Value, ApiError> {
    let resource = path.resource;
    check_identity(resource, path, Some(name), &desired)?;
    let current = get(store, path, name)?.clone();
    let desired = if path.subresource.as_deref() == Some("status") {
        let mut merged = current.clone();
        merged["status"] = desired.get("status").cloned().unwrap_or(Value::Null);
        let metadata = meta_mut(&mut merged);
        match desired.pointer("/metadata/resourceVersion") {
            Some(rv) => metadata.insert("resourceVersion".into(), rv.clone()),
            None => metadata.remove("resourceVersion"),
        };
        merged
    } else {
        let mut desired = desired;
        match current.get("status") {
            Some(status) => desired["status"] = status.clone(),
            None => {
                if let Some(object) = desired.as_object_mut() {
                    object.remove("status");
                }
            }
        }
        desired
    };
    let written = store.update(resource, path.namespace.as_deref(), name, desired, dry_run)?;
    let generation = |o: &Value| o.pointer("/metadata/generation").cloned();
    if !dry_run
        && std::ptr::eq(resource, &DEPLOYMENTS)
        && generation(&written) != generation(&current)
    {
        effects.push(Effect::DeploymentChanged {
            namespace: path.namespace.clone().unwrap_or_default(),
            name: name.to_owned(),
        });
    }
    Ok(written)
}

/// Reads DeleteOptions from a body that may be empty; `dryRun: ["All"]` there counts too.
pub(crate) fn delete_options(body: &[u8]) -> Result<(Value, bool), ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok((json!({}), false));
    }
    let options: Value = serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_request(format!("error decoding DeleteOptions: {e}")))?;
    let dry_run = options
        .get("dryRun")
        .and_then(Value::as_array)
        .is_some_and(|d| d.iter().any(|v| v == "All"));
    Ok((options, dry_run))
}

/// Honours `preconditions.uid` and `preconditions.resourceVersion` of DeleteOptions.
pub(crate) fn check_preconditions(
    resource: &ResourceType,
    name: &str,
    object: &Value,
    options: &Value,
) -> Result<(), ApiError> {
    for (field, label) in [("uid", "UID"), ("resourceVersion", "ResourceVersion")] {
        if let Some(wanted) = options
            .pointer(&format!("/preconditions/{field}"))
            .and_then(Value::as_str)
        {
            let actual = meta(object, field).unwrap_or_default();
            if wanted != actual {
                return Err(ApiError::conflict(
                    resource,
                    name,
                    &format!(
                        "Precondition failed: {label} in precondition: {wanted}, {label} in object meta: {actual}"
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// Removes an object (a dry run only checks). Pods are answered with the object, marked
/// as deleting, as the pod registry does; other kinds with a success `Status`.
///
/// A pod on a node whose kubelet is gone is not removed: a graceful delete only marks it
/// Terminating (`deletionTimestamp` at the end of its grace period), as kube-apiserver
/// does while it waits for a kubelet that never confirms. A force delete (grace 0) removes
/// it; so does deleting its node (the pod garbage collector's part), or reviving the
/// kubelet. A node's deletion removes every pod bound to it.
pub(crate) fn remove_object(
    store: &mut Store,
    resource: &'static ResourceType,
    namespace: Option<&str>,
    name: &str,
    options: &Value,
    dry_run: bool,
    effects: &mut Vec<Effect>,
) -> Result<Value, ApiError> {
    let mut object = store
        .get(resource, namespace, name)
        .cloned()
        .ok_or_else(|| ApiError::not_found(resource, name))?;
    check_preconditions(resource, name, &object, options)?;
    let is_pod = std::ptr::eq(resource, &PODS);
    if !is_pod {
        if !dry_run {
            store.remove(resource, namespace, name);
            if std::ptr::eq(resource, &NODES) {
                finish_pods_of_node(store, name, false, effects);
            }
            if std::ptr::eq(resource, &NODECLAIMS) {
                effects.push(Effect::NodeClaimRemoved(object.clone()));
            }
        }
        let mut details =
            json!({ "name": name, "kind": resource.plural, "uid": meta(&object, "uid") });
        if !resource.group.is_empty() {
            details["group"] = json!(resource.group);
        }
        return Ok(
            json!({ "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "details": details }),
        );
    }
    let grace = options
        .get("gracePeriodSeconds")
        .and_then(Value::as_i64)
        .or_else(|| {
            object
                .pointer("/spec/terminationGracePeriodSeconds")
                .and_then(Value::as_i64)
        })
        .unwrap_or(30)
        .max(0);
    let node = object
        .pointer("/spec/nodeName")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let stays = store.kubelet_dead(node) && grace > 0;
    if stays && object.pointer("/metadata/deletionTimestamp").is_some() {
        // Already Terminating: a second graceful delete changes nothing.
        return Ok(object);
    }
    let metadata = meta_mut(&mut object);
    metadata.insert("deletionTimestamp".into(), json!(seconds_from_now(grace)));
    metadata.insert("deletionGracePeriodSeconds".into(), json!(grace));
    if dry_run {
        return Ok(object);
    }
    if stays {
        let marked = store.update(&PODS, namespace, name, object, false)?;
        // The ReplicaSet controller replaces a Terminating pod at once.
        effects.push(Effect::PodRemoved(marked.clone()));
        return Ok(marked);
    }
    if let Some(removed) = store.remove(&PODS, namespace, name) {
        effects.push(Effect::PodRemoved(removed));
    }
    Ok(object)
}

/// Removes every pod bound to `node` (gone or back), as the pod garbage collector and a
/// returning kubelet do. With `terminating_only`, only pods already Terminating.
pub(crate) fn finish_pods_of_node(
    store: &mut Store,
    node: &str,
    terminating_only: bool,
    effects: &mut Vec<Effect>,
) {
    let bound: Vec<(Option<String>, String)> = store
        .list(&PODS, None)
        .filter(|p| p.pointer("/spec/nodeName").and_then(Value::as_str) == Some(node))
        .filter(|p| !terminating_only || p.pointer("/metadata/deletionTimestamp").is_some())
        .filter_map(|p| {
            Some((
                meta(p, "namespace").map(str::to_owned),
                meta(p, "name")?.to_owned(),
            ))
        })
        .collect();
    for (namespace, name) in bound {
        if let Some(removed) = store.remove(&PODS, namespace.as_deref(), &name) {
            effects.push(Effect::PodRemoved(removed));
        }
    }
}

fn delete(
    store: &mut Store,
    path: &ApiPath,
    name: &str,
    body: &[u8],
    dry_run: bool,
    effects: &mut Vec<Effect>,
) -> Result<(u16, Value), ApiError> {
    let (options, body_dry_run) = delete_options(body)?;
    let removed = remove_object(
        store,
        path.resource,
        path.namespace.as_deref(),
        name,
        &options,
        dry_run || body_dry_run,
        effects,
    )?;
    Ok((200, removed))
}
