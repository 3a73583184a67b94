//! text-to-textarea (`transform_attribute`): a Text attribute whose longest value in the
//! backup exceeds the target's Text limit (255 characters) becomes Textarea on the target, so
//! its objects restore whole instead of failing with the API's 255-character message.
//!
//! Settings (all optional): `max_text_length = 255`.

use assetark_sdk::model::{DefaultType, TEXT, TEXTAREA};
use assetark_sdk::{Decision, Input, PluginError, Request, Response};
use serde::Deserialize;

assetark_sdk::plugin! {
    name: "text-to-textarea",
    points: [TransformAttribute],
    capabilities: [],
    handler: handle,
}

/// The target's longest Text value, in characters.
const TEXT_LIMIT: u64 = 255;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Settings {
    #[serde(default = "default_limit")]
    max_text_length: u64,
}

fn default_limit() -> u64 {
    TEXT_LIMIT
}

/// The hook.
///
/// # Errors
/// When the settings do not parse.
pub fn handle(req: &Request) -> Result<Response, PluginError> {
    let settings: Settings = req.settings()?;
    let Input::TransformAttribute {
        object_type,
        attribute,
        stats,
    } = &req.input
    else {
        return Ok(Response::default_behaviour());
    };
    if !attribute.is_default_type(TEXT) || stats.longest_text <= settings.max_text_length {
        return Ok(Response::default_behaviour());
    }
    let mut changed = attribute.clone();
    changed.default_type = Some(DefaultType {
        id: TEXTAREA,
        name: "Textarea".to_owned(),
    });
    let note = format!(
        "{}.{}: Text -> Textarea (longest value {} characters > {})",
        object_type.name,
        attribute.name.as_deref().unwrap_or("?"),
        stats.longest_text,
        settings.max_text_length
    );
    Ok(Response::decide(Decision::Attribute(Box::new(changed))).with_note(note))
}

#[cfg(test)]
mod tests {
    use super::*;
    use assetark_sdk::testing;

    fn request(default_type: i64, longest: u64, settings: &str) -> String {
        format!(
            r#"{{"abi":1,"point":"transform_attribute","hook":"t2t","settings":{settings},
            "context":{{"restore_id":1,"target_site":"cloud","dry_run":false}},
            "input":{{"object_type":{{"id":"12","name":"Laptop"}},
              "attribute":{{"id":"7","name":"Notes","type":0,
                "defaultType":{{"id":{default_type},"name":"x"}},"editable":true,"position":4}},
              "stats":{{"count":10,"longest_text":{longest},"distinct":3}}}}}}"#
        )
    }

    #[test]
    fn long_text_becomes_textarea_keeping_every_other_field() {
        let out = testing::run(handle, &request(0, 1204, "{}"));
        let attr = &out["decision"]["attribute"];
        assert_eq!(attr["defaultType"]["id"], 9);
        assert_eq!(attr["defaultType"]["name"], "Textarea");
        assert_eq!(attr["editable"], true);
        assert_eq!(attr["position"], 4);
        assert_eq!(attr["id"], "7");
        assert!(out["note"].as_str().unwrap().contains("Laptop.Notes"));
    }

    #[test]
    fn short_text_and_other_types_keep_the_default() {
        assert_eq!(
            testing::run(handle, &request(0, 255, "{}"))["decision"],
            serde_json::Value::Null
        );
        assert_eq!(
            testing::run(handle, &request(1, 9999, "{}"))["decision"],
            serde_json::Value::Null
        );
    }

    #[test]
    fn the_limit_is_a_setting_and_bad_settings_are_an_error() {
        let out = testing::run(handle, &request(0, 200, r#"{"max_text_length":100}"#));
        assert_eq!(out["decision"]["attribute"]["defaultType"]["id"], 9);
        let out = testing::run(handle, &request(0, 200, r#"{"max_len":100}"#));
        assert!(out["error"].as_str().unwrap().contains("max_len"));
    }
}
