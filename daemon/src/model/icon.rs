//! Icons (reference §10): [`Icon`] as `GET /icon/{id}`, `GET /icon/global` and an object
//! type's `icon` return it, and [`IconPng`], the form a backup stores an icon's image in (every
//! blob is JSON, so the PNG travels base64-encoded).

use base64::Engine;
use serde::{Deserialize, Serialize};

use super::{Extra, Id, Nullable};

/// An icon.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Icon {
    /// Icon id.
    pub id: Id,
    /// Name.
    #[serde(default, skip_serializing_if = "Nullable::is_absent")]
    pub name: Nullable<String>,
    /// 16 px image URL.
    #[serde(default, skip_serializing_if = "Nullable::is_absent")]
    pub url16: Nullable<String>,
    /// 48 px image URL.
    #[serde(default, skip_serializing_if = "Nullable::is_absent")]
    pub url48: Nullable<String>,
    /// Fields not modelled here.
    #[serde(flatten)]
    pub extra: Extra,
}

impl Icon {
    /// The name (empty when missing).
    pub fn name(&self) -> &str {
        self.name.as_deref().unwrap_or("")
    }
}

/// Content type of stored icon images.
pub const PNG: &str = "image/png";

/// An icon image as a backup stores it: `{"id", "size", "contentType", "base64"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IconPng {
    /// Icon id.
    pub id: String,
    /// Edge length in pixels.
    pub size: u32,
    /// Always [`PNG`].
    pub content_type: String,
    /// The image, standard base64.
    pub base64: String,
}

impl IconPng {
    /// Wraps PNG bytes.
    pub fn new(id: &str, size: u32, png: &[u8]) -> IconPng {
        IconPng {
            id: id.to_owned(),
            size,
            content_type: PNG.to_owned(),
            base64: base64::engine::general_purpose::STANDARD.encode(png),
        }
    }

    /// The PNG bytes.
    ///
    /// # Errors
    ///
    /// When `base64` is not valid base64.
    pub fn bytes(&self) -> Result<Vec<u8>, base64::DecodeError> {
        base64::engine::general_purpose::STANDARD.decode(&self.base64)
    }
}
