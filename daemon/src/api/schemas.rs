//! `/v1/sites/{site}/schemas`: the "synced schemas" of a site — the schema list fetched from
//! the site by the last sync, kept in the store, each with its last backup. With `?live=true`
//! the list is read from the site now (and not stored): the schemas a restore into an
//! existing schema can choose from.

use axum::extract::State;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use time::OffsetDateTime;

use super::ApiState;
use super::error::{ApiError, ApiPath, ApiQuery, ApiResult};
use super::sites::{site, upstream};
use super::wire::{LastBackup, SchemaList, SchemaView};
use crate::model::ObjectSchema;
use crate::store::{BackupFilter, PageRequest, SyncedSchema};

pub(super) fn router() -> Router<ApiState> {
    Router::new()
        .route("/v1/sites/{site}/schemas", get(list))
        .route("/v1/sites/{site}/schemas/sync", post(sync))
}

/// `GET /v1/sites/{site}/schemas` query.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ListQuery {
    live: Option<String>,
}

#[utoipa::path(get, path = "/v1/sites/{site}/schemas", tag = "schemas", params(("site" = String, Path, description = "Site name"), ("live" = Option<bool>, Query, description = "Read the list from the site now (not stored)")), responses((status = 200, body = crate::api::wire::SchemaList), crate::api::openapi::ApiErrors))]
pub(super) async fn list(
    State(state): State<ApiState>,
    ApiPath(name): ApiPath<String>,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> ApiResult<Json<SchemaList>> {
    let site = site(&state, &name)?;
    let live = match q.live.as_deref() {
        None | Some("" | "false") => false,
        Some("true") => true,
        Some(other) => {
            return Err(ApiError::bad_request(
                "invalid_query",
                format!("live: {other:?} is not true or false"),
            ));
        }
    };
    if !live {
        return Ok(Json(schema_list(&state, &name, None).await?));
    }
    let found = site
        .client()
        .list_schemas()
        .await
        .map_err(|e| upstream(&name, &e))?;
    let now = state.clock.now();
    let schemas = found
        .iter()
        .filter_map(|v| synced_schema(&name, v, now))
        .collect();
    Ok(Json(schema_list(&state, &name, Some(schemas)).await?))
}

#[utoipa::path(post, path = "/v1/sites/{site}/schemas/sync", tag = "schemas", params(("site" = String, Path, description = "Site name")), responses((status = 200, description = "The schemas found, stored", body = crate::api::wire::SchemaList), crate::api::openapi::ApiErrors))]
#[tracing::instrument(skip_all, err(level = "warn"), fields(site = %name))]
pub(super) async fn sync(
    State(state): State<ApiState>,
    ApiPath(name): ApiPath<String>,
) -> ApiResult<Json<SchemaList>> {
    let site = site(&state, &name)?;
    let found = site
        .client()
        .list_schemas()
        .await
        .map_err(|e| upstream(&name, &e))?;
    let now = state.clock.now();
    let schemas: Vec<SyncedSchema> = found
        .iter()
        .filter_map(|v| synced_schema(&name, v, now))
        .collect();
    if schemas.len() != found.len() {
        tracing::warn!(
            skipped = found.len() - schemas.len(),
            "Schemas without id or key were skipped."
        );
    }
    let count = schemas.len();
    state.store.replace_synced_schemas(&name, schemas).await?;
    tracing::info!(schemas = count, "Schemas synced.");
    Ok(Json(schema_list(&state, &name, None).await?))
}

/// Reads one `ObjectSchema` of the API; `None` when it lacks an id or key.
fn synced_schema(site: &str, v: &ObjectSchema, now: OffsetDateTime) -> Option<SyncedSchema> {
    // The API spells ids as strings, but numbers are taken too rather than drop a schema.
    let key = v.object_schema_key.get()?.clone();
    Some(SyncedSchema {
        site: site.to_owned(),
        schema_id: v.id.as_str().to_owned(),
        name: v.name.as_deref().unwrap_or(&key).to_owned(),
        schema_key: key,
        object_count: v.objects(),
        synced_at: now,
    })
}

/// `live` schemas (read from the site now), else the synced ones, each with its last backup.
async fn schema_list(
    state: &ApiState,
    site: &str,
    live: Option<Vec<SyncedSchema>>,
) -> ApiResult<SchemaList> {
    let site_name = site.to_owned();
    let items = state
        .store
        .run(move |s| {
            let schemas = match live {
                Some(l) => l,
                None => s.list_synced_schemas(Some(&site_name))?,
            };
            schemas
                .into_iter()
                .map(|sc| {
                    let filter = BackupFilter {
                        site: Some(site_name.clone()),
                        schema_key: Some(sc.schema_key.clone()),
                        ..BackupFilter::default()
                    };
                    let newest = s.list_backups(
                        &filter,
                        PageRequest {
                            limit: 1,
                            offset: 0,
                        },
                    )?;
                    let last_backup = newest.items.into_iter().next().map(|b| LastBackup {
                        id: b.id,
                        time: b.started_at,
                        object_count: b.object_count,
                    });
                    Ok(SchemaView {
                        id: sc.schema_id,
                        key: sc.schema_key,
                        name: sc.name,
                        object_count: sc.object_count,
                        synced_at: sc.synced_at,
                        last_backup,
                    })
                })
                .collect::<crate::store::Result<Vec<_>>>()
        })
        .await?;
    Ok(SchemaList {
        site: site.to_owned(),
        items,
    })
}
