//! Entries of the full restore log and the events that mirror them. Per-object results have
//! the seed's shape `{"ObjectKey", "Result", "Message"}` with `Message` = [`OK_MESSAGE`] or the
//! API's error body, untouched; notes (a user left empty, an icon replaced ...) carry a level.

use serde_json::Value;

use super::RestoreEvent;
use crate::store::{LogLevel, NewLogEntry};

/// The message of a created object, exactly as the seed app writes it.
pub const OK_MESSAGE: &str = "{ message: 'OK' }";

/// An object was created.
pub(crate) fn object_ok(key: &str) -> NewLogEntry {
    NewLogEntry {
        level: None,
        object_key: key.to_owned(),
        result: true,
        message: Value::String(OK_MESSAGE.to_owned()),
    }
}

/// An object already in the existing schema (as `existing_key`) was not created.
pub(crate) fn object_skipped(key: &str, existing_key: &str) -> NewLogEntry {
    NewLogEntry {
        level: None,
        object_key: key.to_owned(),
        result: true,
        message: Value::String(format!("Skipped (duplicate of {existing_key})")),
    }
}

/// An object was not created because the target holds the value of its unique attribute
/// `attribute` already (in `holder`), so would refuse it.
pub(crate) fn object_unique_taken(
    key: &str,
    attribute: &str,
    value: &str,
    holder: &str,
) -> NewLogEntry {
    NewLogEntry {
        level: Some(LogLevel::Warn),
        object_key: key.to_owned(),
        result: true,
        message: Value::String(format!(
            "Skipped (unique {attribute} {value:?} is held by {holder})"
        )),
    }
}

/// The API refused an object; `body` is its error body.
pub(crate) fn object_failed(key: &str, body: Value) -> NewLogEntry {
    NewLogEntry {
        level: None,
        object_key: key.to_owned(),
        result: false,
        message: body,
    }
}

/// A note about an object (`key`) or the restore as a whole (`key` empty).
pub(crate) fn note(level: LogLevel, key: &str, message: String) -> NewLogEntry {
    NewLogEntry {
        level: Some(level),
        object_key: key.to_owned(),
        result: level != LogLevel::Error,
        message: Value::String(message),
    }
}

/// The live event of a log entry.
pub(crate) fn event(e: &NewLogEntry) -> RestoreEvent {
    match e.level {
        None => RestoreEvent::Object {
            key: e.object_key.clone(),
            result: e.result,
            message: e.message.clone(),
        },
        Some(level) => RestoreEvent::Log {
            level,
            message: match (&e.message, e.object_key.is_empty()) {
                (Value::String(s), true) => s.clone(),
                (Value::String(s), false) => format!("{}: {s}", e.object_key),
                (other, _) => other.to_string(),
            },
        },
    }
}
