//! Data Center's object comments and attachments (reference §11): `GET /comment/object/{id}`,
//! `POST /comment/create`, `GET|POST /attachments/object/{id}` (multipart upload, with the XSRF
//! header Jira requires), `GET|DELETE /attachments/{id}` (download, delete). Cloud has none of
//! these; they are mounted under the Data Center prefix only.

use std::sync::Arc;

use axum::extract::{Multipart, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use bytes::Bytes;
use serde_json::{Value, json};

use super::assets_schemas::{created, ok};
use super::extract::{AttachmentId, ObjectId};
use super::{App, Fields, JsonBody, Params, Site};
use crate::clock::iso;
use crate::error::{ApiError, ApiResult};
use crate::model::{Attachment, Comment};
use crate::render::Ctx;
use crate::ws::extras::{NewAttachment, check_filename};

pub fn routes() -> Router<Arc<App>> {
    Router::new()
        .route("/comment/object/{id}", get(comments))
        .route("/comment/create", post(create_comment))
        .route("/attachments/object/{id}", get(attachments).post(upload))
        .route("/attachments/{id}", get(download).delete(delete))
}

/// Comment text as Jira renders it: HTML-escaped.
fn rendered(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            c => out.push(c),
        }
    }
    out
}

fn comment_json(ctx: &Ctx, c: &Comment) -> Value {
    let actor = ctx
        .ws
        .users
        .get(c.actor as usize)
        .map(|u| ctx.user(u))
        .unwrap_or(Value::Null);
    json!({
        "id": c.id, "objectId": c.object_id, "actor": actor, "role": c.role,
        "comment": c.text, "commentOutput": rendered(&c.text),
        "created": iso(c.created), "updated": iso(c.updated), "canEdit": true, "canDelete": true,
    })
}

/// "490 B", "1.5 kB", "2.0 MB", as Jira shows sizes.
fn filesize(n: usize) -> String {
    const K: f64 = 1024.0;
    match n as f64 {
        b if b < K => format!("{n} B"),
        b if b < K * K => format!("{:.1} kB", b / K),
        b => format!("{:.1} MB", b / (K * K)),
    }
}

/// An attachment; `author` is the user key of who attached it.
fn attachment_json(site: &Site, ctx: &Ctx, a: &Attachment) -> Value {
    let author = ctx
        .ws
        .users
        .get(a.author as usize)
        .map(|u| u.account_id.clone())
        .unwrap_or_default();
    json!({
        "id": a.id, "author": author, "mimeType": a.mime_type, "filename": a.filename,
        "filesize": filesize(a.bytes.len()), "created": iso(a.created), "comment": a.comment,
        "commentOutput": rendered(&a.comment), "url": format!("{}/attachments/{}", site.api_base, a.id),
    })
}

async fn comments(
    Extension(site): Extension<Arc<Site>>,
    ObjectId(id): ObjectId,
    p: Params,
) -> ApiResult<Response> {
    let asc = p.bool("asc", true)?;
    let ws = site.data.read();
    let ctx = site.ctx(&ws);
    let mut out: Vec<Value> = ws
        .object_comments(id)?
        .iter()
        .map(|c| comment_json(&ctx, c))
        .collect();
    if !asc {
        out.reverse();
    }
    ok(Value::Array(out))
}

async fn create_comment(
    State(app): State<Arc<App>>,
    Extension(site): Extension<Arc<Site>>,
    JsonBody(b): JsonBody,
) -> ApiResult<Response> {
    let object_id = b.required_id("objectId")?;
    let text = b.required_string("comment")?;
    let role = b.int("role")?.unwrap_or(0);
    let mut ws = site.data.write();
    let actor = ws.actor;
    let id = ws.add_comment(object_id, &text, role, actor, app.clock.now())?;
    let ctx = site.ctx(&ws);
    let c = ws.object_comments(object_id)?.iter().find(|c| c.id == id);
    created(c.map(|c| comment_json(&ctx, c)).unwrap_or(Value::Null))
}

async fn attachments(
    Extension(site): Extension<Arc<Site>>,
    ObjectId(id): ObjectId,
) -> ApiResult<Response> {
    let ws = site.data.read();
    let ctx = site.ctx(&ws);
    let out = ws
        .object_attachments(id)?
        .iter()
        .map(|a| attachment_json(&site, &ctx, a))
        .collect();
    ok(Value::Array(out))
}

/// `POST /attachments/object/{id}`: every `file` part becomes an attachment (with the optional
/// `comment` part); answers the new attachments, whose `created` is `{seconds, nanos}` as the
/// upload resource spells it.
async fn upload(
    State(app): State<Arc<App>>,
    Extension(site): Extension<Arc<Site>>,
    ObjectId(id): ObjectId,
    headers: HeaderMap,
    multipart: Result<Multipart, axum::extract::multipart::MultipartRejection>,
) -> ApiResult<Response> {
    let xsrf = headers
        .get("X-Atlassian-Token")
        .and_then(|v| v.to_str().ok());
    if !xsrf.is_some_and(|v| v.eq_ignore_ascii_case("no-check")) {
        return Err(ApiError::status(
            StatusCode::FORBIDDEN,
            "XSRF check failed: send the header X-Atlassian-Token: no-check",
        ));
    }
    let mut multipart = multipart.map_err(|e| {
        ApiError::bad_request(format!("The request must be multipart/form-data: {e}"))
    })?;
    let bad = |e: axum::extract::multipart::MultipartError| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::status(
                StatusCode::PAYLOAD_TOO_LARGE,
                "The request body is too large",
            )
        } else {
            ApiError::bad_request(format!("The multipart body could not be read: {e}"))
        }
    };
    let mut files: Vec<(String, String, Bytes)> = Vec::new();
    let mut comment = String::new();
    while let Some(field) = multipart.next_field().await.map_err(bad)? {
        match field.name() {
            Some("file") => {
                let name = field.file_name().unwrap_or("").to_string();
                let mime = field
                    .content_type()
                    .unwrap_or("application/octet-stream")
                    .to_string();
                files.push((name, mime, field.bytes().await.map_err(bad)?));
            }
            Some("comment") => comment = field.text().await.map_err(bad)?,
            _ => {}
        }
    }
    if files.is_empty() {
        return Err(ApiError::field(
            "file",
            "No file was sent (multipart field `file`)",
        ));
    }
    // Every file is checked before any is attached: a bad request changes nothing.
    for (name, _, _) in &files {
        check_filename(name)?;
    }
    let now = app.clock.now();
    let mut ws = site.data.write();
    ws.object(id)?;
    let author = ws.actor;
    let mut ids = Vec::new();
    for (filename, mime_type, bytes) in files {
        let new = NewAttachment {
            filename,
            mime_type,
            bytes,
            comment: comment.clone(),
        };
        ids.push(ws.add_attachment(id, new, author, now)?);
    }
    let ctx = site.ctx(&ws);
    let out: Vec<Value> = ws
        .object_attachments(id)?
        .iter()
        .filter(|a| ids.contains(&a.id))
        .map(|a| {
            let mut v = attachment_json(&site, &ctx, a);
            v["created"] =
                json!({"seconds": a.created / 1000, "nanos": (a.created % 1000) * 1_000_000});
            v
        })
        .collect();
    ok(Value::Array(out))
}

async fn download(
    Extension(site): Extension<Arc<Site>>,
    AttachmentId(id): AttachmentId,
) -> ApiResult<Response> {
    let ws = site.data.read();
    let a = ws.attachment(id)?;
    let mut resp = a.bytes.clone().into_response();
    let h = resp.headers_mut();
    let mime = HeaderValue::from_str(&a.mime_type)
        .unwrap_or(HeaderValue::from_static("application/octet-stream"));
    h.insert(header::CONTENT_TYPE, mime);
    let safe: String = a
        .filename
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{safe}\"")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(resp)
}

async fn delete(
    Extension(site): Extension<Arc<Site>>,
    AttachmentId(id): AttachmentId,
) -> ApiResult<Response> {
    let mut ws = site.data.write();
    let a = ws.delete_attachment(id)?;
    let ctx = site.ctx(&ws);
    ok(attachment_json(&site, &ctx, &a))
}
