//! Real simulator responses, fetched as raw bytes, decode into the model types the client
//! returns and encode back to the same canonical JSON, byte for byte: a backup stores what the
//! API sent (see `crate::model`, "Lossless on purpose").

use serde_json::{Value, json};

use crate::model::tests::{assert_each, assert_lossless, to};
use crate::model::*;
use crate::store::blob::canonical_json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn simulator_responses_round_trip_byte_identically() {
    let cfg = assets_sim::config::SimConfig::from_toml(
        r#"
[rate_limits]
enabled = false
[[sites]]
name = "s1"
email = "admin@s1.example"
token = "tok"
[sites.dataset]
kind = "cmdb"
objects = 150
seed = 11
"#,
    )
    .unwrap();
    let sim = assets_sim::server::start(cfg).await.unwrap();
    let site = &sim.ready.sites[0];
    let http = reqwest::Client::new();
    let get = |base: &str, path: &str| {
        let rb = http
            .get(format!("{base}{path}"))
            .basic_auth(&site.email, Some(&site.token));
        let path = path.to_owned();
        async move {
            let r = rb.send().await.unwrap();
            assert!(r.status().is_success(), "{path}: {}", r.status());
            r.bytes().await.unwrap().to_vec()
        }
    };
    let api = site.api_url.as_str();
    let jira = site.site_url.as_str();
    let list = get(
        api,
        "/objectschema/list?startAt=0&maxResults=50&includeCounts=true",
    )
    .await;
    let page: SchemaPage = serde_json::from_slice(&list).unwrap();
    assert!(page.values.len() >= 2);
    for schema in &page.values {
        let id = schema.id.as_str();
        let one = get(api, &format!("/objectschema/{id}")).await;
        assert_lossless::<ObjectSchema>("schema", &one);
        let config = get(api, &format!("/global/config/objectschema/{id}")).await;
        let config: SchemaConfig = assert_lossless("config", &config);
        assert!(config.allow_other_object_schema.is_value());
        assert_each::<StatusType>("statuses", &get(api, "/config/statustype").await);
        let own = format!("/config/statustype?objectSchemaId={id}");
        assert_each::<StatusType>("schema statuses", &get(api, &own).await);
        let refs = format!("/config/referencetype?objectSchemaId={id}&includeAll=true");
        assert!(assert_each::<ReferenceType>("reference types", &get(api, &refs).await) > 0);
        let flat = get(api, &format!("/objectschema/{id}/objecttypes/flat")).await;
        assert_each::<ObjectType>("object types", &flat);
        let types: Vec<ObjectType> = serde_json::from_slice(&flat).unwrap();
        for t in &types {
            let path = format!(
                "/objecttype/{}/attributes?excludeParentAttributes=true",
                t.id
            );
            assert_each::<ObjectTypeAttribute>("attributes", &get(api, &path).await);
            if let Some(icon) = t.icon_id() {
                assert_lossless::<Icon>("icon", &get(api, &format!("/icon/{icon}")).await);
            }
        }
        let aql = http
            .post(format!(
                "{api}/object/aql?startAt=0&maxResults=200&includeAttributes=true"
            ))
            .basic_auth(&site.email, Some(&site.token))
            .json(&json!({"qlQuery": format!("objectSchemaId = {id}")}))
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        let plain: Value = serde_json::from_slice(&aql).unwrap();
        let typed: AqlResponse = serde_json::from_slice(&aql).unwrap();
        assert_eq!(
            typed.values.len(),
            plain["values"].as_array().unwrap().len()
        );
        for (o, v) in typed.values.iter().zip(plain["values"].as_array().unwrap()) {
            assert_eq!(canonical_json(&to(o)), canonical_json(v));
        }
        for (a, v) in typed
            .object_type_attributes
            .iter()
            .zip(plain["objectTypeAttributes"].as_array().unwrap())
        {
            assert_eq!(canonical_json(&to(a)), canonical_json(v));
        }
        // Every value kind of the dataset is there, and reads as its kind.
        let kinds: std::collections::HashMap<String, AttributeKind> = typed
            .object_type_attributes
            .iter()
            .map(|a| (a.id.as_str().to_owned(), a.kind()))
            .collect();
        for o in typed.values.iter().take(40) {
            let path = format!("/object/{}", o.id);
            let one: Object = assert_lossless("object", &get(api, &path).await);
            assert!(
                one.attributes()
                    .iter()
                    .all(|a| a.object_type_attribute.is_value())
            );
            let history = get(api, &format!("/object/{}/history?asc=true", o.id)).await;
            assert!(assert_each::<HistoryEntry>("history", &history) > 0);
            for a in o.attributes() {
                let kind = &kinds[a.object_type_attribute_id.as_str()];
                for v in a.values() {
                    assert_ne!(v.kind(kind), ValueKind::Empty, "{kind:?} {v:?}");
                }
            }
        }
    }
    assert_lossless::<JiraUser>("myself", &get(jira, "/rest/api/3/myself").await);
    assert!(
        assert_each::<JiraUser>("users", &get(jira, "/rest/api/3/user/search?query=a").await) > 1
    );
    let _: Vec<JiraField> = serde_json::from_slice(&get(jira, "/rest/api/3/field").await).unwrap();
    let ws: WorkspacePage =
        serde_json::from_slice(&get(jira, "/rest/servicedeskapi/assets/workspace").await).unwrap();
    assert_eq!(
        ws.values[0].workspace_id.as_deref(),
        Some(site.workspace_id.as_str())
    );
    let search = get(
        jira,
        "/rest/api/3/search/jql?jql=project%20%3D%20ITSM&maxResults=5",
    )
    .await;
    let plain: Value = serde_json::from_slice(&search).unwrap();
    let typed: JqlPage = serde_json::from_slice(&search).unwrap();
    for (i, v) in typed.issues.iter().zip(plain["issues"].as_array().unwrap()) {
        assert_eq!(canonical_json(&to(i)), canonical_json(v));
    }
    sim.shutdown().await;
}
