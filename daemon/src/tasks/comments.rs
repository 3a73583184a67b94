//! Task `comments`: the backup's object comments (Data Center sources) onto the restored
//! objects.
//!
//! - A target that has comments (Data Center): each comment becomes a real comment of the new
//!   object, written by the target's account, with its original author and time in its text
//!   ([`comment_text`]). Per object: one `list_comments`, one `create_comment` per comment
//!   the object lacks; a second run finds them all and sends no write.
//! - Assets Cloud has no comments API (reference §11): the comments go into a Textarea
//!   attribute `OBJECT_COMMENTS` of the object (author, time in Central European time, text;
//!   [`attribute_text`]), created once on the root of the object's type (its inheriting
//!   children see it), and the result says so. Per object: one `get_object` and, when the
//!   attribute does not hold the comments yet, one `update_object`.
//!
//! Objects not restored are skipped; a refusal is reported per object with the API's answer.

use std::collections::HashMap;

use chrono::{DateTime, FixedOffset, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Europe::Berlin;

use super::extras::{Carried, ExtrasSummary, carried, phase_ready, refusal};
use super::{Ctx, Error, TaskSummary};
use crate::model::{
    AttributeIn, Comment, CommentIn, Id, ObjectAttributeIn, ObjectComments, ObjectIn, ObjectType,
    ValueIn,
};
use crate::store::{ItemOutcome, Phase, kind};

/// Progress stage name.
const STAGE: &str = "comments";
/// The Textarea attribute holding the comments on Assets Cloud.
pub const OBJECT_COMMENTS: &str = "OBJECT_COMMENTS";
/// Textarea's default type code.
const TEXTAREA: i64 = 9;
/// Visibility role of the comments written (0: everyone who can see the object).
const ROLE_ALL: i64 = 0;

/// Who wrote a comment, for the texts.
fn author(c: &Comment) -> String {
    c.actor
        .get()
        .and_then(|a| {
            a.display_name
                .non_empty()
                .or_else(|| a.name.non_empty())
                .or_else(|| a.key.non_empty())
                .map(str::to_owned)
        })
        .unwrap_or_else(|| "unknown user".to_owned())
}

/// A comment's time as the source wrote it, parsed (ISO 8601, with `Z`, `+01:00` or Jira's
/// `+0100`).
fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    if let Ok(t) = DateTime::<FixedOffset>::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f%z") {
        return Some(t.with_timezone(&Utc));
    }
    NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f")
        .ok()
        .map(|n| Utc.from_utc_datetime(&n))
}

/// A comment's time in Central European time (`2024-03-05 14:22 CET`, `CEST` in summer); the
/// source's text as it is when it cannot be read.
pub fn central_european(created: &str) -> String {
    match parse_time(created) {
        Some(t) => t
            .with_timezone(&Berlin)
            .format("%Y-%m-%d %H:%M %Z")
            .to_string(),
        None => created.to_owned(),
    }
}

/// The text of a comment written on a Data Center target: the original author and time, then
/// the text.
pub fn comment_text(c: &Comment) -> String {
    let created = c.created.get().map(String::as_str).unwrap_or("?");
    let text = c.comment.get().map(String::as_str).unwrap_or("");
    format!("Originally by {} on {created}:\n{text}", author(c))
}

/// The value of `OBJECT_COMMENTS` on Assets Cloud: each comment as `time CET — author:` and
/// its text, oldest first, separated by blank lines.
pub fn attribute_text(comments: &[Comment]) -> String {
    comments
        .iter()
        .map(|c| {
            let created = c.created.get().map(String::as_str).unwrap_or("?");
            let text = c.comment.get().map(String::as_str).unwrap_or("");
            format!("{} — {}:\n{text}", central_european(created), author(c))
        })
        .collect::<Vec<_>>()
        .join("\n\n")
}

/// `OBJECT_COMMENTS` attributes on the target, found or created, by the id of the type that
/// shows them.
struct CommentAttrs {
    types: HashMap<String, ObjectType>,
    by_type: HashMap<String, String>,
}

impl CommentAttrs {
    async fn new(ctx: &Ctx<'_>) -> Result<CommentAttrs, Error> {
        Ok(CommentAttrs {
            types: ctx.target_types().await?,
            by_type: HashMap::new(),
        })
    }

    /// The types whose attributes `type_id` shows: itself, then its parents as far as they
    /// pass their attributes on (a parent's `inherited`).
    fn chain(&self, type_id: &str) -> Vec<String> {
        let mut out = vec![type_id.to_owned()];
        let mut at = type_id.to_owned();
        while let Some(t) = self.types.get(&at) {
            let parent = t.parent_object_type_id.get().and_then(Id::non_empty);
            let passes_on = |p: &str| self.types.get(p).is_some_and(|p| p.inherited.is_true());
            match parent {
                Some(p) if passes_on(p) && !out.iter().any(|x| x == p) => {
                    out.push(p.to_owned());
                    at = p.to_owned();
                }
                _ => break,
            }
        }
        out
    }

    /// The id of the `OBJECT_COMMENTS` attribute objects of `type_id` have: an existing one on
    /// the type or a parent it inherits from, else one created on the root of that chain.
    async fn attribute_for(&mut self, ctx: &Ctx<'_>, type_id: &str) -> Result<String, Error> {
        if let Some(id) = self.by_type.get(type_id) {
            return Ok(id.clone());
        }
        let chain = self.chain(type_id);
        let mut found = None;
        for t in &chain {
            let own = ctx.target.list_attributes(t).await?;
            if let Some(a) = own
                .iter()
                .find(|a| a.name.as_deref() == Some(OBJECT_COMMENTS))
            {
                found = Some(a.id.as_str().to_owned());
                break;
            }
        }
        let id = match found {
            Some(id) => id,
            None => {
                let root = chain.last().map(String::as_str).unwrap_or(type_id);
                let body = AttributeIn {
                    name: OBJECT_COMMENTS.to_owned(),
                    description: Some(
                        "Object comments migrated by assetark (Assets Cloud has no comments)"
                            .to_owned(),
                    ),
                    r#type: 0,
                    default_type_id: Some(TEXTAREA),
                    ..AttributeIn::default()
                };
                let created = ctx.target.create_attribute(root, &body).await?;
                created.id.as_str().to_owned()
            }
        };
        for t in chain {
            self.by_type.insert(t, id.clone());
        }
        Ok(id)
    }
}

pub(super) async fn run(ctx: &Ctx<'_>) -> Result<(TaskSummary, String), Error> {
    let mut s = ExtrasSummary {
        into: "comments".to_owned(),
        ..ExtrasSummary::default()
    };
    if let Some(why) = phase_ready(ctx, Phase::Comments).await? {
        s.into = "nothing".to_owned();
        return Ok((TaskSummary::Comments(s), why));
    }
    let objects = carried(ctx, kind::COMMENTS, |c: &ObjectComments| {
        !c.comments.is_empty()
    })
    .await?;
    s.objects = objects.len() as u64;
    s.entries = objects.iter().map(|o| o.entry.comments.len() as u64).sum();
    let total = s.objects;
    ctx.progress(STAGE, 0, total);
    let mut attrs: Option<CommentAttrs> = None;
    for (i, o) in objects.iter().enumerate() {
        ctx.check_cancel()?;
        let (outcome, message) = match &o.new_id {
            None => (
                ItemOutcome::Skipped,
                "not restored (no id in the restore's id map)".to_owned(),
            ),
            Some(new) => match ctx.target.list_comments(new).await {
                Ok(existing) => as_comments(ctx, o, new, &existing, &mut s).await?,
                Err(e) if e.is_not_offered() => {
                    s.into = format!("attribute {OBJECT_COMMENTS}");
                    let found = match &mut attrs {
                        Some(a) => a,
                        None => attrs.insert(CommentAttrs::new(ctx).await?),
                    };
                    as_attribute(ctx, o, new, found, &mut s).await?
                }
                Err(e) if e.is_retryable() => return Err(e.into()),
                Err(e) => (ItemOutcome::Failed, refusal(&format!("object {new}"), &e)),
            },
        };
        s.count(outcome);
        ctx.item(o.item(), outcome, message).await?;
        ctx.progress(STAGE, i as u64 + 1, total);
    }
    let message = if s.into == "comments" {
        format!(
            "{} of {} comments written as comments; {}",
            s.written,
            s.entries,
            s.counts()
        )
    } else {
        format!(
            "Assets Cloud has no comments API: {} comments of {} objects written into the \
             Textarea attribute {OBJECT_COMMENTS} (author, time in Central European time, \
             text); {}",
            s.entries,
            s.objects,
            s.counts()
        )
    };
    Ok((TaskSummary::Comments(s), message))
}

/// One object on a target with comments: creates those it lacks.
async fn as_comments(
    ctx: &Ctx<'_>,
    o: &Carried<ObjectComments>,
    new: &str,
    existing: &[Comment],
    s: &mut ExtrasSummary,
) -> Result<(ItemOutcome, String), Error> {
    let mut there: Vec<&str> = existing
        .iter()
        .filter_map(|c| c.comment.get().map(String::as_str))
        .collect();
    let mut written = 0u64;
    for c in &o.entry.comments {
        let text = comment_text(c);
        if let Some(pos) = there.iter().position(|t| *t == text) {
            there.swap_remove(pos);
            continue;
        }
        let body = CommentIn {
            object_id: Id::new(new),
            comment: text,
            role: ROLE_ALL,
        };
        match ctx.target.create_comment(&body).await {
            Ok(_) => {
                written += 1;
                s.written += 1;
            }
            Err(e) if e.is_retryable() => return Err(e.into()),
            Err(e) => {
                let what = format!("object {new}: {written} comments written, then");
                return Ok((ItemOutcome::Failed, refusal(&what, &e)));
            }
        }
    }
    Ok(if written == 0 {
        (
            ItemOutcome::Unchanged,
            format!(
                "object {new} holds its {} comments already",
                o.entry.comments.len()
            ),
        )
    } else {
        (
            ItemOutcome::Updated,
            format!("object {new}: {written} comments written"),
        )
    })
}

/// One object on Assets Cloud: its comments into `OBJECT_COMMENTS`.
async fn as_attribute(
    ctx: &Ctx<'_>,
    o: &Carried<ObjectComments>,
    new: &str,
    attrs: &mut CommentAttrs,
    s: &mut ExtrasSummary,
) -> Result<(ItemOutcome, String), Error> {
    let object = ctx.target.get_object(new).await?;
    let Some(type_id) = object.type_id().map(str::to_owned) else {
        return Ok((
            ItemOutcome::Failed,
            format!("object {new}: the target does not say its object type"),
        ));
    };
    let attr = match attrs.attribute_for(ctx, &type_id).await {
        Ok(a) => a,
        Err(Error::Assets(e)) if !e.is_retryable() => {
            let what = format!("attribute {OBJECT_COMMENTS} on object type {type_id}");
            return Ok((ItemOutcome::Failed, refusal(&what, &e)));
        }
        Err(e) => return Err(e),
    };
    let text = attribute_text(&o.entry.comments);
    let current = object
        .attributes()
        .iter()
        .find(|a| a.object_type_attribute_id.as_str() == attr)
        .and_then(|a| a.values().first())
        .and_then(|v| v.value.get())
        .and_then(|v| v.as_str());
    if current == Some(text.as_str()) {
        return Ok((
            ItemOutcome::Unchanged,
            format!("object {new}: {OBJECT_COMMENTS} holds its comments already"),
        ));
    }
    let body = ObjectIn {
        object_type_id: Id::new(type_id),
        attributes: vec![ObjectAttributeIn {
            object_type_attribute_id: Id::new(attr),
            object_attribute_values: vec![ValueIn { value: text }],
        }],
    };
    match ctx.target.update_object(new, &body).await {
        Ok(()) => {
            s.written += o.entry.comments.len() as u64;
            Ok((
                ItemOutcome::Updated,
                format!(
                    "object {new}: {} comments written into {OBJECT_COMMENTS}",
                    o.entry.comments.len()
                ),
            ))
        }
        Err(e) if e.is_retryable() => Err(e.into()),
        Err(e) => Ok((ItemOutcome::Failed, refusal(&format!("object {new}"), &e))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_shown_in_central_european_time() {
        assert_eq!(
            central_european("2024-01-15T09:30:00.000Z"),
            "2024-01-15 10:30 CET"
        );
        assert_eq!(
            central_european("2024-07-01T09:30:00.000+0000"),
            "2024-07-01 11:30 CEST"
        );
        assert_eq!(central_european("yesterday"), "yesterday");
    }

    #[test]
    fn texts_carry_author_and_time() {
        let c: Comment = serde_json::from_value(serde_json::json!({
            "id": 1, "comment": "Replaced the disk.", "created": "2024-01-15T09:30:00.000Z",
            "actor": {"displayName": "Hannah Schmidt", "key": "JIRAUSER10001"}
        }))
        .unwrap();
        assert_eq!(
            comment_text(&c),
            "Originally by Hannah Schmidt on 2024-01-15T09:30:00.000Z:\nReplaced the disk."
        );
        assert_eq!(
            attribute_text(&[c.clone(), c]),
            "2024-01-15 10:30 CET — Hannah Schmidt:\nReplaced the disk.\n\n\
             2024-01-15 10:30 CET — Hannah Schmidt:\nReplaced the disk."
        );
    }
}
