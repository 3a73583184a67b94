//! Stage `schema`: finds the schema by key and stores it (`GET /objectschema/{id}`) and its
//! schema-level configuration (`GET /global/config/objectschema/{id}`: "allow others to
//! select objects from this schema", quick-create flags), which is not part of the schema.

use super::{Ctx, Error, Probe, new_entry, stage};
use crate::model::{Id, Nullable};
use crate::store::kind;

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
    let schemas = probe.api(probe.api.list_schemas()).await?;
    let pick = |exact: bool| {
        schemas.iter().find(|s| {
            if exact {
                s.key() == key
            } else {
                s.key().eq_ignore_ascii_case(key)
            }
        })
    };
    let schema = pick(true)
        .or_else(|| pick(false))
        .filter(|s| !s.id.as_str().is_empty())
        .ok_or_else(|| Error::UnknownSchema {
            site: site.to_owned(),
            key: key.to_owned(),
        })?;
    Ok(Found {
        id: schema.id.as_str().to_owned(),
        object_count: schema.objects(),
    })
}

/// Stores the schema and its configuration.
pub(super) async fn run(ctx: &Ctx<'_>, found: &Found) -> Result<(), Error> {
    ctx.report(stage::SCHEMA, 0, 2);
    let id = &found.id;
    let schema = ctx.api(ctx.api.get_schema(id)).await?;
    let mut config = ctx.api(ctx.api.get_schema_config(id)).await?;
    if let Some(c) = &mut config {
        // Keep which schema it belongs to: the API body does not say.
        c.object_schema_id = Nullable::Value(Id::new(id.as_str()));
    }
    ctx.put(vec![
        new_entry(kind::SCHEMA, id, &schema)?,
        new_entry(kind::CONFIG, id, &config)?,
    ])
    .await?;
    ctx.report(stage::SCHEMA, 2, 2);
    Ok(())
}
