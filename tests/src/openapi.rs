//! Response validation against Atlassian's official Assets Cloud OpenAPI 3.0 document (vendored at tests/openapi/assets-openapi.json).
//!
//! [`Spec::load`] parses the document once. [`Spec::validate`] finds the documented operation for a
//! method and a path (relative to the `/v1` workspace base), picks the response documented for the
//! status, converts its OpenAPI 3.0 schema to JSON Schema 2020-12 and validates the body with the
//! `jsonschema` crate. Compiled validators are cached per (operation, status).
//!
//! Conversion from the OpenAPI 3.0 schema dialect:
//! - `nullable: true` also admits `null` (`type` becomes `[t, "null"]`, `enum` gains `null`, or for
//!   `$ref`/composed schemas the schema is wrapped in `anyOf: [schema, {"type": "null"}]`);
//! - `example`, `examples`, `xml`, `discriminator`, `externalDocs` and `x-*` extensions are dropped;
//! - siblings of `$ref` are ignored, as OpenAPI 3.0 specifies;
//! - boolean `exclusiveMinimum`/`exclusiveMaximum` become the numeric 2020-12 keywords;
//! - `oneOf` becomes `anyOf`: the document uses `oneOf` without a discriminator over overlapping
//!   branches (`ObjectAttributeValue.value` is `oneOf: [string, string/date-time]`), which under
//!   JSON Schema semantics would reject every string;
//! - `$ref: "#/components/schemas/X"` keeps working because the response schema is validated
//!   inside a root document `{"$schema": .., "allOf": [schema], "components": {"schemas": ..}}`.
//!
//! `format` is an annotation in 2020-12 and is not asserted.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use jsonschema::Validator;
use serde_json::{Map, Value, json};

/// The vendored document, byte for byte as Atlassian publishes it.
const DOCUMENT: &str = include_str!("../openapi/assets-openapi.json");

/// HTTP methods that can key an operation in an OpenAPI path item.
const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// At most this many violations are reported for one body (the rest are counted).
const MAX_VIOLATIONS: usize = 50;

/// The parsed OpenAPI document: its operations and converted component schemas.
pub struct Spec {
    operations: Vec<Operation>,
    /// `{"schemas": {..converted..}}`, placed as `components` in every root document.
    components: Value,
    /// Compiled validators per (operation index, status); `None` = no JSON schema documented.
    cache: Mutex<HashMap<(usize, u16), CacheEntry>>,
}

type CacheEntry = Result<Option<Arc<Validator>>, String>;

/// One documented operation.
struct Operation {
    /// Upper case, e.g. `GET`.
    method: String,
    /// The path template as documented, e.g. `/object/{id}`.
    template: String,
    segments: Vec<Segment>,
    /// The `responses` object, `$ref`s to `#/components/responses/..` already resolved.
    responses: Map<String, Value>,
}

#[derive(Debug, PartialEq)]
enum Segment {
    Literal(String),
    Param,
}

impl Spec {
    /// The vendored document, parsed on first use.
    pub fn load() -> &'static Spec {
        static SPEC: OnceLock<Spec> = OnceLock::new();
        SPEC.get_or_init(|| {
            let doc: Value = serde_json::from_str(DOCUMENT)
                .expect("tests/openapi/assets-openapi.json is not valid JSON");
            Spec::from_document(&doc)
        })
    }

    fn from_document(doc: &Value) -> Spec {
        let mut operations = Vec::new();
        if let Some(paths) = doc.get("paths").and_then(Value::as_object) {
            for (template, item) in paths {
                let Some(item) = item.as_object() else {
                    continue;
                };
                for (key, op) in item {
                    if !METHODS.contains(&key.as_str()) {
                        continue; // `parameters`, `summary`, `servers`, ...
                    }
                    let mut responses = Map::new();
                    if let Some(rs) = op.get("responses").and_then(Value::as_object) {
                        for (status, r) in rs {
                            responses.insert(status.clone(), resolve_ref(doc, r).clone());
                        }
                    }
                    operations.push(Operation {
                        method: key.to_ascii_uppercase(),
                        template: template.clone(),
                        segments: template_segments(template),
                        responses,
                    });
                }
            }
        }
        let mut schemas = Map::new();
        if let Some(s) = doc
            .pointer("/components/schemas")
            .and_then(Value::as_object)
        {
            for (name, schema) in s {
                schemas.insert(name.clone(), convert_schema(schema));
            }
        }
        Spec {
            operations,
            components: json!({ "schemas": schemas }),
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// Validates a response body.
    ///
    /// `path` is the request path after the `/v1` workspace base, e.g. `/object/88` (a query
    /// string, if any, is ignored; empty segments such as the `//` some clients send are skipped).
    ///
    /// - `Ok(true)`: the body matches the schema documented for this operation and status;
    /// - `Ok(false)`: nothing to validate against: the status is not documented for the operation,
    ///   or its response documents no `application/json` schema (e.g. a 200 with an empty body);
    /// - `Err(violations)`: each entry is `<JSON pointer into the body>: <message>`; also returned
    ///   when the document has no operation for `method` and `path` at all.
    pub fn validate(
        &self,
        method: &str,
        path: &str,
        status: u16,
        body: &Value,
    ) -> Result<bool, Vec<String>> {
        let Some(index) = self.find(method, path) else {
            return Err(vec![format!(
                "{} {path}: no such operation in the OpenAPI document",
                method.to_ascii_uppercase()
            )]);
        };
        let validator = match self.validator(index, status) {
            Ok(Some(v)) => v,
            Ok(None) => return Ok(false),
            Err(e) => return Err(vec![e]),
        };
        let mut violations = Vec::new();
        let mut extra = 0usize;
        for error in validator.iter_errors(body) {
            if violations.len() == MAX_VIOLATIONS {
                extra += 1;
                continue;
            }
            let pointer = error.instance_path.to_string();
            let pointer = if pointer.is_empty() {
                "(root)".to_string()
            } else {
                pointer
            };
            violations.push(format!("{pointer}: {error}"));
        }
        if violations.is_empty() {
            return Ok(true);
        }
        if extra > 0 {
            violations.push(format!("... and {extra} more violation(s)"));
        }
        let op = &self.operations[index];
        violations.insert(
            0,
            format!(
                "{} {} -> {status}: body does not match the documented schema",
                op.method, op.template
            ),
        );
        Err(violations)
    }

    /// The documented operations as (upper-case method, path template), in document order,
    /// e.g. `("GET", "/object/{id}")`.
    pub fn operations(&self) -> Vec<(String, String)> {
        self.operations
            .iter()
            .map(|op| (op.method.clone(), op.template.clone()))
            .collect()
    }

    /// The path template of the documented operation that `method` and `path` resolve to, if any
    /// (useful to record which operations a test run covered).
    pub fn template(&self, method: &str, path: &str) -> Option<&str> {
        self.find(method, path)
            .map(|i| self.operations[i].template.as_str())
    }

    /// Index of the best operation for `method` and `path`: among the templates with the same
    /// number of segments whose literals match, the one with a literal at the earliest position
    /// where the candidates differ wins (`/object/aql` over `/object/{id}`).
    fn find(&self, method: &str, path: &str) -> Option<usize> {
        let path = path.split(['?', '#']).next().unwrap_or_default();
        let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        let mut best: Option<(usize, Vec<bool>)> = None;
        for (i, op) in self.operations.iter().enumerate() {
            if !op.method.eq_ignore_ascii_case(method) || op.segments.len() != segments.len() {
                continue;
            }
            let matches = op.segments.iter().zip(&segments).all(|(t, s)| match t {
                Segment::Literal(l) => l == s,
                Segment::Param => true,
            });
            if !matches {
                continue;
            }
            let rank: Vec<bool> = op
                .segments
                .iter()
                .map(|t| matches!(t, Segment::Literal(_)))
                .collect();
            if best.as_ref().is_none_or(|(_, r)| rank > *r) {
                best = Some((i, rank));
            }
        }
        best.map(|(i, _)| i)
    }

    /// The cached validator for an operation's response, compiling it on first use.
    fn validator(&self, index: usize, status: u16) -> CacheEntry {
        let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        cache
            .entry((index, status))
            .or_insert_with(|| self.compile(index, status))
            .clone()
    }

    fn compile(&self, index: usize, status: u16) -> CacheEntry {
        let op = &self.operations[index];
        let Some(response) = response_for(&op.responses, status) else {
            return Ok(None);
        };
        let Some(schema) = json_schema_of(response) else {
            return Ok(None);
        };
        let schema = convert_schema(schema);
        if schema.as_object().is_some_and(Map::is_empty) || schema == Value::Bool(true) {
            return Ok(None); // documents no constraint at all
        }
        let root = json!({
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "allOf": [schema],
            "components": self.components,
        });
        jsonschema::options()
            .with_draft(jsonschema::Draft::Draft202012)
            .build(&root)
            .map(|v| Some(Arc::new(v)))
            .map_err(|e| {
                format!(
                    "{} {} -> {status}: the documented schema does not compile: {e}",
                    op.method, op.template
                )
            })
    }
}

/// Splits a path template into segments; `{name}` segments are parameters.
fn template_segments(template: &str) -> Vec<Segment> {
    template
        .split('/')
        .filter(|s| !s.is_empty())
        .map(|s| {
            if s.starts_with('{') && s.ends_with('}') {
                Segment::Param
            } else {
                Segment::Literal(s.to_string())
            }
        })
        .collect()
}

/// Follows a local `$ref` (`#/components/responses/X`) once; anything else is returned as is.
fn resolve_ref<'a>(doc: &'a Value, value: &'a Value) -> &'a Value {
    match value.get("$ref").and_then(Value::as_str) {
        Some(r) if r.starts_with("#/") => doc.pointer(&r[1..]).unwrap_or(value),
        _ => value,
    }
}

/// The response documented for `status`: exact code, then the `2XX`-style range, then `default`.
fn response_for(responses: &Map<String, Value>, status: u16) -> Option<&Value> {
    let range = format!("{}XX", status / 100);
    responses
        .get(&status.to_string())
        .or_else(|| {
            responses
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(&range))
                .map(|(_, v)| v)
        })
        .or_else(|| responses.get("default"))
}

/// The schema of a response's JSON content (`application/json`, `application/json; ..`, or any
/// `+json` media type); `None` when the response documents no JSON content or no schema for it.
fn json_schema_of(response: &Value) -> Option<&Value> {
    let content = response.get("content")?.as_object()?;
    content
        .iter()
        .find(|(media, _)| {
            let m = media.split(';').next().unwrap_or_default().trim();
            m.eq_ignore_ascii_case("application/json") || m.ends_with("+json")
        })
        .and_then(|(_, c)| c.get("schema"))
        .filter(|s| !s.is_null())
}

/// Converts an OpenAPI 3.0 schema object to JSON Schema 2020-12 (see the module documentation).
fn convert_schema(schema: &Value) -> Value {
    let Some(m) = schema.as_object() else {
        return schema.clone(); // `true`/`false` or something invalid the compiler will report
    };
    let nullable = m.get("nullable") == Some(&Value::Bool(true));
    let mut out = Map::new();
    let mut extra_all_of = Vec::new();
    if let Some(r) = m.get("$ref") {
        // OpenAPI 3.0: "sibling elements of a $ref are ignored".
        out.insert("$ref".into(), r.clone());
    } else {
        for (key, value) in m {
            match key.as_str() {
                "nullable" | "example" | "examples" | "xml" | "discriminator" | "externalDocs" => {}
                k if k.starts_with("x-") => {}
                "properties" | "patternProperties" | "$defs" | "definitions"
                | "dependentSchemas" => {
                    let converted = match value.as_object() {
                        Some(props) => Value::Object(
                            props
                                .iter()
                                .map(|(name, s)| (name.clone(), convert_schema(s)))
                                .collect(),
                        ),
                        None => value.clone(),
                    };
                    out.insert(key.clone(), converted);
                }
                "items"
                | "additionalProperties"
                | "not"
                | "contains"
                | "propertyNames"
                | "if"
                | "then"
                | "else"
                | "additionalItems"
                | "unevaluatedProperties"
                | "unevaluatedItems" => {
                    out.insert(key.clone(), convert_schema(value));
                }
                "allOf" | "anyOf" | "oneOf" => {
                    let converted = match value.as_array() {
                        Some(list) => Value::Array(list.iter().map(convert_schema).collect()),
                        None => value.clone(),
                    };
                    if key == "oneOf" && m.contains_key("anyOf") {
                        // both present: keep both constraints
                        extra_all_of.push(json!({ "anyOf": converted }));
                    } else {
                        let key = if key == "oneOf" {
                            "anyOf"
                        } else {
                            key.as_str()
                        };
                        out.insert(key.to_string(), converted);
                    }
                }
                "exclusiveMinimum" | "exclusiveMaximum" if value.is_boolean() => {
                    let bound = if key == "exclusiveMinimum" {
                        "minimum"
                    } else {
                        "maximum"
                    };
                    if value == &Value::Bool(true)
                        && let Some(b) = m.get(bound)
                    {
                        out.insert(key.clone(), b.clone());
                    }
                }
                _ => {
                    out.insert(key.clone(), value.clone());
                }
            }
        }
        // `minimum` + boolean `exclusiveMinimum: true` became a numeric `exclusiveMinimum`.
        for (exclusive, bound) in [
            ("exclusiveMinimum", "minimum"),
            ("exclusiveMaximum", "maximum"),
        ] {
            if m.get(exclusive) == Some(&Value::Bool(true)) {
                out.remove(bound);
            }
        }
        if !extra_all_of.is_empty() {
            match out.get_mut("allOf") {
                Some(Value::Array(list)) => list.extend(extra_all_of),
                _ => {
                    out.insert("allOf".into(), Value::Array(extra_all_of));
                }
            }
        }
    }
    if !nullable {
        return Value::Object(out);
    }
    let composed = ["$ref", "allOf", "anyOf", "oneOf", "not"]
        .iter()
        .any(|k| out.contains_key(*k));
    if composed {
        return json!({ "anyOf": [Value::Object(out), { "type": "null" }] });
    }
    if let Some(Value::String(t)) = out.get("type") {
        let t = t.clone();
        out.insert("type".into(), json!([t, "null"]));
    }
    if let Some(Value::Array(values)) = out.get_mut("enum")
        && !values.contains(&Value::Null)
    {
        values.push(Value::Null);
    }
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn object_schema() -> Value {
        json!({
            "workspaceId": "g2778e1d-939d-581d-c8e2-9d5g59de456b",
            "globalId": "g2778e1d-939d-581d-c8e2-9d5g59de456b:6",
            "id": "6",
            "name": "ITSM",
            "objectSchemaKey": "ITSM",
            "status": "Ok",
            "description": "IT service management",
            "created": "2021-02-16T20:04:41.527Z",
            "updated": "2021-02-16T20:04:41.527Z",
            "objectCount": 95,
            "objectTypeCount": 34,
            "canManage": true
        })
    }

    #[test]
    fn valid_object_schema_passes() {
        let spec = Spec::load();
        assert_eq!(
            spec.validate("GET", "/objectschema/6", 200, &object_schema()),
            Ok(true)
        );
        // method case and a trailing slash / double slash do not matter
        assert_eq!(
            spec.validate("get", "//objectschema/6/", 200, &object_schema()),
            Ok(true)
        );
    }

    #[test]
    fn wrong_type_is_reported_with_its_pointer() {
        let mut body = object_schema();
        body["id"] = json!(5);
        let errors = Spec::load()
            .validate("GET", "/objectschema/6", 200, &body)
            .unwrap_err();
        assert!(
            errors
                .iter()
                .any(|e| e.starts_with("/id:") && e.contains("string")),
            "{errors:?}"
        );
    }

    #[test]
    fn missing_required_field_is_named() {
        let mut body = object_schema();
        body.as_object_mut().unwrap().remove("name");
        let errors = Spec::load()
            .validate("PUT", "/objectschema/6", 200, &body)
            .unwrap_err();
        assert!(errors.iter().any(|e| e.contains("\"name\"")), "{errors:?}");
    }

    #[test]
    fn literal_segments_win_over_templates() {
        let spec = Spec::load();
        let t = |m, p| spec.template(m, p);
        assert_eq!(t("GET", "/objectschema/list"), Some("/objectschema/list"));
        assert_eq!(t("GET", "/objectschema/12"), Some("/objectschema/{id}"));
        assert_eq!(t("POST", "/object/aql"), Some("/object/aql"));
        assert_eq!(
            t("POST", "/object/aql/totalcount"),
            Some("/object/aql/totalcount")
        );
        assert_eq!(t("GET", "/object/88"), Some("/object/{id}"));
        assert_eq!(t("GET", "/object/88/history"), Some("/object/{id}/history"));
        assert_eq!(t("GET", "/icon/global"), Some("/icon/global"));
        assert_eq!(t("GET", "/icon/3"), Some("/icon/{id}"));
        assert_eq!(
            t("PUT", "/objecttypeattribute/5/77"),
            Some("/objecttypeattribute/{objectTypeId}/{id}")
        );
        assert_eq!(
            t("POST", "/objecttypeattribute/5"),
            Some("/objecttypeattribute/{objectTypeId}")
        );
        assert_eq!(
            t("DELETE", "/objecttypeattribute/77"),
            Some("/objecttypeattribute/{id}")
        );
        assert_eq!(
            t("GET", "/objectschema/1/objecttypes/flat?x=1"),
            Some("/objectschema/{id}/objecttypes/flat")
        );
        assert_eq!(t("PATCH", "/object/88"), None);
        assert_eq!(t("GET", "/nothing/here"), None);
    }

    #[test]
    fn lists_66_operations() {
        let ops = Spec::load().operations();
        assert_eq!(ops.len(), 66);
        assert!(ops.contains(&("POST".to_string(), "/object/aql".to_string())));
        assert!(ops.contains(&(
            "DELETE".to_string(),
            "/objecttypeattribute/{id}".to_string()
        )));
    }

    #[test]
    fn undocumented_schema_is_not_validated() {
        let spec = Spec::load();
        // documented status without content, undocumented status, non-JSON content
        assert_eq!(
            spec.validate("DELETE", "/config/statustype/3", 200, &Value::Null),
            Ok(false)
        );
        assert_eq!(
            spec.validate("GET", "/object/1", 404, &json!({"errorMessages": []})),
            Ok(false)
        );
        assert_eq!(
            spec.validate("GET", "/object/1", 418, &json!({})),
            Ok(false)
        );
        assert_eq!(
            spec.validate("GET", "/icon/1/icon.png", 200, &Value::Null),
            Ok(false)
        );
        assert!(spec.validate("GET", "/nope", 200, &json!({})).is_err());
    }

    #[test]
    fn every_documented_schema_compiles() {
        let spec = Spec::load();
        let mut compiled = 0;
        for (i, op) in spec.operations.iter().enumerate() {
            for status in op.responses.keys() {
                let Ok(code) = status.parse::<u16>() else {
                    continue;
                };
                match spec.validator(i, code) {
                    Ok(Some(_)) => compiled += 1,
                    Ok(None) => {}
                    Err(e) => panic!("{e}"),
                }
            }
        }
        // 58 documented contents: 47 JSON schemas, 10 JSON without a schema, 1 image/png
        assert_eq!(compiled, 47, "response schemas compiled");
    }

    #[test]
    fn nested_refs_and_arrays_are_validated() {
        let spec = Spec::load();
        let status = json!({"id": "1", "name": "Active", "category": 1});
        assert_eq!(
            spec.validate("GET", "/config/statustype", 200, &json!([status])),
            Ok(true)
        );
        let bad = json!([{"id": "1", "name": "Active", "category": "one"}]);
        let errors = spec
            .validate("GET", "/config/statustype", 200, &bad)
            .unwrap_err();
        assert!(
            errors.iter().any(|e| e.starts_with("/0/category:")),
            "{errors:?}"
        );
    }

    #[test]
    fn conversion_handles_nullable_and_one_of() {
        assert_eq!(
            convert_schema(&json!({"type": "string", "nullable": true, "example": "x"})),
            json!({"type": ["string", "null"]})
        );
        assert_eq!(
            convert_schema(&json!({"type": "string", "enum": ["A"], "nullable": true})),
            json!({"type": ["string", "null"], "enum": ["A", null]})
        );
        assert_eq!(
            convert_schema(&json!({"$ref": "#/components/schemas/X", "nullable": true})),
            json!({"anyOf": [{"$ref": "#/components/schemas/X"}, {"type": "null"}]})
        );
        // a property *named* `example` or `type` is not a keyword
        assert_eq!(
            convert_schema(
                &json!({"properties": {"example": {"type": "string"}, "nullable": {"type": "boolean"}}})
            ),
            json!({"properties": {"example": {"type": "string"}, "nullable": {"type": "boolean"}}})
        );
        assert_eq!(
            convert_schema(
                &json!({"oneOf": [{"type": "string"}, {"type": "string", "format": "date-time"}]})
            ),
            json!({"anyOf": [{"type": "string"}, {"type": "string", "format": "date-time"}]})
        );
        assert_eq!(
            convert_schema(&json!({"type": "integer", "minimum": 0, "exclusiveMinimum": true})),
            json!({"type": "integer", "exclusiveMinimum": 0})
        );
    }
}
