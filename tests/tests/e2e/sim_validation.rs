//! Simulator validation rules, one by one, with the error bodies the API answers.

use assetark_tests::kit::*;
use serde_json::{Value, json};

/// A schema with a parent/child type pair and one attribute of every kind on the parent.
struct Fixture {
    api: Api,
    _sim: assets_sim::server::SimHandle,
    schema: String,
    hw: String,
    laptop: String,
    person: String,
    name_attr: String,
    attrs: std::collections::HashMap<&'static str, String>,
}

async fn fixture() -> Fixture {
    let sim = start_sim(&empty_config()).await;
    let api = Api::for_site(&sim, "s1");
    let schema = schema(&api, "Validation", "VAL").await;
    let hw = api
        .post(
            "/objecttype/create",
            json!({"name": "Hardware", "objectSchemaId": schema, "iconId": "2", "inherited": true}),
        )
        .await
        .expect(201)["id"]
        .as_str()
        .unwrap()
        .to_string();
    let laptop = object_type(&api, &schema, "Laptop", Some(&hw)).await;
    let person = object_type(&api, &schema, "Person", None).await;
    let name_attr = attr_id(&api, &hw, "Name").await;
    let status = api
        .post(
            "/config/statustype",
            json!({"name": "Live", "category": 1, "objectSchemaId": schema}),
        )
        .await
        .expect(201);
    let status_id = status["id"].as_str().unwrap().to_string();
    let mut attrs = std::collections::HashMap::new();
    let specs: Vec<(&'static str, Value)> = vec![
        (
            "Text",
            json!({"name": "Text", "type": 0, "defaultTypeId": 0}),
        ),
        (
            "Serial",
            json!({"name": "Serial", "type": 0, "defaultTypeId": 0, "uniqueAttribute": true}),
        ),
        (
            "Code",
            json!({"name": "Code", "type": 0, "defaultTypeId": 0, "regexValidation": "^[A-Z]{3}$"}),
        ),
        (
            "Integer",
            json!({"name": "Integer", "type": 0, "defaultTypeId": 1}),
        ),
        (
            "Boolean",
            json!({"name": "Boolean", "type": 0, "defaultTypeId": 2}),
        ),
        (
            "Double",
            json!({"name": "Double", "type": 0, "defaultTypeId": 3}),
        ),
        (
            "Date",
            json!({"name": "Date", "type": 0, "defaultTypeId": 4}),
        ),
        (
            "Time",
            json!({"name": "Time", "type": 0, "defaultTypeId": 5}),
        ),
        (
            "DateTime",
            json!({"name": "DateTime", "type": 0, "defaultTypeId": 6}),
        ),
        ("Url", json!({"name": "Url", "type": 0, "defaultTypeId": 7})),
        (
            "Email",
            json!({"name": "Email", "type": 0, "defaultTypeId": 8, "maximumCardinality": 2}),
        ),
        (
            "Textarea",
            json!({"name": "Textarea", "type": 0, "defaultTypeId": 9}),
        ),
        (
            "Select",
            json!({"name": "Select", "type": 0, "defaultTypeId": 10, "options": "Gold,Silver", "maximumCardinality": -1}),
        ),
        ("Ip", json!({"name": "Ip", "type": 0, "defaultTypeId": 11})),
        (
            "Owner",
            json!({"name": "Owner", "type": 1, "typeValue": person, "additionalValue": "4"}),
        ),
        (
            "Sibling",
            json!({"name": "Sibling", "type": 1, "typeValue": hw, "additionalValue": "4", "includeChildObjectTypes": true}),
        ),
        ("User", json!({"name": "User", "type": 2})),
        (
            "Group",
            json!({"name": "Group", "type": 4, "maximumCardinality": -1}),
        ),
        (
            "Status",
            json!({"name": "Status", "type": 7, "typeValueMulti": [status_id.clone()]}),
        ),
        (
            "Required",
            json!({"name": "Required", "type": 0, "defaultTypeId": 0, "minimumCardinality": 1}),
        ),
    ];
    for (k, body) in specs {
        attrs.insert(k, attribute(&api, &hw, body).await);
    }
    attrs.insert("status_id", status_id);
    Fixture {
        api,
        _sim: sim,
        schema,
        hw,
        laptop,
        person,
        name_attr,
        attrs,
    }
}

impl Fixture {
    fn a(&self, k: &str) -> &str {
        &self.attrs[k]
    }
    /// A create body for a Laptop with a name, the required value, and `extra` entries.
    fn laptop_body(&self, name: &str, extra: Vec<Value>) -> Value {
        let mut attrs = vec![av(&self.name_attr, &[name]), av(self.a("Required"), &["r"])];
        attrs.extend(extra);
        json!({"objectTypeId": self.laptop, "attributes": attrs})
    }
    async fn person(&self, name: &str) -> Value {
        let name_attr = attr_id(&self.api, &self.person, "Name").await;
        self.api
            .post(
                "/object/create",
                json!({"objectTypeId": self.person, "attributes": [av(&name_attr, &[name])]}),
            )
            .await
            .expect(201)
    }
    /// Asserts a create with one extra value fails on that attribute with a message fragment.
    async fn rejects(&self, attr: &str, values: &[&str], fragment: &str) {
        let r = self
            .api
            .post(
                "/object/create",
                self.laptop_body("x1", vec![av(self.a(attr), values)]),
            )
            .await;
        assert_eq!(
            r.status, 400,
            "{attr}={values:?} should be rejected: {}",
            r.body
        );
        let key = format!("rlabs-insight-attribute-{}", self.a(attr));
        let msg = r
            .errors()
            .get(&key)
            .and_then(Value::as_str)
            .unwrap_or_else(|| panic!("no error under {key}: {}", r.body));
        assert!(
            msg.contains(fragment),
            "{attr}: message {msg:?} lacks {fragment:?}"
        );
    }
    async fn accepts(&self, attr: &str, values: &[&str]) -> Value {
        let r = self
            .api
            .post(
                "/object/create",
                self.laptop_body(
                    &format!("ok-{attr}-{}", values.join("-").len()),
                    vec![av(self.a(attr), values)],
                ),
            )
            .await;
        assert_eq!(
            r.status, 201,
            "{attr}={values:?} should be accepted: {}",
            r.body
        );
        r.body
    }
}

#[tokio::test]
async fn value_rules_per_attribute_type() {
    let f = fixture().await;
    let long = "x".repeat(256);
    f.rejects("Text", &[&long], "must be less than 255 characters")
        .await;
    f.accepts("Text", &[&"y".repeat(255)]).await;
    f.accepts("Textarea", &[&"z".repeat(5000)]).await;
    f.rejects("Integer", &["abc"], "Invalid values").await;
    f.rejects("Integer", &["2147483648"], "Invalid values")
        .await;
    f.accepts("Integer", &["-2147483648"]).await;
    f.rejects("Double", &["1.2.3"], "Invalid values").await;
    f.accepts("Double", &["42.01"]).await;
    f.rejects("Boolean", &["yes"], "Invalid values").await;
    f.accepts("Boolean", &["TRUE"]).await;
    f.rejects("Date", &["2023-02-30"], "Invalid values").await;
    f.accepts("Date", &["2023-02-13"]).await;
    f.rejects("Time", &["25:00"], "Invalid values").await;
    f.accepts("Time", &["23:59"]).await;
    f.rejects("DateTime", &["yesterday"], "Invalid values")
        .await;
    f.accepts("DateTime", &["2023-02-13T04:06:00.000Z"]).await;
    f.rejects("Url", &["ftp://x.example"], "Invalid values")
        .await;
    f.accepts("Url", &["https://x.example/a"]).await;
    f.rejects("Email", &["not-an-email"], "Invalid values")
        .await;
    f.accepts("Email", &["a@b.example", "c@d.example"]).await;
    f.rejects(
        "Email",
        &["a@b.example", "c@d.example", "e@f.example"],
        "can only contain max 2",
    )
    .await;
    f.rejects("Ip", &["300.1.1.1"], "Invalid values").await;
    f.accepts("Ip", &["10.0.0.1"]).await;
    f.rejects("Select", &["Bronze"], "Invalid values").await;
    f.accepts("Select", &["Gold", "Silver"]).await;
    f.rejects("Code", &["abcd"], "invalid due to restrictions")
        .await;
    f.accepts("Code", &["ABC"]).await;
    f.rejects("User", &["no-such-account"], "not found in Jira")
        .await;
    f.rejects("Group", &["no-such-group"], "Invalid Group(s)")
        .await;
    f.accepts("Group", &["jira-administrators"]).await;
    f.rejects("Status", &["999"], "Invalid values").await;
    f.rejects("Status", &["1"], "not allowed").await;
    let sid = f.a("status_id").to_string();
    let o = f.accepts("Status", &[&sid]).await;
    // The status reads back with its name.
    let got = f
        .api
        .get(&format!("/object/{}", o["id"].as_str().unwrap()))
        .await
        .expect(200);
    let st = got["attributes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["objectTypeAttributeId"] == f.a("Status"))
        .unwrap();
    assert_eq!(st["objectAttributeValues"][0]["status"]["name"], "Live");
}

#[tokio::test]
async fn references_users_and_uniqueness() {
    let f = fixture().await;
    let alice = f.person("Alice").await;
    f.rejects("Owner", &["Samsung"], "is not valid Object id or key")
        .await;
    f.rejects("Owner", &["999999"], "is not valid Object id or key")
        .await;
    // By id and by key.
    f.accepts("Owner", &[alice["id"].as_str().unwrap()]).await;
    let by_key = f
        .accepts("Owner", &[alice["objectKey"].as_str().unwrap()])
        .await;
    // Wrong target type: a laptop is not a Person.
    f.rejects(
        "Owner",
        &[by_key["id"].as_str().unwrap()],
        "is not of object type Person",
    )
    .await;
    // includeChildObjectTypes: a Laptop (child of Hardware) is accepted by Sibling.
    f.accepts("Sibling", &[by_key["objectKey"].as_str().unwrap()])
        .await;
    // Unique attribute: a second object with the same serial (case-insensitively) is refused.
    f.accepts("Serial", &["SN-1"]).await;
    f.rejects("Serial", &["sn-1"], "has duplicated value").await;
    // Users by account id.
    let users = f
        .api
        .jira(
            reqwest::Method::GET,
            "/rest/api/3/user/search?query=a",
            None,
        )
        .await
        .expect(200);
    let account = users[0]["accountId"].as_str().unwrap().to_string();
    let o = f.accepts("User", &[&account]).await;
    let got = f
        .api
        .get(&format!("/object/{}/attributes", o["id"].as_str().unwrap()))
        .await
        .expect(200);
    let u = got
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["objectTypeAttributeId"] == f.a("User"))
        .unwrap();
    assert_eq!(u["objectAttributeValues"][0]["value"], account.as_str());
    assert_eq!(
        u["objectAttributeValues"][0]["user"]["key"],
        account.as_str()
    );
}

#[tokio::test]
async fn object_level_rules_collect_every_error() {
    let f = fixture().await;
    // Required attribute missing, a bad integer and a long text in one body: one 400, three keys.
    let body = json!({"objectTypeId": f.laptop, "attributes": [
        av(&f.name_attr, &["multi"]), av(f.a("Integer"), &["x"]), av(f.a("Text"), &[&"t".repeat(300)]),
    ]});
    let r = f.api.post("/object/create", body).await;
    assert_eq!(r.status, 400);
    let errs = r.errors();
    assert_eq!(errs.len(), 3, "{}", r.body);
    assert_eq!(
        errs[&format!("rlabs-insight-attribute-{}", f.a("Required"))],
        "Required is required"
    );
    // Name (the label) is required too.
    let r = f
        .api
        .post(
            "/object/create",
            json!({"objectTypeId": f.laptop, "attributes": [av(f.a("Required"), &["r"])]}),
        )
        .await;
    assert!(
        r.errors()
            .contains_key(&format!("rlabs-insight-attribute-{}", f.name_attr)),
        "{}",
        r.body
    );
    // Reserved characters in a label.
    let r = f
        .api
        .post("/object/create", f.laptop_body("a=b", vec![]))
        .await;
    assert!(r.messages().contains("reserved characters"), "{}", r.body);
    // An attribute of another type, and a system attribute.
    let person_name = attr_id(&f.api, &f.person, "Name").await;
    let r = f
        .api
        .post(
            "/object/create",
            f.laptop_body("x", vec![av(&person_name, &["y"])]),
        )
        .await;
    assert_eq!(r.status, 400);
    assert!(
        r.messages().contains("does not exist on object type"),
        "{}",
        r.body
    );
    let key_attr = attr_id(&f.api, &f.hw, "Key").await;
    let r = f
        .api
        .post(
            "/object/create",
            f.laptop_body("x", vec![av(&key_attr, &["VAL-1"])]),
        )
        .await;
    assert!(r.messages().contains("is not editable"), "{}", r.body);
    // Abstract types cannot hold objects; unknown types are 404.
    let abs = f.api.post("/objecttype/create", json!({"name": "Abstract", "objectSchemaId": f.schema, "iconId": "1", "abstractObjectType": true})).await.expect(201);
    let abs_name = attr_id(&f.api, abs["id"].as_str().unwrap(), "Name").await;
    let r = f
        .api
        .post(
            "/object/create",
            json!({"objectTypeId": abs["id"], "attributes": [av(&abs_name, &["x"])]}),
        )
        .await;
    assert_eq!(r.status, 400);
    assert!(r.messages().contains("abstract"), "{}", r.body);
    assert_eq!(
        f.api
            .post(
                "/object/create",
                json!({"objectTypeId": "99999", "attributes": []})
            )
            .await
            .status,
        404
    );
    // Nothing was created by any of the failures.
    let n = f
        .api
        .post(
            "/object/aql/totalcount",
            json!({"qlQuery": format!("objectSchemaId = {}", f.schema)}),
        )
        .await
        .expect(200);
    assert_eq!(n["totalCount"], 0);
}

#[tokio::test]
async fn updates_write_history_and_keep_unlisted_values() {
    let f = fixture().await;
    let o = f
        .api
        .post(
            "/object/create",
            f.laptop_body(
                "LT-1",
                vec![av(f.a("Integer"), &["8"]), av(f.a("Text"), &["a"])],
            ),
        )
        .await
        .expect(201);
    let id = o["id"].as_str().unwrap();
    f.api
        .put(
            &format!("/object/{id}"),
            json!({"objectTypeId": f.laptop, "attributes": [av(f.a("Text"), &["b"])]}),
        )
        .await
        .expect(200);
    // Clearing a required attribute is refused; clearing an optional one works.
    let r = f
        .api
        .put(
            &format!("/object/{id}"),
            json!({"objectTypeId": f.laptop, "attributes": [av(f.a("Required"), &[])]}),
        )
        .await;
    assert_eq!(r.status, 400);
    f.api
        .put(
            &format!("/object/{id}"),
            json!({"objectTypeId": f.laptop, "attributes": [av(f.a("Integer"), &[])]}),
        )
        .await
        .expect(200);
    let attrs = f
        .api
        .get(&format!("/object/{id}/attributes"))
        .await
        .expect(200);
    let has = |a: &str| {
        attrs
            .as_array()
            .unwrap()
            .iter()
            .any(|x| x["objectTypeAttributeId"] == a)
    };
    assert!(has(f.a("Text")) && has(f.a("Required")) && !has(f.a("Integer")));
    let hist = f
        .api
        .get(&format!("/object/{id}/history?asc=true"))
        .await
        .expect(200);
    let h = hist.as_array().unwrap();
    assert_eq!(h.len(), 3, "{hist}");
    assert_eq!(h[0]["type"], 0);
    assert_eq!(
        (
            h[1]["affectedAttribute"].as_str(),
            h[1]["oldValue"].as_str(),
            h[1]["newValue"].as_str()
        ),
        (Some("Text"), Some("a"), Some("b"))
    );
    assert_eq!(h[2]["affectedAttribute"], "Integer");
    assert_eq!(h[2]["newValue"], "");
    let desc = f
        .api
        .get(&format!("/object/{id}/history"))
        .await
        .expect(200);
    assert_eq!(desc[0]["id"], h[2]["id"], "default order is newest first");
    // Changing the object type is refused.
    let r = f
        .api
        .put(
            &format!("/object/{id}"),
            json!({"objectTypeId": f.person, "attributes": []}),
        )
        .await;
    assert_eq!(r.status, 400);
}

#[tokio::test]
async fn schema_type_and_attribute_rules() {
    let f = fixture().await;
    let api = &f.api;
    for (body, field) in [
        (
            json!({"name": "Bad.Name", "objectSchemaKey": "BAD"}),
            "name",
        ),
        (
            json!({"name": "Validation", "objectSchemaKey": "OTHER"}),
            "name",
        ),
        (
            json!({"name": "Other", "objectSchemaKey": "VAL"}),
            "objectSchemaKey",
        ),
        (
            json!({"name": "Other", "objectSchemaKey": "lower"}),
            "objectSchemaKey",
        ),
        (json!({"name": "Other"}), "objectSchemaKey"),
    ] {
        let r = api.post("/objectschema/create", body.clone()).await;
        assert_eq!(r.status, 400, "{body}");
        assert!(r.errors().contains_key(field), "{body}: {}", r.body);
    }
    let r = api
        .post(
            "/objectschema/create",
            json!({"name": "Res;erved", "objectSchemaKey": "RES"}),
        )
        .await;
    assert!(r.messages().contains("reserved characters"), "{}", r.body);
    // Object types.
    for body in [
        json!({"name": "Lap:top", "objectSchemaId": f.schema, "iconId": "1"}),
        json!({"name": "Laptop", "objectSchemaId": f.schema, "iconId": "1"}),
        json!({"name": "New", "objectSchemaId": f.schema, "iconId": "9999"}),
        json!({"name": "New", "objectSchemaId": f.schema, "iconId": "1", "parentObjectTypeId": "9999"}),
        json!({"name": "New", "objectSchemaId": "9999", "iconId": "1"}),
        json!({"objectSchemaId": f.schema, "iconId": "1"}),
    ] {
        assert_eq!(
            api.post("/objecttype/create", body.clone()).await.status,
            400,
            "{body}"
        );
    }
    assert_eq!(
        api.post(
            &format!("/objecttype/{}/position", f.hw),
            json!({"toObjectTypeId": f.laptop, "position": 0})
        )
        .await
        .status,
        400
    );
    // Inheritance: the child sees the parent's attributes with the parent's ids, one label.
    let lattrs = api
        .get(&format!("/objecttype/{}/attributes", f.laptop))
        .await
        .expect(200);
    let l = lattrs.as_array().unwrap();
    assert!(l.iter().any(|a| a["id"] == f.a("Serial")));
    assert_eq!(l.iter().filter(|a| a["label"] == true).count(), 1);
    let own = api
        .get(&format!(
            "/objecttype/{}/attributes?excludeParentAttributes=true",
            f.laptop
        ))
        .await
        .expect(200);
    assert_eq!(own.as_array().unwrap().len(), 0);
    // Attributes.
    let other = schema(api, "Elsewhere", "ELS").await;
    let other_type = object_type(api, &other, "Thing", None).await;
    for (body, field) in [
        (json!({"name": "NoType"}), "type"),
        (json!({"name": "NoDefault", "type": 0}), "defaultTypeId"),
        (
            json!({"name": "Multi", "type": 0, "defaultTypeId": 0, "maximumCardinality": 3}),
            "maximumCardinality",
        ),
        (
            json!({"name": "Ref", "type": 1, "additionalValue": "4"}),
            "typeValue",
        ),
        (
            json!({"name": "Ref", "type": 1, "typeValue": f.person}),
            "additionalValue",
        ),
        (
            json!({"name": "Ref", "type": 1, "typeValue": f.person, "additionalValue": "999"}),
            "additionalValue",
        ),
        (
            json!({"name": "Cross", "type": 1, "typeValue": other_type, "additionalValue": "4"}),
            "typeValue",
        ),
        (
            json!({"name": "St", "type": 7, "typeValueMulti": ["999"]}),
            "typeValueMulti",
        ),
        (
            json!({"name": "Us", "type": 2, "typeValueMulti": ["no-such-group"]}),
            "typeValueMulti",
        ),
        (
            json!({"name": "Re", "type": 0, "defaultTypeId": 0, "regexValidation": "("}),
            "regexValidation",
        ),
        (
            json!({"name": "Op", "type": 0, "defaultTypeId": 0, "options": "a,b"}),
            "options",
        ),
        (
            json!({"name": "Un", "type": 0, "defaultTypeId": 2, "uniqueAttribute": true}),
            "uniqueAttribute",
        ),
        (
            json!({"name": "Lb", "type": 0, "defaultTypeId": 9, "label": true}),
            "label",
        ),
        (
            json!({"name": "Serial", "type": 0, "defaultTypeId": 0}),
            "name",
        ),
        (json!({"name": "Cf", "type": 3}), "type"),
    ] {
        let r = api
            .post(&format!("/objecttypeattribute/{}", f.hw), body.clone())
            .await;
        assert_eq!(r.status, 400, "{body} -> {}", r.body);
        assert!(r.errors().contains_key(field), "{body}: {}", r.body);
    }
    // "Allow others to select objects" opens the other schema to references.
    api.post(
        &format!("/global/config/objectschema/{other}/property"),
        json!({"allowOtherObjectSchema": true}),
    )
    .await
    .expect(200);
    attribute(
        api,
        &f.hw,
        json!({"name": "Cross", "type": 1, "typeValue": other_type, "additionalValue": "4"}),
    )
    .await;
    // System and label attributes cannot be removed; others can.
    let key = attr_id(api, &f.hw, "Key").await;
    assert_eq!(
        api.delete(&format!("/objecttypeattribute/{key}"))
            .await
            .status,
        400
    );
    assert_eq!(
        api.delete(&format!("/objecttypeattribute/{}", f.name_attr))
            .await
            .status,
        400
    );
    assert_eq!(
        api.delete(&format!("/objecttypeattribute/{}", f.a("Time")))
            .await
            .status,
        200
    );
    // Statuses: category range and unique names.
    assert_eq!(
        api.post("/config/statustype", json!({"name": "X", "category": 5}))
            .await
            .status,
        400
    );
    assert_eq!(
        api.post(
            "/config/statustype",
            json!({"name": "Active", "category": 1})
        )
        .await
        .status,
        400
    );
    assert_eq!(
        api.post(
            "/config/referencetype",
            json!({"name": "Link", "color": "zzzzzz"})
        )
        .await
        .status,
        400
    );
}

#[tokio::test]
async fn cascading_deletes_and_not_found() {
    let f = fixture().await;
    let api = &f.api;
    let alice = f.person("Alice").await;
    let o = api
        .post(
            "/object/create",
            f.laptop_body(
                "L",
                vec![av(f.a("Owner"), &[alice["id"].as_str().unwrap()])],
            ),
        )
        .await
        .expect(201);
    let info = api
        .get(&format!(
            "/object/{}/referenceinfo",
            alice["id"].as_str().unwrap()
        ))
        .await
        .expect(200);
    assert_eq!(info[0]["numberOfReferencedObjects"], 1);
    // Deleting the referenced object removes the reference.
    assert_eq!(
        api.delete(&format!("/object/{}", alice["id"].as_str().unwrap()))
            .await
            .status,
        200
    );
    let attrs = api
        .get(&format!("/object/{}/attributes", o["id"].as_str().unwrap()))
        .await
        .expect(200);
    assert!(
        !attrs
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["objectTypeAttributeId"] == f.a("Owner"))
    );
    // Deleting a type deletes its subtree; deleting the schema deletes everything.
    let deleted = api
        .delete(&format!("/objecttype/{}", f.hw))
        .await
        .expect(200);
    assert_eq!(deleted["name"], "Hardware");
    assert_eq!(
        api.get(&format!("/objecttype/{}", f.laptop)).await.status,
        404
    );
    assert_eq!(
        api.get(&format!("/object/{}", o["id"].as_str().unwrap()))
            .await
            .status,
        404
    );
    api.delete(&format!("/objectschema/{}", f.schema))
        .await
        .expect(200);
    for path in [
        format!("/objectschema/{}", f.schema),
        format!("/objecttype/{}", f.person),
        "/object/abc".into(),
        "/config/statustype/9999".into(),
        "/icon/9999".into(),
    ] {
        let r = api.get(&path).await;
        assert_eq!(r.status, 404, "{path}");
        assert!(r.body["errorMessages"].is_array(), "{path}: {}", r.body);
    }
}
