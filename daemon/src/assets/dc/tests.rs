//! [`DcClient`] against a simulated Data Center site over real HTTP: both auth schemes and both
//! prefixes, integer ids, page/resultPerPage paging without gaps or repeats, user keys, the
//! Data Center Text limit, comments, and attachments uploaded and downloaded byte for byte.

use std::collections::BTreeSet;

use super::*;
use crate::assets::{AqlPager, AssetsApi};
use crate::model::{AttributeKind, ObjectAttributeIn, ObjectIn, ValueIn};

const SIM: &str = r#"
[[sites]]
name = "d1"
flavor = "dc"
email = "admin@d1.example"
token = "pat-d1"
password = "pw-d1"
[sites.dataset]
kind = "cmdb"
objects = 120
seed = 5
"#;

fn conn(sim: &assets_sim::server::SimHandle, email: Option<&str>, secret: &str) -> DcConn {
    let site = sim.dc_site("d1").unwrap();
    DcConn {
        name: "d1".into(),
        base_url: site.base_url.clone(),
        email: email.map(str::to_owned),
        tokens: vec![Secret::new(secret)],
        limits: Limits {
            rate_limited: false,
            ..Limits::default()
        },
        legacy_insight: false,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_data_center_site_reads_pages_and_writes_through_the_client() {
    let cfg = assets_sim::config::SimConfig::from_toml(SIM).unwrap();
    let sim = assets_sim::server::start(cfg).await.unwrap();
    let pat = DcClient::new(conn(&sim, None, "pat-d1")).unwrap();
    let basic = DcClient::new(conn(&sim, Some("admin@d1.example"), "pw-d1")).unwrap();
    let legacy = DcClient::new(DcConn {
        legacy_insight: true,
        ..conn(&sim, None, "pat-d1")
    })
    .unwrap();
    assert_eq!(pat.flavor(), Flavor::Dc);
    let me = pat.test_connection().await.unwrap();
    assert!(
        me.key
            .non_empty()
            .is_some_and(|k| k.starts_with("JIRAUSER"))
    );
    assert_eq!(basic.test_connection().await.unwrap(), me);
    let bad = DcClient::new(conn(&sim, None, "nope")).unwrap();
    let e = bad.test_connection().await.unwrap_err();
    assert_eq!(e.status(), Some(401), "{e:?}");
    assert!(pat.discover_workspace().await.unwrap_err().is_not_offered());

    let schemas = pat.list_schemas().await.unwrap();
    assert_eq!(schemas, legacy.list_schemas().await.unwrap());
    let itsm = schemas.iter().find(|s| s.key() == "ITSM").unwrap();
    assert!(itsm.id.is_number());
    let types = pat.list_object_types(itsm.id.as_str()).await.unwrap();
    assert!(!types.is_empty() && types.iter().all(|t| t.id.is_number()));

    // Paging by page/resultPerPage: every object once, as many as the schema counts.
    let ql = format!("objectSchemaId = {}", itsm.id);
    let mut pager = AqlPager::new(&pat, &ql, 7);
    let mut ids = Vec::new();
    let mut long_text = 0;
    while let Some(page) = pager.next_page().await.unwrap() {
        let kinds: std::collections::HashMap<&str, AttributeKind> = page
            .object_type_attributes
            .iter()
            .map(|a| (a.id.as_str(), a.kind()))
            .collect();
        for o in &page.values {
            ids.push(o.id.as_str().to_owned());
            for a in o.attributes() {
                let kind = kinds.get(a.object_type_attribute_id.as_str());
                for v in a.values() {
                    if kind == Some(&AttributeKind::User) {
                        let key = v.value.get().and_then(|x| x.as_str()).unwrap_or("");
                        assert!(key.starts_with("JIRAUSER"), "{key}");
                    }
                    let long = v.value.get().and_then(|x| x.as_str());
                    long_text += usize::from(long.is_some_and(|s| s.chars().count() > 255));
                }
            }
        }
    }
    let unique: BTreeSet<&String> = ids.iter().collect();
    assert_eq!(unique.len(), ids.len(), "no object twice");
    assert_eq!(ids.len() as u64, itsm.objects());
    assert!(long_text > 0, "a Data Center dataset has Text over 255");
    // An offset inside a page still starts at that object.
    let q = AqlQuery {
        ql: &ql,
        start_at: 10,
        page_size: 7,
        include_attributes: false,
    };
    let page = pat.aql(&q).await.unwrap();
    assert_eq!(page.values[0].id.as_str(), ids[10]);

    // Comments: listed with author and time; one added.
    let mut commented = None;
    for id in &ids {
        let cs = pat.list_comments(id).await.unwrap();
        if !cs.is_empty() {
            commented = Some((id.clone(), cs));
            break;
        }
    }
    let (object, comments) = commented.expect("a third of the objects have comments");
    assert!(!comments[0].author().is_empty() && comments[0].created.is_value());
    let body = CommentIn {
        object_id: crate::model::Id::new(object.as_str()),
        comment: "migrated <by> assetark".into(),
        role: 0,
    };
    let made = pat.create_comment(&body).await.unwrap();
    assert_eq!(made.text(), "migrated <by> assetark");
    let after = pat.list_comments(&object).await.unwrap();
    assert_eq!(after.len(), comments.len() + 1);

    // Attachments: upload, list, download the same bytes.
    let bytes: Vec<u8> = (0..=255u8).cycle().take(5000).collect();
    let file = AttachmentUpload {
        filename: "inventory é.bin".into(),
        mime_type: "application/octet-stream".into(),
        bytes: bytes.clone(),
        comment: "from the backup".into(),
    };
    let up = basic.upload_attachment(&object, &file).await.unwrap();
    assert_eq!(up.len(), 1);
    assert_eq!(up[0].filename(), "inventory é.bin");
    let listed = pat.list_attachments(&object).await.unwrap();
    let mine = listed.iter().find(|a| a.id == up[0].id).unwrap();
    assert_eq!(mine.comment.as_deref(), Some("from the backup"));
    let down = pat.download_attachment(mine.id.as_str()).await.unwrap();
    assert_eq!(down, bytes);

    // Writes: Text up to 450 characters, user keys.
    let mut named = None;
    for t in types.iter().filter(|t| !t.abstract_object_type.is_true()) {
        let attrs = pat.list_attributes(t.id.as_str()).await.unwrap();
        if let Some(a) = attrs.into_iter().find(|a| a.name() == "Name") {
            named = Some((t, a));
            break;
        }
    }
    let (t, name) = named.expect("a root type has its own Name");
    let long = "x".repeat(451);
    let body = ObjectIn {
        object_type_id: t.id.clone(),
        attributes: vec![ObjectAttributeIn {
            object_type_attribute_id: name.id.clone(),
            object_attribute_values: vec![ValueIn {
                value: long.clone(),
            }],
        }],
    };
    let e = pat.create_object(&body).await.unwrap_err();
    assert!(e.is_refusal(), "{e:?}");
    assert!(
        e.api_body().unwrap().to_string().contains("less than 450"),
        "{e:?}"
    );
    assert_eq!(pat.flavor().text_max_chars(), 450);
    sim.shutdown().await;
}
