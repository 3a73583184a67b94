//! End-to-end tests of the Assets client and the backup pipeline: real HTTP to an in-process
//! simulator (`assets-sim`), a real SQLite store in a `TempDir`.
//!
//! Modules:
//! - `governor`: the rate governor and AIMD with paused time (no HTTP);
//! - `client`: the retry contract (429, 503, 500, 4xx, `post_once`) with forced responses;
//! - `pipeline`: backup + export against the simulator — fidelity against fresh API reads,
//!   faults and 429 storms, dedup of an unchanged schema, unknown schema, cancellation,
//!   `ORIGINAL_ID`; its helpers live in `backup_e2e/support.rs`.
//!
//! The fidelity checks read the simulator through a plain reqwest client (`Raw`), not through
//! the code under test.

mod governor {
    use std::time::Duration;

    use assetark::assets::{Aimd, Class, Governor};
    use tokio::time::Instant;

    /// Limits indexed like `Class::ALL`: 600/min for every class = 10/s, a burst of 20.
    const LIMITS: [u32; 5] = [600; 5];

    /// Takes `n` tokens of `class` one after the other; returns the paused time it took.
    async fn take(g: &Governor, class: Class, n: usize) -> Duration {
        let t0 = Instant::now();
        for _ in 0..n {
            g.acquire(class).await;
        }
        t0.elapsed()
    }

    #[tokio::test(start_paused = true)]
    async fn the_limit_is_respected_after_the_burst() {
        let g = Governor::new(1, LIMITS);
        // 20 burst tokens, then 100 at 10/s: 10 s.
        let took = take(&g, Class::Aql, 120).await;
        assert!(
            (9.9..10.2).contains(&took.as_secs_f64()),
            "120 requests at 600/min with a 20 burst took {took:?}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn retry_after_blocks_exactly_that_credential_and_class() {
        let g = std::sync::Arc::new(Governor::new(1, LIMITS));
        g.record_events(true);
        take(&g, Class::Aql, 20).await; // drain the burst
        // A waiter already asleep for its next token must re-plan when the 429 lands.
        let waiter = tokio::spawn({
            let g = g.clone();
            async move {
                g.acquire(Class::Aql).await;
                Instant::now()
            }
        });
        tokio::task::yield_now().await;
        let t0 = Instant::now();
        g.block(0, Class::Aql, Duration::from_secs(3));
        // Another class on the same credential is not blocked.
        g.acquire(Class::Object).await;
        assert_eq!(Instant::now(), t0);
        let sent_at = waiter.await.unwrap();
        assert!(
            sent_at >= t0 + Duration::from_secs(3),
            "sent {:?} after the 429",
            sent_at - t0
        );
        // A shorter Retry-After does not shorten the block.
        g.block(0, Class::Aql, Duration::from_secs(2));
        g.block(0, Class::Aql, Duration::from_millis(500));
        let t1 = Instant::now();
        g.acquire(Class::Aql).await;
        assert_eq!(Instant::now() - t1, Duration::from_secs(2));
    }

    #[tokio::test(start_paused = true)]
    async fn a_pool_of_three_tokens_gives_three_times_the_throughput() {
        let window = Duration::from_secs(30);
        let mut rates = Vec::new();
        for creds in [1usize, 3] {
            let g = Governor::new(creds, LIMITS);
            g.record_events(true);
            let t0 = Instant::now();
            let mut n = 0u32;
            while t0.elapsed() < window {
                g.acquire(Class::Object).await;
                n += 1;
            }
            // Every credential carried its share.
            let events = g.events();
            for c in 0..creds {
                let mine = events.iter().filter(|e| e.credential == c).count() as u32;
                assert!(
                    mine * creds as u32 >= n - creds as u32 * 2,
                    "credential {c}: {mine} of {n}"
                );
            }
            rates.push(f64::from(n));
        }
        let ratio = rates[1] / rates[0];
        assert!(
            (2.9..3.1).contains(&ratio),
            "pool of 3 gave {ratio:.2}× ({rates:?})"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn near_limit_slows_the_bucket_down() {
        let g = Governor::new(1, LIMITS);
        take(&g, Class::Other, 20).await;
        g.near_limit(0, Class::Other);
        // 40 tokens at 8/s instead of 10/s: 5 s instead of 4 s.
        let took = take(&g, Class::Other, 40).await;
        assert!((4.9..5.2).contains(&took.as_secs_f64()), "took {took:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn aimd_grows_additively_and_halves_on_congestion_once_per_episode() {
        let a = Aimd::new(16);
        assert_eq!(a.limit(), 4);
        for _ in 0..20 * 6 {
            a.on_success();
        }
        assert_eq!(a.limit(), 10);
        let early = a.acquire().await;
        let early_started = early.started;
        drop(early);
        tokio::time::advance(Duration::from_millis(10)).await;
        let late = a.acquire().await;
        a.on_congestion(late.started); // a 429
        assert_eq!(a.limit(), 5);
        // A request that was already in flight when the limit was halved does not halve it
        // again: one overloaded moment, one decrease.
        a.on_congestion(early_started);
        assert_eq!(a.limit(), 5);
        drop(late);
        tokio::time::advance(Duration::from_millis(10)).await;
        let next = a.acquire().await;
        a.on_congestion(next.started);
        assert_eq!(a.limit(), 2);
        for _ in 0..20 * 100 {
            a.on_success();
        }
        assert_eq!(a.limit(), 16, "never above max_concurrency");
    }

    #[tokio::test(start_paused = true)]
    async fn aimd_caps_requests_in_flight() {
        let a = std::sync::Arc::new(Aimd::new(16));
        let slots: Vec<_> = futures::future::join_all((0..4).map(|_| a.acquire())).await;
        let fifth = tokio::time::timeout(Duration::from_secs(1), a.acquire()).await;
        assert!(fifth.is_err(), "a fifth request went out with a limit of 4");
        drop(slots);
        tokio::time::timeout(Duration::from_secs(1), a.acquire())
            .await
            .expect("a slot frees up");
    }
}

/// The client's retry contract against forced responses of the simulator.
mod client {
    use assetark::assets::{AssetsApi, Error};
    use assetark::model::ObjectSchemaIn;
    use serde_json::json;

    use super::support::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn writes_are_retried_only_when_surely_unprocessed_and_4xx_keep_the_api_body() {
        let sim = sim(0, 0).await;
        let url = sim.url().to_owned();
        let c = client(&sim, 1, 10);
        let force = |status: u16, retry_after: u64| {
            let url = url.clone();
            async move {
                let body = json!({"status": status, "retry_after": retry_after, "count": 1});
                admin(&url, reqwest::Method::POST, "force", Some(body)).await;
            }
        };
        let create = |key: &'static str| ObjectSchemaIn {
            name: format!("Schema {key}"),
            object_schema_key: key.into(),
            description: None,
        };
        // 429 and 503 + Retry-After: the request was not processed, so it is sent again.
        force(429, 1).await;
        c.create_schema(&create("AAA")).await.expect("after a 429");
        force(503, 1).await;
        c.create_schema(&create("BBB")).await.expect("after a 503");
        // A 500 may come after processing: not repeated, reported as ambiguous.
        force(500, 0).await;
        let err = c.create_schema(&create("CCC")).await.unwrap_err();
        assert!(
            matches!(
                err,
                Error::Ambiguous {
                    status: Some(500),
                    ..
                }
            ),
            "{err:?}"
        );
        assert!(!err.is_retryable());
        // The same 500 on an idempotent call is retried.
        force(500, 0).await;
        c.list_schemas().await.expect("retried read");
        // Other 4xx: permanent, not retried, with the API's own error body.
        let retries = c.stats().retries;
        let err = c.create_schema(&create("AAA")).await.unwrap_err();
        assert_eq!(err.status(), Some(400));
        let body = err.api_body().expect("api body");
        assert!(
            body["errors"].as_object().is_some_and(|e| !e.is_empty()),
            "{body}"
        );
        let err = c.get_schema("999999").await.unwrap_err();
        assert_eq!(err.status(), Some(404));
        assert!(err.api_body().unwrap()["errorMessages"].is_array());
        assert_eq!(c.stats().retries, retries, "4xx are not retried");
        let s = c.stats();
        assert_eq!((s.throttled, s.ambiguous), (1, 1), "{s:?}");
        // Jira side and workspace discovery.
        assert_eq!(
            c.discover_workspace().await.unwrap(),
            sim.ready.sites[0].workspace_id
        );
        let me = c.test_connection().await.unwrap();
        assert!(me.account_id.non_empty().is_some(), "{me:?}");
        // Secrets never show in Debug output.
        let conn = format!("{:?} {:?}", c.site(), c);
        assert!(!TOKENS.iter().any(|t| conn.contains(t)), "{conn}");
        sim.shutdown().await;
    }
}

mod support;

mod pipeline {
    use std::collections::{BTreeMap, BTreeSet};
    use std::time::{Duration, Instant};

    use assetark::assets::{AssetsApi, EventKind};
    use assetark::backup::{self, Progress};
    use assetark::model::{
        AttributeIn, Id, ObjectAttributeIn, ObjectIn, ObjectSchemaIn, ObjectTypeIn, ValueIn,
    };
    use assetark::store::{BackupFilter, PageRequest, kind};
    use serde_json::{Value, json};
    use tokio_util::sync::CancellationToken;

    use super::support::*;

    /// Every entity of the export equals a fresh read of the simulator through the API.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn the_export_equals_the_simulators_state_entity_by_entity() {
        let t0 = Instant::now();
        let sim = sim(300, 0).await;
        let dir = tempfile::tempdir().unwrap();
        let store = store(dir.path());
        let client = client(&sim, 1, 10);
        let id = backup(&client, &store, "ITSM").await.expect("backup");
        let took_backup = t0.elapsed();
        let out = dir.path().join("export");
        let summary = backup::export(&store, id, &out).await.expect("export");
        let raw = Raw::new(&sim, "s1");

        let schema = read(&out, "schema.json");
        let sid = schema["id"].as_str().unwrap().to_owned();
        assert_eq!(schema, raw.get(&format!("/objectschema/{sid}")).await);
        let mut config = read(&out, "config.json");
        assert_eq!(config["objectSchemaId"], sid);
        config.as_object_mut().unwrap().remove("objectSchemaId");
        assert_eq!(
            config,
            raw.get(&format!("/global/config/objectschema/{sid}")).await
        );

        let mut statuses = array(raw.get("/config/statustype").await);
        statuses.extend(array(
            raw.get(&format!("/config/statustype?objectSchemaId={sid}"))
                .await,
        ));
        assert!(
            statuses.iter().any(|s| s["objectSchemaId"].is_null()),
            "global statuses"
        );
        assert!(
            statuses.iter().any(|s| s["objectSchemaId"] == sid),
            "schema statuses"
        );
        assert_eq!(
            by_id(array(read(&out, "statustypes.json"))),
            by_id(statuses)
        );
        let refs = raw
            .get(&format!(
                "/config/referencetype?objectSchemaId={sid}&includeAll=true"
            ))
            .await;
        assert_eq!(
            by_id(array(read(&out, "referencetypes.json"))),
            by_id(array(refs))
        );

        let types = array(
            raw.get(&format!("/objectschema/{sid}/objecttypes/flat"))
                .await,
        );
        assert!(
            types.iter().any(|t| !t["parentObjectTypeId"].is_null()),
            "a hierarchy"
        );
        assert_eq!(
            by_id(array(read(&out, "objecttypes.json"))),
            by_id(types.clone())
        );
        let mut attrs = Vec::new();
        for t in &types {
            let path = format!(
                "/objecttype/{}/attributes?excludeParentAttributes=true",
                t["id"].as_str().unwrap()
            );
            attrs.extend(array(raw.get(&path).await));
        }
        assert_eq!(by_id(array(read(&out, "attributes.json"))), by_id(attrs));

        let icon_ids: BTreeSet<String> = types
            .iter()
            .map(|t| t["icon"]["id"].as_str().unwrap().to_owned())
            .collect();
        let icons = by_id(array(read(&out, "icons.json")));
        assert_eq!(
            icons.keys().map(u64::to_string).collect::<BTreeSet<_>>(),
            icon_ids
        );
        for (iid, meta) in &icons {
            assert_eq!(meta, &raw.get(&format!("/icon/{iid}")).await);
            let png = std::fs::read(out.join(format!("icons/{iid}.png"))).unwrap();
            assert_eq!(
                png,
                raw.bytes(&format!("/icon/{iid}/icon.png?size=48")).await,
                "icon {iid}"
            );
        }

        // Objects: equal to a fresh AQL read (other page size), and every value equal to the
        // object's own attributes endpoint.
        let objects = by_id(lines(&out, "objects.jsonl"));
        let mut fresh = Vec::new();
        loop {
            let page = raw
                .post(
                    &format!("/object/aql?startAt={}&maxResults=70", fresh.len()),
                    json!({"qlQuery": format!("objectSchemaId = {sid}")}),
                )
                .await;
            fresh.extend(array(page["values"].clone()));
            if page["isLast"].as_bool().unwrap() {
                break;
            }
        }
        assert!(objects.len() > 100, "{} objects", objects.len());
        assert_eq!(objects, by_id(fresh));
        assert_eq!(schema["objectCount"].as_u64(), Some(objects.len() as u64));
        let mut values = 0;
        for (oid, obj) in &objects {
            let fresh = raw.get(&format!("/object/{oid}/attributes")).await;
            let expected = values_by_attr(&fresh);
            values += expected.values().map(Vec::len).sum::<usize>();
            assert_eq!(values_by_attr(&obj["attributes"]), expected, "object {oid}");
        }

        let history = lines(&out, "history.jsonl");
        assert_eq!(history.len(), objects.len());
        for h in &history {
            let oid = h["objectId"].as_str().unwrap();
            let fresh = array(raw.get(&format!("/object/{oid}/history?asc=true")).await);
            assert!(!fresh.is_empty());
            assert_eq!(
                h["entries"].as_array().unwrap().len(),
                fresh.len(),
                "history of {oid}"
            );
            assert_eq!(h["entries"], Value::Array(fresh));
        }

        let mut expected: BTreeMap<String, Value> = BTreeMap::new();
        let fields = array(
            raw.jira_call(reqwest::Method::GET, "/rest/api/3/field", None)
                .await,
        );
        for f in fields.iter().filter(|f| {
            f["schema"]["custom"] == "com.atlassian.jira.plugins.cmdb:cmdb-object-cftype"
        }) {
            let (fid, name) = (f["id"].as_str().unwrap(), f["name"].as_str().unwrap());
            let mut token = Value::Null;
            loop {
                let body = json!({"jql": format!("\"{name}\" IN aqlFunction(\"objectSchemaId = {sid}\")"), "fields": [fid], "maxResults": 7, "nextPageToken": token});
                let page = raw
                    .jira_call(reqwest::Method::POST, "/rest/api/3/search/jql", Some(body))
                    .await;
                for i in array(page["issues"].clone()) {
                    let e = expected
                        .entry(i["id"].as_str().unwrap().to_owned())
                        .or_insert_with(|| json!({"id": i["id"], "key": i["key"], "fields": {}}));
                    e["fields"][fid] = i["fields"][fid].clone();
                }
                token = page["nextPageToken"].clone();
                if token.is_null() {
                    break;
                }
            }
        }
        let issues: BTreeMap<String, Value> = lines(&out, "issues.jsonl")
            .into_iter()
            .map(|i| (i["id"].as_str().unwrap().to_owned(), i))
            .collect();
        assert!(!issues.is_empty());
        assert_eq!(issues, expected);

        let manifest = read(&out, "manifest.json");
        assert_eq!(manifest["format_version"], 1);
        assert_eq!(manifest["backup"]["object_count"], objects.len() as u64);
        assert_eq!(manifest["backup"]["type"], "manual");
        assert_eq!(manifest["backup"]["storage"], "sqlite");
        assert_eq!(manifest["counts"]["objects.jsonl"], objects.len() as u64);
        assert_eq!(manifest["phases"]["history"]["status"], "done");
        assert_eq!(manifest["phases"]["issues"]["status"], "done");
        assert_eq!(manifest["phases"]["comments"]["status"], "not_offered");
        assert_eq!(
            manifest["phases"]["attachments"]["note"],
            "not offered by this source (Assets Cloud)"
        );
        assert_eq!(summary.counts["objects.jsonl"], objects.len() as u64);
        eprintln!(
            "fidelity: {} objects, {values} values, {} issues; backup {took_backup:?}, whole test {:?}; stats {:?}",
            objects.len(),
            issues.len(),
            t0.elapsed(),
            client.stats()
        );
        sim.shutdown().await;
    }

    /// 20 % 5xx (a third of them 503 with Retry-After), 5 % dropped connections, 2 % lost
    /// responses and forced 429 storms (Retry-After 1-2 s): the backup completes, its export is
    /// identical to a fault-free one, and after every 429 that credential+class sent nothing
    /// before its Retry-After.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn under_faults_and_429_storms_the_export_equals_a_fault_free_one() {
        let t0 = Instant::now();
        let sim = sim(300, 10).await;
        let url = sim.url().to_owned();
        let dir = tempfile::tempdir().unwrap();
        let store = store(dir.path());
        let clean = backup(&client(&sim, 3, 10), &store, "ITSM")
            .await
            .expect("clean backup");
        let took_clean = t0.elapsed();
        backup::export(&store, clean, &dir.path().join("clean"))
            .await
            .unwrap();

        let faults =
            json!({"seed": 11, "error_rate": 0.2, "drop_rate": 0.05, "lost_response_rate": 0.02});
        admin(&url, reqwest::Method::PUT, "faults", Some(faults)).await;
        let client = client(&sim, 3, 10);
        client.governor().record_events(true);
        // Forced 429s are served to the next requests whatever their time: four storms of
        // three, with Retry-After 1 s and 2 s, queued up front.
        for i in 0..4u64 {
            let storm = json!({"status": 429, "retry_after": 1 + i % 2, "count": 3});
            admin(&url, reqwest::Method::POST, "force", Some(storm)).await;
        }
        let t1 = Instant::now();
        let faulty = backup(&client, &store, "ITSM")
            .await
            .expect("backup under faults");
        let took_faulty = t1.elapsed();
        admin(&url, reqwest::Method::PUT, "faults", Some(json!({}))).await;
        backup::export(&store, faulty, &dir.path().join("faulty"))
            .await
            .unwrap();
        assert_same_export(&dir.path().join("clean"), &dir.path().join("faulty"));

        let stats = client.stats();
        assert!(stats.throttled >= 3, "{stats:?}");
        assert!(
            stats.server_errors > 0 && stats.transport_errors > 0,
            "{stats:?}"
        );
        // The rule of the governor: after a 429, nothing on that credential+class before the
        // end of its Retry-After (send times are recorded under the governor's lock).
        let events = client.governor().events();
        let mut blocks = 0;
        for (i, b) in events.iter().enumerate() {
            let EventKind::Blocked { until } = b.kind else {
                continue;
            };
            blocks += 1;
            assert!(until - b.at >= Duration::from_secs(1));
            for s in &events[i + 1..] {
                if s.kind == EventKind::Sent && s.credential == b.credential && s.class == b.class {
                    assert!(
                        s.at >= until,
                        "sent {:?} before the end of a {:?} block",
                        until - s.at,
                        until - b.at
                    );
                }
            }
        }
        assert!(
            blocks as u64 >= stats.throttled,
            "{blocks} blocks for {} 429s",
            stats.throttled
        );
        let sim_stats = admin(&url, reqwest::Method::GET, "stats", None).await;
        eprintln!(
            "faults: clean backup {took_clean:?}, faulty backup {took_faulty:?}; client {stats:?}; sim faults {} rate_limited {}",
            sim_stats["faults"], sim_stats["rate_limited"]
        );
        sim.shutdown().await;
    }

    /// A second backup of an unchanged schema adds < 2 % of the first one's blob bytes.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn a_second_backup_of_an_unchanged_schema_adds_almost_nothing() {
        let sim = sim(300, 0).await;
        let dir = tempfile::tempdir().unwrap();
        let store = store(dir.path());
        let client = client(&sim, 1, 10);
        let first = backup(&client, &store, "ITSM").await.unwrap();
        let second = backup(&client, &store, "ITSM").await.unwrap();
        let (a, b) = (
            store.get_backup(first).await.unwrap(),
            store.get_backup(second).await.unwrap(),
        );
        assert_eq!(a.object_count, b.object_count);
        assert!(a.bytes_added > 0);
        assert!(
            b.bytes_added * 50 < a.bytes_added,
            "second added {} of {} bytes",
            b.bytes_added,
            a.bytes_added
        );
        eprintln!(
            "dedup: first {} bytes, second {} bytes",
            a.bytes_added, b.bytes_added
        );
        sim.shutdown().await;
    }

    /// An unknown schema key is a clear error and writes nothing (not even a failed row).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_unknown_schema_key_is_a_clear_error_and_writes_nothing() {
        let sim = sim(40, 0).await;
        let dir = tempfile::tempdir().unwrap();
        let store = store(dir.path());
        let client = client(&sim, 1, 10);
        let err = backup(&client, &store, "NOPE").await.unwrap_err();
        assert!(
            matches!(&err, backup::Error::UnknownSchema { key, .. } if key == "NOPE"),
            "{err:?}"
        );
        assert_eq!(
            err.to_string(),
            r#"site "s1" has no object schema with key "NOPE""#
        );
        let page = store
            .list_backups(
                BackupFilter::default(),
                PageRequest {
                    limit: 10,
                    offset: 0,
                },
            )
            .await
            .unwrap();
        assert_eq!(page.total, 0);
        // Ids are never reused, so had a row been written (and dropped), this would be 2.
        assert_eq!(backup(&client, &store, "LOC").await.unwrap(), 1);
        sim.shutdown().await;
    }

    /// Cancelling during the main pass fails the backup: nothing becomes visible.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn cancelling_the_main_pass_leaves_no_backup() {
        let sim = sim(300, 0).await;
        let dir = tempfile::tempdir().unwrap();
        let store = store(dir.path());
        let client = client(&sim, 1, 10);
        let cancel = CancellationToken::new();
        let on_progress = {
            let cancel = cancel.clone();
            move |p: Progress| {
                if p.stage == backup::stage::OBJECTS {
                    cancel.cancel();
                }
            }
        };
        let err = backup::run(
            &client,
            &store,
            &request("ITSM"),
            &on_progress,
            cancel,
            &clock(),
        )
        .await
        .unwrap_err();
        assert!(matches!(err, backup::Error::Cancelled), "{err:?}");
        let page = store
            .list_backups(
                BackupFilter::default(),
                PageRequest {
                    limit: 10,
                    offset: 0,
                },
            )
            .await
            .unwrap();
        assert_eq!(page.total, 0);
        sim.shutdown().await;
    }

    /// Objects carrying ORIGINAL_ID keep it as their identity; their JSON is unchanged.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn original_id_is_the_identity_of_restored_objects() {
        let sim = sim(0, 0).await;
        let dir = tempfile::tempdir().unwrap();
        let store = store(dir.path());
        let c = client(&sim, 1, 10);
        let schema = c
            .create_schema(&ObjectSchemaIn {
                name: "Restored".into(),
                object_schema_key: "RST".into(),
                description: None,
            })
            .await
            .unwrap();
        let ty = c
            .create_object_type(&ObjectTypeIn {
                name: "Host".into(),
                description: None,
                icon_id: "1".into(),
                object_schema_id: schema.id.clone(),
                parent_object_type_id: None,
                inherited: false,
                abstract_object_type: false,
            })
            .await
            .unwrap();
        let tid = ty.id.as_str();
        let mut attr = BTreeMap::new();
        for name in ["ORIGINAL_ID", "ORIGINAL_KEY"] {
            let body = AttributeIn {
                name: name.into(),
                r#type: 0,
                default_type_id: Some(0),
                ..AttributeIn::default()
            };
            let a = c.create_attribute(tid, &body).await.unwrap();
            attr.insert(name, a.id);
        }
        let list = c.list_attributes(tid).await.unwrap();
        let name_attr = list.iter().find(|a| a.name() == "Name").unwrap().id.clone();
        let value = |attr: &Id, v: &str| ObjectAttributeIn {
            object_type_attribute_id: attr.clone(),
            object_attribute_values: vec![ValueIn { value: v.into() }],
        };
        let mut created = Vec::new();
        for (label, orig) in [("restored", Some("4242")), ("native", None)] {
            let mut attrs = vec![value(&name_attr, label)];
            if let Some(o) = orig {
                attrs.push(value(&attr["ORIGINAL_ID"], o));
                attrs.push(value(&attr["ORIGINAL_KEY"], "OLD-4242"));
            }
            let o = c
                .create_object(&ObjectIn {
                    object_type_id: ty.id.clone(),
                    attributes: attrs,
                })
                .await
                .unwrap();
            created.push(o.id.as_str().to_owned());
        }
        let id = backup(&c, &store, "RST").await.unwrap();
        let entries = store.entry_page(id, kind::OBJECT, None, 10).await.unwrap();
        let keys: BTreeSet<&str> = entries.iter().map(|e| e.original_id.as_str()).collect();
        assert_eq!(keys, BTreeSet::from(["4242", created[1].as_str()]));
        let restored = entries.iter().find(|e| e.original_id == "4242").unwrap();
        let obj: Value = serde_json::from_slice(&restored.json).unwrap();
        assert_eq!(
            obj["id"],
            created[0].as_str(),
            "the object JSON is stored unchanged"
        );
        let history = store.entry_page(id, kind::HISTORY, None, 10).await.unwrap();
        let hkeys: BTreeSet<&str> = history.iter().map(|e| e.original_id.as_str()).collect();
        assert_eq!(hkeys, keys, "history follows its object's identity");
        sim.shutdown().await;
    }
}
