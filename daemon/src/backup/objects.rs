//! Stage `objects`: every object of the schema with all its values, paged through
//! `POST /object/aql` (`objectSchemaId = {id}`), each stored as its own entry exactly in the
//! shape the API returns it (attributes without nested definitions). A page is written to
//! the store while the next one is fetched, so at most two pages are in memory.
//!
//! Identity (DESIGN §4): an object that carries an `ORIGINAL_ID` value (it came from an earlier
//! restore) is stored under that value, so the first id survives any chain of backups and
//! restores; its JSON is stored unchanged. Should two objects claim the same identity (a
//! restore that duplicated objects), the later one is stored as `"{identity}@{objectId}"`
//! rather than overwriting the first.
//!
//! Volatile fields: Cloud embeds in every object's `avatar` (and in every referenced object's)
//! a `mediaClientConfig.mediaJwtToken`, a short-lived media token minted per response. It is a
//! credential and it changes on every read, so it is removed ([`strip_volatile`]); without it
//! an unchanged object is byte-identical between backups and costs nothing. Nothing else is
//! touched.
//!
//! Each page's `objectTypeAttributes` definitions that the attributes stage did not see (an
//! attribute created meanwhile) are stored as attribute entries, so every value in the backup
//! has its definition.

use std::collections::HashSet;

use serde_json::Value;

use super::attributes::AttrIndex;
use super::{Ctx, Error, entries_by_id, stage};
use crate::assets::{AqlPage, AqlPager};
use crate::model::{Object, ObjectTypeAttribute, Scalar};
use crate::store::{NewEntry, kind};

/// Objects per AQL page. A page of 500 objects is ~6 MiB of JSON and several times that as a
/// parsed tree, and two are in memory at once (one stored while the next is fetched): at 1,000
/// the peak RSS of a 200,000-object backup reached 1.66x that of a 10,000-object one, at 500 it
/// stays within 1.5x. 500 objects a page still keeps AQL far below its 1000/min budget.
pub const PAGE_SIZE: usize = 500;

/// Identity collisions, checked page by page: only needed when the schema has `ORIGINAL_ID`
/// attributes (plain ids are unique by themselves). Memory holds one page's identities, never
/// the whole schema's: identities claimed by earlier pages are looked up in the store (the
/// entries of this backup), where they already are.
struct Identities {
    enabled: bool,
    /// Identities of this page claimed so far.
    page: HashSet<String>,
    /// Identities of this page that earlier pages stored already.
    stored: HashSet<String>,
}

impl Identities {
    fn new(enabled: bool) -> Self {
        Identities {
            enabled,
            page: HashSet::new(),
            stored: HashSet::new(),
        }
    }

    /// Starts a page whose identities earlier pages stored already are `stored`.
    fn next_page(&mut self, stored: Vec<String>) {
        self.page.clear();
        self.stored.clear();
        self.stored.extend(stored);
        // A page's sets are dropped with the page; keep their capacity bounded too.
        self.page.shrink_to(PAGE_SIZE);
        self.stored.shrink_to(PAGE_SIZE);
    }

    /// How many identities are held (one page at most).
    #[cfg(test)]
    fn held(&self) -> usize {
        self.page.len() + self.stored.len()
    }

    fn claim(&mut self, identity: String, object_id: &str) -> String {
        if !self.enabled || (!self.stored.contains(&identity) && self.page.insert(identity.clone()))
        {
            return identity;
        }
        let fallback = format!("{identity}@{object_id}");
        tracing::warn!(identity = %identity, object_id, "Two objects share one original id; keeping both.");
        self.page.insert(fallback.clone());
        fallback
    }
}

pub(super) async fn run(ctx: &Ctx<'_>, mut attrs: AttrIndex, expected: u64) -> Result<(), Error> {
    let mut ids = Identities::new(!attrs.original_id.is_empty());
    let mut pager = AqlPager::new(
        ctx.api,
        &format!("objectSchemaId = {}", ctx.schema_id),
        PAGE_SIZE,
    );
    let mut done = 0u64;
    ctx.report(stage::OBJECTS, 0, expected);
    let mut page = ctx.api(pager.next_page()).await?;
    while let Some(p) = page {
        done += p.values.len() as u64;
        if ids.enabled {
            let claimed: Vec<String> = p
                .values
                .iter()
                .filter_map(|o| original_id(o, &attrs))
                .collect();
            let backup = ctx.backup;
            let stored = ctx
                .store
                .run(move |s| s.existing_entries(backup, kind::OBJECT, &claimed))
                .await?;
            ids.next_page(stored);
        }
        let entries = entries_of(p, &mut attrs, &mut ids)?;
        // Overlap the store write of this page with the fetch of the next one.
        let (_, next) = tokio::try_join!(ctx.put(entries), ctx.api(pager.next_page()))?;
        page = next;
        ctx.report(stage::OBJECTS, done, expected);
    }
    Ok(())
}

/// The entries of one page: missing attribute definitions, then the objects.
fn entries_of(
    page: AqlPage,
    attrs: &mut AttrIndex,
    ids: &mut Identities,
) -> Result<Vec<NewEntry>, Error> {
    let missing: Vec<ObjectTypeAttribute> = page
        .object_type_attributes
        .into_iter()
        .filter(|a| !attrs.known.contains(a.id.as_str()))
        .collect();
    let mut out = entries_by_id(kind::ATTRIBUTE, &missing, |a| &a.id, &mut HashSet::new())?;
    for a in &missing {
        attrs.add(a);
    }
    for obj in page.values {
        let object_id = obj.id.as_str().to_owned();
        let identity = original_id(&obj, attrs).unwrap_or_else(|| object_id.clone());
        let mut value = serde_json::to_value(&obj)?;
        strip_volatile(&mut value);
        out.push(NewEntry {
            kind: kind::OBJECT.into(),
            original_id: ids.claim(identity, &object_id),
            value,
        });
    }
    Ok(out)
}

/// Key of the per-response media token inside `avatar.mediaClientConfig`.
const MEDIA_TOKEN: &str = "mediaJwtToken";

/// Removes every [`MEDIA_TOKEN`], at any depth (referenced objects carry avatars too).
fn strip_volatile(v: &mut Value) {
    match v {
        Value::Object(m) => {
            m.remove(MEDIA_TOKEN);
            m.values_mut().for_each(strip_volatile);
        }
        Value::Array(a) => a.iter_mut().for_each(strip_volatile),
        _ => {}
    }
}

/// The object's `ORIGINAL_ID` value, if it carries a non-empty one.
fn original_id(obj: &Object, attrs: &AttrIndex) -> Option<String> {
    if attrs.original_id.is_empty() {
        return None;
    }
    obj.attributes()
        .iter()
        .filter(|a| {
            attrs
                .original_id
                .contains(a.object_type_attribute_id.as_str())
        })
        .find_map(|a| {
            a.values()
                .iter()
                .find_map(|v| {
                    v.value
                        .get()
                        .and_then(Scalar::as_str)
                        .map(str::trim)
                        .filter(|s| !s.is_empty())
                })
                .map(str::to_owned)
        })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn attr(v: Value) -> ObjectTypeAttribute {
        serde_json::from_value(v).unwrap()
    }

    fn index() -> AttrIndex {
        let mut ix = AttrIndex::default();
        ix.add(&attr(json!({"id": "9", "name": "ORIGINAL_ID"})));
        ix.add(&attr(json!({"id": "10", "name": "ORIGINAL_KEY"})));
        ix
    }

    fn obj(id: &str, orig: Option<&str>) -> Value {
        let mut attrs =
            vec![json!({"objectTypeAttributeId": "1", "objectAttributeValues": [{"value": "x"}]})];
        if let Some(o) = orig {
            attrs.push(
                json!({"objectTypeAttributeId": "9", "objectAttributeValues": [{"value": o}]}),
            );
        }
        json!({"id": id, "attributes": attrs})
    }

    #[test]
    fn media_tokens_are_stripped_at_any_depth() {
        let mut o = json!({"id": "1", "avatar": {"mediaClientConfig": {"fileId": "f", "mediaJwtToken": "eyJ"}},
            "attributes": [{"objectAttributeValues": [{"referencedObject": {"avatar": {"mediaClientConfig": {"mediaJwtToken": "eyJ2"}}}}]}]});
        strip_volatile(&mut o);
        assert!(!o.to_string().contains("mediaJwtToken"));
        assert_eq!(o["avatar"]["mediaClientConfig"]["fileId"], "f");
    }

    #[test]
    fn original_id_becomes_the_identity_and_collisions_keep_both() {
        let mut ix = index();
        let mut ids = Identities::new(true);
        let typed = |v: Value| serde_json::from_value::<Object>(v).unwrap();
        let page = AqlPage {
            start_at: 0,
            values: vec![
                typed(obj("100", Some("5"))),
                typed(obj("101", None)),
                typed(obj("102", Some("5"))),
            ],
            object_type_attributes: vec![attr(json!({"id": "11", "name": "New"}))],
            is_last: true,
        };
        let out = entries_of(page, &mut ix, &mut ids).unwrap();
        let keys: Vec<(&str, &str)> = out
            .iter()
            .map(|e| (e.kind.as_str(), e.original_id.as_str()))
            .collect();
        assert_eq!(
            keys,
            [
                ("attribute", "11"),
                ("object", "5"),
                ("object", "101"),
                ("object", "5@102")
            ]
        );
        // The object JSON is stored unchanged.
        assert_eq!(out[1].value, obj("100", Some("5")));
    }

    #[test]
    fn identities_are_held_for_one_page_and_collide_across_pages_through_the_store() {
        let mut ids = Identities::new(true);
        // Page after page of distinct identities: what is held never grows past a page.
        for p in 0..20u32 {
            ids.next_page(Vec::new());
            for i in 0..PAGE_SIZE as u32 {
                let n = p * PAGE_SIZE as u32 + i;
                assert_eq!(ids.claim(n.to_string(), &format!("o{n}")), n.to_string());
            }
            assert!(ids.held() <= PAGE_SIZE, "{} identities held", ids.held());
        }
        // An identity an earlier page stored (the store says so) collides on a later page.
        ids.next_page(vec!["7".into()]);
        assert_eq!(ids.claim("7".into(), "900"), "7@900");
        assert_eq!(ids.claim("8".into(), "901"), "8");
        assert_eq!(ids.claim("8".into(), "902"), "8@902");
    }
}
