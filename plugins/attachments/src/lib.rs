//! attachments (`after_object_restored`): carries an object's attachments from the restore's
//! source site to the object just created on the target, through the `attachments`
//! capability. A site whose API offers no attachments (Assets Cloud) is reported plainly in
//! the note, and the restore goes on: that is a fact about the site, not a failure.

use assetark_sdk::attachments::{self, Error, ErrorKind, Site};
use assetark_sdk::{Input, PluginError, Request, Response};

assetark_sdk::plugin! {
    name: "attachments",
    points: [AfterObjectRestored],
    capabilities: [Attachments],
    handler: handle,
}

/// The hook.
///
/// # Errors
/// When a site answers with a real error (`on_error` decides what follows).
pub fn handle(req: &Request) -> Result<Response, PluginError> {
    let Input::AfterObjectRestored { old, new, .. } = &req.input else {
        return Ok(Response::default_behaviour());
    };
    let key = old.object_key.clone().unwrap_or_else(|| old.id.to_string());
    let site_name = |site: Site| {
        let name = match site {
            Site::Source => req.context.source_site.as_deref(),
            Site::Target => req.context.target_site.as_deref(),
        };
        format!("{:?} site '{}'", site, name.unwrap_or("?")).to_lowercase()
    };
    let not_offered = |site: Site, e: &Error| {
        Response::default_behaviour().with_note(format!(
            "attachments of {key} not carried: the {} offers no attachments ({})",
            site_name(site),
            e.message
        ))
    };
    let found = match attachments::list(Site::Source, &old.id.to_string()) {
        Ok(found) => found,
        Err(e) if e.kind == ErrorKind::NotOffered => return Ok(not_offered(Site::Source, &e)),
        Err(e) => {
            return Err(PluginError::new(format!(
                "listing attachments of {key}: {e}"
            )));
        }
    };
    if found.is_empty() {
        return Ok(Response::default_behaviour());
    }
    if req.context.dry_run {
        return Ok(Response::default_behaviour()
            .with_note(format!("{key}: would carry {} attachment(s)", found.len())));
    }
    let target_id = new.id.to_string();
    let mut carried = 0usize;
    for a in &found {
        let content = attachments::fetch(Site::Source, &a.id)
            .map_err(|e| PluginError::new(format!("fetching {} of {key}: {e}", a.filename)))?;
        match attachments::upload(Site::Target, &target_id, a, &content) {
            Ok(_) => carried += 1,
            Err(e) if e.kind == ErrorKind::NotOffered => {
                return Ok(not_offered(Site::Target, &e));
            }
            Err(e) => {
                return Err(PluginError::new(format!(
                    "uploading {} of {key}: {e}",
                    a.filename
                )));
            }
        }
    }
    Ok(Response::default_behaviour().with_note(format!("{key}: {carried} attachment(s) carried")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use assetark_sdk::attachments::{Attachment, Reply, Request as Call};
    use assetark_sdk::testing;

    const REQUEST: &str = r#"{"abi":1,"point":"after_object_restored","hook":"att",
        "context":{"source_site":"dc","target_site":"cloud","dry_run":false},
        "input":{"object_type":{"id":"1","name":"Laptop"},
          "old":{"id":"41","objectKey":"IT-41","attributes":[]},
          "new":{"id":"900","objectKey":"NEW-900"}}}"#;

    #[test]
    fn a_site_without_attachments_is_reported_plainly() {
        testing::set_attachments_host(|req| match req {
            Call::List { .. } => Reply::List(vec![Attachment {
                id: "5".into(),
                filename: "a.txt".into(),
                mime_type: None,
                size_bytes: None,
                comment: None,
                extra: Default::default(),
            }]),
            Call::Fetch { .. } => Reply::Fetch {
                content_base64: "aGk=".into(),
            },
            Call::Upload { .. } => Reply::Error(Error {
                kind: ErrorKind::NotOffered,
                message: "Assets Cloud has no attachments API".into(),
            }),
        });
        let out = testing::run(handle, REQUEST);
        assert_eq!(out["decision"], serde_json::Value::Null);
        let note = out["note"].as_str().unwrap();
        assert!(
            note.contains("target site 'cloud' offers no attachments"),
            "{note}"
        );
    }

    #[test]
    fn attachments_are_carried_to_the_new_object() {
        testing::set_attachments_host(|req| match req {
            Call::List { object_id, .. } => {
                assert_eq!(object_id, "41");
                Reply::List(vec![Attachment {
                    id: "5".into(),
                    filename: "a.txt".into(),
                    mime_type: Some("text/plain".into()),
                    size_bytes: Some(2),
                    comment: None,
                    extra: Default::default(),
                }])
            }
            Call::Fetch { .. } => Reply::Fetch {
                content_base64: "aGk=".into(),
            },
            Call::Upload {
                object_id,
                content_base64,
                filename,
                ..
            } => {
                assert_eq!(
                    (object_id.as_str(), content_base64.as_str()),
                    ("900", "aGk=")
                );
                Reply::Upload(Attachment {
                    id: "77".into(),
                    filename,
                    mime_type: None,
                    size_bytes: None,
                    comment: None,
                    extra: Default::default(),
                })
            }
        });
        let out = testing::run(handle, REQUEST);
        assert_eq!(out["note"], "IT-41: 1 attachment(s) carried");
    }
}
