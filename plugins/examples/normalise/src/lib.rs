//! Example (`transform_object`), the WASM twin of
//! `scripts/examples/normalise_and_skip_retired.rhai`: an object whose label contains the
//! marker (`retired_marker` in `[hooks.settings]`, default `(retired)`) is not restored; every
//! text value is trimmed and its runs of spaces collapsed to one. An object with nothing to
//! change gets the default behaviour, so the plan and the log show only real changes.

use assetark_sdk::model::ObjectEntry;
use assetark_sdk::{Decision, Input, PluginError, Request, Response};
use serde::Deserialize;

assetark_sdk::plugin! {
    name: "example-normalise",
    points: [TransformObject],
    capabilities: [],
    handler: handle,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Settings {
    #[serde(default = "retired")]
    retired_marker: String,
}

fn retired() -> String {
    "(retired)".to_owned()
}

/// The hook.
///
/// # Errors
/// When the settings do not parse.
pub fn handle(req: &Request) -> Result<Response, PluginError> {
    let settings: Settings = req.settings()?;
    let Input::TransformObject { object, .. } = &req.input else {
        return Ok(Response::default_behaviour());
    };
    let marker = settings.retired_marker.as_str();
    if object.label.as_deref().is_some_and(|l| l.contains(marker)) {
        return Ok(Response::decide(Decision::Skip(format!(
            "retired: label contains {marker}"
        ))));
    }
    let mut changed = 0usize;
    let mut new: ObjectEntry = object.clone();
    for value in new
        .attributes
        .iter_mut()
        .flat_map(|a| a.object_attribute_values.iter_mut())
    {
        if let Some(serde_json::Value::String(text)) = &mut value.value {
            let normal = normalise(text);
            if normal != *text {
                *text = normal;
                changed += 1;
            }
        }
    }
    if changed == 0 {
        return Ok(Response::default_behaviour());
    }
    Ok(Response::decide(Decision::Object(Box::new(new)))
        .with_note(format!("{changed} text value(s) normalised")))
}

/// Trimmed, with runs of spaces collapsed to one.
fn normalise(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for word in text.trim().split(' ').filter(|w| !w.is_empty()) {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use assetark_sdk::testing;

    fn request(label: &str, text: &str) -> String {
        format!(
            r#"{{"abi":1,"point":"transform_object","hook":"n","settings":{{}},"context":{{}},
            "input":{{"object_type":{{"id":"1","name":"Laptop"}},
              "object":{{"id":"7","objectKey":"LAP-7","label":"{label}","attributes":[
                {{"objectTypeAttributeId":"5","objectAttributeValues":[{{"value":"{text}"}}]}},
                {{"objectTypeAttributeId":"6","objectAttributeValues":[{{"value":12}}]}}]}}}}}}"#
        )
    }

    #[test]
    fn retired_objects_are_skipped() {
        let out = testing::run(handle, &request("Old (retired)", "x"));
        assert_eq!(out["decision"]["skip"], "retired: label contains (retired)");
    }

    #[test]
    fn text_values_are_normalised_and_the_rest_kept() {
        let out = testing::run(handle, &request("Laptop", "  a   b "));
        let attrs = &out["decision"]["object"]["attributes"];
        assert_eq!(attrs[0]["objectAttributeValues"][0]["value"], "a b");
        assert_eq!(attrs[1]["objectAttributeValues"][0]["value"], 12);
        assert_eq!(out["note"], "1 text value(s) normalised");
        let out = testing::run(handle, &request("Laptop", "a b"));
        assert_eq!(out["decision"], serde_json::Value::Null);
    }
}
