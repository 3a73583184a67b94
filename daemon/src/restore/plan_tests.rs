//! Tests of reading stored plans: older formats are migrated, unknown ones refused.

use serde_json::{Value, json};

use super::*;

/// Restore 1's plan as the first version of the code stored it (unversioned).
const FIXTURE: &str = include_str!("../../tests/fixtures/store-v3/plan-restore-1.json");

#[test]
fn an_unversioned_plan_is_migrated_without_losing_anything() {
    let stored: Value = serde_json::from_str(FIXTURE).unwrap();
    assert!(stored.get("format_version").is_none());
    let plan = RestorePlan::from_stored(stored.clone()).unwrap();
    assert_eq!(plan.format_version, PLAN_FORMAT_VERSION);
    assert_eq!(plan.lookups, None);
    assert_eq!((plan.backup_id, plan.target_site.as_str()), (1, "dst"));
    assert!(!plan.attributes.is_empty() && !plan.users.is_empty());
    // Everything the old plan said is still said, plus the version, the (unrecorded)
    // lookups and object counts per type, and the summary derived from the rest.
    let mut expected = stored;
    let m = expected.as_object_mut().unwrap();
    m.insert("format_version".into(), json!(PLAN_FORMAT_VERSION));
    m.insert("lookups".into(), Value::Null);
    m.insert("accounts".into(), json!([]));
    for t in m["object_types"].as_array_mut().unwrap() {
        t.as_object_mut()
            .unwrap()
            .insert("objects".into(), json!(0));
    }
    let summary = &plan.summary;
    assert_eq!(summary.requests, plan.requests.total);
    assert_eq!(summary.objects_created, plan.order.objects);
    assert_eq!(
        summary.dropped_attributes.len(),
        plan.attributes
            .iter()
            .filter(|a| a.action == AttrAction::Drop)
            .count()
    );
    m.insert("summary".into(), serde_json::to_value(summary).unwrap());
    // It matched icons by name, as `with_icons` does on another site; it had no history.
    assert_ne!(plan.source.site, plan.target_site);
    m.insert("with_icons".into(), json!(true));
    m.insert("history".into(), json!(false));
    assert_eq!(serde_json::to_value(&plan).unwrap(), expected);
    // A current plan reads back as it is.
    let again = RestorePlan::from_stored(serde_json::to_value(&plan).unwrap()).unwrap();
    assert_eq!(again, plan);
}

#[test]
fn a_plan_of_an_unknown_format_is_refused_clearly() {
    let mut stored: Value = serde_json::from_str(FIXTURE).unwrap();
    stored["format_version"] = json!(PLAN_FORMAT_VERSION + 1);
    let err = RestorePlan::from_stored(stored.clone()).unwrap_err();
    assert!(
        matches!(err, Error::PlanVersion { found, supported }
            if found == PLAN_FORMAT_VERSION + 1 && supported == PLAN_FORMAT_VERSION),
        "{err:?}"
    );
    let text = err.to_string();
    assert!(
        text.contains(&format!("format version {}", PLAN_FORMAT_VERSION + 1))
            && text.contains("plan the restore again"),
        "{text}"
    );
    assert!(!err.is_retryable());
    stored["format_version"] = json!(0);
    assert!(matches!(
        RestorePlan::from_stored(stored.clone()),
        Err(Error::PlanVersion { found: 0, .. })
    ));
    stored["format_version"] = json!("2");
    assert!(matches!(
        RestorePlan::from_stored(stored),
        Err(Error::Json(_))
    ));
    assert!(matches!(
        RestorePlan::from_stored(json!({"format_version": 2})),
        Err(Error::Json(_))
    ));
}

#[test]
fn a_reference_into_another_schema_is_dropped_naming_the_references_task() {
    let text = cross_schema_reason("12", Some("Site"), Some("3"));
    assert_eq!(
        text,
        "the reference goes to object type 12 (Site) of another schema (schema 3 on the \
         backup's site), which this restore does not create: the references task creates the \
         attribute and sets its values once that schema is on the target too (`assetark tasks \
         start references RESTORE_ID --from-schema KEY --outbound`, KEY being that schema's \
         key on the target)"
    );
    let bare = cross_schema_reason("12", None, None);
    assert!(
        bare.starts_with("the reference goes to object type 12 of another schema, ")
            && bare.contains("tasks start references"),
        "{bare}"
    );
}
