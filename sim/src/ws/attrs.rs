//! Object type attribute rules: type codes and their config (references, statuses, users,
//! selects), cardinality, labels, unique attributes, regexes, and what system attributes allow.

use super::{Workspace, parse_id};
use crate::error::{ApiError, ApiResult};
use crate::model::*;

/// The fields of an attribute create or update body; `None` = not given.
#[derive(Debug, Clone, Default)]
pub struct AttrSpec {
    pub name: Option<String>,
    pub label: Option<bool>,
    pub description: Option<String>,
    pub type_code: Option<i64>,
    pub default_type_id: Option<i64>,
    pub type_value: Option<String>,
    pub type_value_multi: Option<Vec<String>>,
    pub additional_value: Option<String>,
    pub min_cardinality: Option<i64>,
    pub max_cardinality: Option<i64>,
    pub suffix: Option<String>,
    pub include_child_object_types: Option<bool>,
    pub hidden: Option<bool>,
    pub unique: Option<bool>,
    pub summable: Option<bool>,
    pub regex_validation: Option<String>,
    pub ql_query: Option<String>,
    pub options: Option<String>,
}

fn bad(field: &str, msg: impl Into<String>) -> ApiError {
    ApiError::field(field, msg)
}

impl Workspace {
    /// Assigns id and position and stores an attribute on its type.
    pub(super) fn insert_attr(&mut self, mut a: Attribute) -> u32 {
        self.next.attribute += 1;
        a.id = self.next.attribute;
        let own = self.type_attrs.entry(a.object_type_id).or_default();
        a.position = own.len() as i32;
        own.push(a.id);
        let id = a.id;
        self.attrs.insert(id, a);
        id
    }

    /// Removes an attribute and every value objects hold for it.
    pub(super) fn remove_attr(&mut self, id: u32) {
        let Some(a) = self.attrs.remove(&id) else {
            return;
        };
        if let Some(own) = self.type_attrs.get_mut(&a.object_type_id) {
            own.retain(|x| *x != id);
            for (i, x) in own.iter().enumerate() {
                if let Some(b) = self.attrs.get_mut(x) {
                    b.position = i as i32;
                }
            }
        }
        for o in self.objects.iter_mut().flatten() {
            o.values.retain(|v| v.attr_id != id);
        }
        self.unique_index.retain(|(aid, _), _| *aid != id);
    }

    pub fn create_attr(&mut self, type_id: u32, spec: AttrSpec) -> ApiResult<u32> {
        self.object_type(type_id)?;
        let name = spec
            .name
            .clone()
            .ok_or_else(|| bad("name", "The attribute name is required"))?;
        let type_code = spec
            .type_code
            .ok_or_else(|| bad("type", "The attribute type is required"))?;
        let kind = self.build_kind(type_id, type_code, None, &spec)?;
        let mut a = Attribute::plain(type_id, &name, kind);
        self.apply_spec(type_id, &mut a, &spec)?;
        let label = a.label;
        let id = self.insert_attr(a);
        if label {
            self.make_only_label(type_id, id);
        }
        self.touch();
        Ok(id)
    }

    pub fn update_attr(&mut self, type_id: u32, id: u32, spec: AttrSpec) -> ApiResult<()> {
        self.object_type(type_id)?;
        let old = self.attr(id)?.clone();
        if !self.visible_attrs(type_id).contains(&id) {
            return Err(ApiError::not_found(format!(
                "No object type attribute with id {id} on object type {type_id}"
            )));
        }
        if old.system.is_some() {
            let changes_kind = spec.type_code.is_some_and(|c| c != old.kind.type_code())
                || spec
                    .default_type_id
                    .is_some_and(|d| Some(d) != old.kind.default_type().map(|x| x.id()));
            let renames = spec.name.as_deref().is_some_and(|n| n != old.name);
            if changes_kind || renames || spec.label == Some(true) {
                return Err(bad(
                    "type",
                    format!("The system attribute {} cannot be changed", old.name),
                ));
            }
        }
        let mut a = old.clone();
        if let Some(n) = &spec.name {
            a.name = n.clone();
        }
        let wants_kind = spec.type_code.is_some()
            || spec.default_type_id.is_some()
            || spec.type_value.is_some()
            || spec.additional_value.is_some();
        if wants_kind {
            let code = spec.type_code.unwrap_or(old.kind.type_code());
            a.kind = self.build_kind(type_id, code, Some(&old), &spec)?;
            if a.kind != old.kind && self.attr_has_values(id) && !widening(&old.kind, &a.kind) {
                return Err(bad(
                    "type",
                    format!(
                        "The type of attribute {} cannot be changed while objects hold values for it",
                        old.name
                    ),
                ));
            }
        }
        if old.label && spec.label == Some(false) {
            return Err(bad(
                "label",
                "Set another attribute as the label instead of removing it from this one",
            ));
        }
        self.apply_spec(type_id, &mut a, &spec)?;
        if a.unique && !old.unique {
            self.index_unique(&a)?;
        } else if !a.unique && old.unique {
            self.unique_index.retain(|(aid, _), _| *aid != id);
        }
        let label = a.label && !old.label;
        self.attrs.insert(id, a);
        if label {
            self.make_only_label(type_id, id);
        }
        self.touch();
        Ok(())
    }

    pub fn delete_attr(&mut self, id: u32) -> ApiResult<()> {
        let a = self.attr(id)?;
        if a.system.is_some() || a.label {
            return Err(bad(
                "id",
                format!("The attribute {} cannot be removed", a.name),
            ));
        }
        self.remove_attr(id);
        self.touch();
        Ok(())
    }

    fn attr_has_values(&self, id: u32) -> bool {
        self.objects().any(|o| {
            o.values
                .iter()
                .any(|v| v.attr_id == id && !v.vals.is_empty())
        })
    }

    fn make_only_label(&mut self, type_id: u32, id: u32) {
        let mut scope = self.visible_attrs(type_id);
        for t in self.type_and_descendants(type_id) {
            scope.extend(self.type_attrs.get(&t).into_iter().flatten().copied());
        }
        for a in scope {
            if a != id
                && let Some(x) = self.attrs.get_mut(&a)
            {
                x.label = false;
            }
        }
    }

    /// Builds the kind for a `type` code, checking its type-specific config.
    fn build_kind(
        &self,
        type_id: u32,
        code: i64,
        old: Option<&Attribute>,
        spec: &AttrSpec,
    ) -> ApiResult<AttrKind> {
        let schema_id = self.object_type(type_id)?.schema_id;
        Ok(match code {
            0 => {
                let dt = spec
                    .default_type_id
                    .or(old.and_then(|o| o.kind.default_type()).map(DefaultType::id))
                    .ok_or_else(|| {
                        bad(
                            "defaultTypeId",
                            "defaultTypeId is mandatory for attributes of type 0 (Default)",
                        )
                    })?;
                AttrKind::Default(
                    DefaultType::from_id(dt).ok_or_else(|| {
                        bad("defaultTypeId", format!("Unknown defaultTypeId {dt}"))
                    })?,
                )
            }
            1 => {
                let (old_target, old_ref) = match old.map(|o| &o.kind) {
                    Some(AttrKind::Object {
                        target_type,
                        ref_type,
                    }) => (Some(*target_type), Some(*ref_type)),
                    _ => (None, None),
                };
                let target = match &spec.type_value {
                    Some(v) => parse_id(v).ok_or_else(|| bad("typeValue", format!("{v:?} is not an object type id")))?,
                    None => old_target.ok_or_else(|| bad("typeValue", "typeValue (the referenced object type) is mandatory for attributes of type 1 (Object)"))?,
                };
                let tt = self.types.get(&target).ok_or_else(|| {
                    bad(
                        "typeValue",
                        format!("No object type found with id: {target}"),
                    )
                })?;
                if tt.schema_id != schema_id {
                    let other = self.schema(tt.schema_id)?;
                    if !other.config.allow_other_object_schema {
                        return Err(bad(
                            "typeValue",
                            format!(
                                "The attribute refers to the schema {} which does not allow others to select objects from it",
                                other.name
                            ),
                        ));
                    }
                }
                let rt = match &spec.additional_value {
                    Some(v) => parse_id(v).ok_or_else(|| bad("additionalValue", format!("{v:?} is not a reference type id")))?,
                    None => old_ref.ok_or_else(|| bad("additionalValue", "additionalValue (the reference type) is mandatory for attributes of type 1 (Object)"))?,
                };
                match self.ref_types.get(&rt) {
                    Some(r) if r.schema_id.is_none() || r.schema_id == Some(schema_id) => {}
                    _ => {
                        return Err(bad(
                            "additionalValue",
                            format!("No reference type found with id: {rt}"),
                        ));
                    }
                }
                AttrKind::Object {
                    target_type: target,
                    ref_type: rt,
                }
            }
            2 => AttrKind::User,
            4 => AttrKind::Group,
            7 => AttrKind::Status,
            3 | 5 => {
                return Err(bad(
                    "type",
                    format!("Attribute type {code} is not available on Assets Cloud"),
                ));
            }
            _ => return Err(bad("type", format!("Unknown attribute type {code}"))),
        })
    }

    /// Applies the non-kind fields of a spec and checks the result as a whole.
    fn apply_spec(&self, type_id: u32, a: &mut Attribute, spec: &AttrSpec) -> ApiResult<()> {
        let schema_id = self.object_type(type_id)?.schema_id;
        if a.name.trim().is_empty() {
            return Err(bad("name", "The attribute name must not be empty"));
        }
        a.name = a.name.trim().to_string();
        let clash = self
            .visible_attrs(type_id)
            .into_iter()
            .filter(|x| *x != a.id)
            .any(|x| {
                self.attrs
                    .get(&x)
                    .is_some_and(|b| b.name.eq_ignore_ascii_case(&a.name))
            });
        if clash {
            return Err(bad(
                "name",
                format!(
                    "An attribute with the name {:?} already exists on this object type",
                    a.name
                ),
            ));
        }
        if let Some(v) = &spec.description {
            a.description = Some(v.clone()).filter(|s| !s.is_empty());
        }
        if let Some(v) = spec.label {
            a.label = v;
        }
        if let Some(v) = spec.hidden {
            a.hidden = v;
        }
        if let Some(v) = spec.unique {
            a.unique = v;
        }
        if let Some(v) = spec.summable {
            a.summable = v;
        }
        if let Some(v) = spec.include_child_object_types {
            a.include_child_object_types = v;
        }
        if let Some(v) = &spec.suffix {
            a.suffix = Some(v.clone()).filter(|s| !s.is_empty());
        }
        if let Some(v) = &spec.ql_query {
            a.ql_query = Some(v.clone()).filter(|s| !s.is_empty());
        }
        if let Some(v) = &spec.options {
            a.options = v
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .collect::<Vec<_>>()
                .join(",");
        }
        if let Some(v) = spec.min_cardinality {
            a.min_cardinality = v;
        }
        if let Some(v) = spec.max_cardinality {
            a.max_cardinality = v;
        }
        if let Some(v) = &spec.regex_validation {
            a.regex_validation = match v.as_str() {
                "" => None,
                v => Some(regex::Regex::new(v).map_err(|e| {
                    bad(
                        "regexValidation",
                        format!("Invalid regular expression: {e}"),
                    )
                })?),
            };
        }
        if let Some(v) = &spec.additional_value
            && !matches!(a.kind, AttrKind::Object { .. })
        {
            a.additional_value = Some(v.clone()).filter(|s| !s.is_empty());
        }
        if let Some(v) = &spec.type_value_multi {
            a.type_value_multi = v.clone();
        }
        // Whole-attribute checks.
        let dt = a.kind.default_type();
        if a.min_cardinality < 0 {
            return Err(bad(
                "minimumCardinality",
                "minimumCardinality must be 0 or greater",
            ));
        }
        if a.max_cardinality == 0 || a.max_cardinality < -1 {
            return Err(bad(
                "maximumCardinality",
                "maximumCardinality must be -1 (unlimited) or 1 or greater",
            ));
        }
        if a.max_cardinality != -1 && a.max_cardinality < a.min_cardinality {
            return Err(bad(
                "maximumCardinality",
                "maximumCardinality must not be less than minimumCardinality",
            ));
        }
        if a.max_cardinality != 1 && !a.kind.allows_multiple() {
            return Err(bad(
                "maximumCardinality",
                format!(
                    "Attributes of this type cannot hold more than one value ({})",
                    kind_name(&a.kind)
                ),
            ));
        }
        if a.label && !matches!(dt, Some(d) if d != DefaultType::Textarea) {
            return Err(bad(
                "label",
                "Only a Default attribute other than Textarea can be the label",
            ));
        }
        if a.unique
            && !matches!(dt, Some(d) if d != DefaultType::Boolean && d != DefaultType::Textarea)
        {
            return Err(bad(
                "uniqueAttribute",
                "Only Default attributes (not Boolean or Textarea) can be unique",
            ));
        }
        if a.regex_validation.is_some()
            && !matches!(
                dt,
                Some(DefaultType::Text | DefaultType::Email | DefaultType::Url)
            )
        {
            return Err(bad(
                "regexValidation",
                "regexValidation applies to Text, Email and URL attributes only",
            ));
        }
        if !a.options.is_empty() && dt != Some(DefaultType::Select) {
            return Err(bad("options", "options apply to Select attributes only"));
        }
        if a.summable && !dt.is_some_and(DefaultType::is_numeric) {
            return Err(bad(
                "summable",
                "Only Integer and Double attributes can be summable",
            ));
        }
        match a.kind {
            AttrKind::Status => {
                for s in &a.type_value_multi {
                    let ok = parse_id(s)
                        .and_then(|id| self.statuses.get(&id))
                        .is_some_and(|st| {
                            st.schema_id.is_none() || st.schema_id == Some(schema_id)
                        });
                    if !ok {
                        return Err(bad(
                            "typeValueMulti",
                            format!("No status type found with id: {s}"),
                        ));
                    }
                }
            }
            AttrKind::User => {
                for g in &a.type_value_multi {
                    if self.group(g).is_none() {
                        return Err(bad("typeValueMulti", "Invalid Group(s)"));
                    }
                }
            }
            _ => {
                if !a.type_value_multi.is_empty() {
                    return Err(bad(
                        "typeValueMulti",
                        "typeValueMulti applies to User and Status attributes only",
                    ));
                }
            }
        }
        Ok(())
    }

    /// Builds the unique index for an attribute being made unique; refuses if values clash.
    fn index_unique(&mut self, a: &Attribute) -> ApiResult<()> {
        let scope = self.type_and_descendants(a.object_type_id);
        let mut add = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for o in self.objects().filter(|o| scope.contains(&o.type_id)) {
            for v in o.values_of(a.id) {
                let k = values::unique_key(v);
                if !seen.insert(k.clone()) {
                    return Err(bad(
                        "uniqueAttribute",
                        format!("{} has duplicated value {}", a.name, k),
                    ));
                }
                add.push(((a.id, k), o.id));
            }
        }
        self.unique_index.extend(add);
        Ok(())
    }
}

use super::values;

/// A type change that keeps every stored value valid (Text to Textarea).
fn widening(old: &AttrKind, new: &AttrKind) -> bool {
    matches!(
        (old, new),
        (
            AttrKind::Default(DefaultType::Text),
            AttrKind::Default(DefaultType::Textarea)
        )
    )
}

pub fn kind_name(k: &AttrKind) -> &'static str {
    match k {
        AttrKind::Default(d) => d.name(),
        AttrKind::Object { .. } => "Object",
        AttrKind::User => "User",
        AttrKind::Group => "Group",
        AttrKind::Status => "Status",
    }
}
