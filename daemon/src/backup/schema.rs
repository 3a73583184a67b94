//! Stage `schema`: finds the schema by key and stores it (`GET /objectschema/{id}`) and its
//! schema-level configuration (`GET /global/config/objectschema/{id}`: "allow others to
//! select objects from this schema", quick-create flags), which is not part of the schema.

use serde_json::Value;

use super::{Ctx, Error, Probe, id_of, stage};
use crate::store::{NewEntry, kind};

/// The schema found by key in the site's list.
pub(super) struct Found {
    /// Schema id.
    pub id: String,
    /// Objects in the schema per the list (`includeCounts=true`): the progress estimate.
    pub object_count: u64,
}

/// Looks the schema up by key (exact match first, then case-insensitive, as keys are
/// uppercase on the site but users type them as they like).
pub(super) async fn find(probe: &Probe<'_>, site: &str, key: &str) -> Result<Found, Error> {
    let schemas = probe.api(probe.client.list_schemas()).await?;
    let pick = |exact: bool| {
        schemas.iter().find(|s| {
            let k = s["objectSchemaKey"].as_str().unwrap_or("");
            if exact {
                k == key
            } else {
                k.eq_ignore_ascii_case(key)
            }
        })
    };
    let schema = pick(true)
        .or_else(|| pick(false))
        .ok_or_else(|| Error::UnknownSchema {
            site: site.to_owned(),
            key: key.to_owned(),
        })?;
    Ok(Found {
        id: id_of(schema).ok_or_else(|| Error::UnknownSchema {
            site: site.to_owned(),
            key: key.to_owned(),
        })?,
        object_count: schema["objectCount"].as_u64().unwrap_or(0),
    })
}

/// Stores the schema and its configuration.
pub(super) async fn run(ctx: &Ctx<'_>, found: &Found) -> Result<(), Error> {
    ctx.report(stage::SCHEMA, 0, 2);
    let id = &found.id;
    let schema = ctx
        .api(ctx.client.get(&format!("/objectschema/{id}")))
        .await?;
    let config = ctx
        .api(ctx.client.get(&format!("/global/config/objectschema/{id}")))
        .await?;
    let config = match config {
        // Keep which schema it belongs to: the API body does not say.
        Value::Object(mut m) => {
            m.insert("objectSchemaId".into(), Value::String(id.clone()));
            Value::Object(m)
        }
        other => other,
    };
    ctx.put(vec![
        NewEntry {
            kind: kind::SCHEMA.into(),
            original_id: id.clone(),
            value: schema,
        },
        NewEntry {
            kind: kind::CONFIG.into(),
            original_id: id.clone(),
            value: config,
        },
    ])
    .await?;
    ctx.report(stage::SCHEMA, 2, 2);
    Ok(())
}
