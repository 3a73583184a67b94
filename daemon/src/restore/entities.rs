//! Creating a named entity (schema, status type, reference type, object type, attribute)
//! exactly once. Creates are not idempotent, so they go through `post_once`; when the client
//! reports [`assets::Error::Ambiguous`] (the request may or may not have been applied), the
//! entity is looked up on the target by its name (or, for a schema, its key) before the create
//! is tried again. Names are unique where these entities live, which makes the lookup exact.

use serde_json::Value;

use super::source::sid;
use crate::assets::{self, AssetsClient};

/// Tries of one create that keep coming back ambiguous before giving up.
const AMBIGUOUS_TRIES: u32 = 8;

/// How to find an entity on the target.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Finder<'b> {
    /// In the JSON array at `list`, the element whose `name` equals `name` (ignoring case and
    /// surrounding spaces, as Assets does for uniqueness).
    Named { list: &'b str, name: &'b str },
    /// The schema with this key *and* this name (a schema that merely shares the key is
    /// somebody else's).
    Schema { key: &'b str, name: &'b str },
}

/// Whether two names are the same to Assets.
pub(crate) fn same_name(a: &str, b: &str) -> bool {
    a.trim().eq_ignore_ascii_case(b.trim())
}

/// The id of the element of `list` named `name`.
pub(crate) fn id_by_name(list: &[Value], name: &str) -> Option<String> {
    list.iter()
        .find(|v| v["name"].as_str().is_some_and(|n| same_name(n, name)))
        .and_then(|v| sid(&v["id"]))
}

/// GETs a JSON array.
pub(crate) async fn get_list(
    client: &AssetsClient,
    path: &str,
) -> Result<Vec<Value>, assets::Error> {
    match client.get(path).await? {
        Value::Array(a) => Ok(a),
        _ => Err(assets::Error::Decode {
            method: "GET".into(),
            path: path.to_owned(),
            what: "a JSON array",
            source: None,
        }),
    }
}

impl Finder<'_> {
    /// Looks the entity up on the target.
    pub async fn find(&self, client: &AssetsClient) -> Result<Option<String>, assets::Error> {
        match *self {
            Finder::Named { list, name } => Ok(id_by_name(&get_list(client, list).await?, name)),
            Finder::Schema { key, name } => Ok(client
                .list_schemas()
                .await?
                .iter()
                .find(|s| {
                    s["objectSchemaKey"].as_str() == Some(key)
                        && s["name"].as_str().is_some_and(|n| same_name(n, name))
                })
                .and_then(|s| sid(&s["id"]))),
        }
    }
}

/// What [`create_or_find`] ended with.
#[derive(Debug)]
pub(crate) enum Created {
    /// Created now; the API's response.
    New(Value),
    /// An ambiguous create had been applied after all; its id.
    Found(String),
}

impl Created {
    /// The new entity's id.
    pub fn id(&self, path: &str) -> Result<String, assets::Error> {
        match self {
            Created::New(v) => sid(&v["id"]).ok_or_else(|| assets::Error::Decode {
                method: "POST".into(),
                path: path.to_owned(),
                what: "an entity with an `id`",
                source: None,
            }),
            Created::Found(id) => Ok(id.clone()),
        }
    }
}

/// POSTs `body` to `path` once; an ambiguous outcome is resolved with `finder` before trying
/// again. Other errors (a 4xx with the API's body, exhausted retries) are returned as they are.
pub(crate) async fn create_or_find(
    client: &AssetsClient,
    path: &str,
    body: &Value,
    finder: Finder<'_>,
) -> Result<Created, assets::Error> {
    let mut tries = 0;
    loop {
        match client.post_once(path, body).await {
            Ok(v) => return Ok(Created::New(v)),
            Err(e @ assets::Error::Ambiguous { .. }) => {
                tracing::debug!(path, error = %e, "Create was ambiguous; looking it up.");
                if let Some(id) = finder.find(client).await? {
                    return Ok(Created::Found(id));
                }
                tries += 1;
                if tries >= AMBIGUOUS_TRIES {
                    return Err(e);
                }
            }
            Err(e) => return Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn names_match_like_assets_uniqueness() {
        let list = vec![
            json!({"id": "1", "name": "Active"}),
            json!({"id": 2, "name": " In Repair "}),
        ];
        assert_eq!(id_by_name(&list, "active").as_deref(), Some("1"));
        assert_eq!(id_by_name(&list, "in repair").as_deref(), Some("2"));
        assert_eq!(id_by_name(&list, "Closed"), None);
    }
}
