//! Data Center's own wire shapes (reference §19), read into the implementation-neutral types
//! of [`crate::model`] and [`super::super::AqlPage`]: the schema list (`{"objectschemas"}`),
//! the AQL result (`ObjectListResult`: `objectEntries`, page numbers), Jira's v2 search page
//! (`startAt`/`maxResults`/`total`), and the multipart body of an attachment upload.

use serde::{Deserialize, Serialize};

use crate::model::{AttachmentUpload, Issue, Object, ObjectSchema, ObjectTypeAttribute};

/// `GET /objectschema/list`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct SchemaList {
    /// Every schema of the site.
    #[serde(default)]
    pub objectschemas: Vec<ObjectSchema>,
}

/// `GET /aql/objects` (`ObjectListResult`).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct ObjectListResult {
    /// The objects of this page.
    #[serde(default)]
    pub object_entries: Vec<Object>,
    /// Definitions of the attributes on this page.
    #[serde(default)]
    pub object_type_attributes: Vec<ObjectTypeAttribute>,
    /// The number of pages (Data Center's name for it).
    #[serde(default)]
    pub page_size: Option<u64>,
}

impl ObjectListResult {
    /// Whether the page `page` (1-based) of `per_page` objects is the last: the result's own
    /// page count when it gives one, else a short or empty page. Never loops forever: an
    /// empty page always ends.
    pub fn is_last(&self, page: u64, per_page: usize) -> bool {
        let n = self.object_entries.len();
        if n == 0 {
            return true;
        }
        match self.page_size {
            Some(pages) => page >= pages,
            None => n < per_page,
        }
    }
}

/// `POST /rest/api/2/search`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct SearchRequest<'a> {
    pub jql: &'a str,
    pub fields: &'a [String],
    pub start_at: u64,
    pub max_results: usize,
}

/// A page of `POST /rest/api/2/search`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct SearchPage {
    #[serde(default)]
    pub start_at: u64,
    #[serde(default)]
    pub total: Option<u64>,
    #[serde(default)]
    pub issues: Vec<Issue>,
}

/// A `multipart/form-data` body with the file (part `file`) and, when there is one, its
/// comment (part `comment`); returns the body and its content type. Built whole in memory so
/// the retry layer can send it again after a 429.
pub(super) fn multipart(file: &AttachmentUpload, boundary: &str) -> (Vec<u8>, String) {
    let mut body = Vec::with_capacity(file.bytes.len() + 512);
    let part = |body: &mut Vec<u8>, disposition: &str, content_type: Option<&str>| {
        body.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
        body.extend_from_slice(
            format!("Content-Disposition: form-data; {disposition}\r\n").as_bytes(),
        );
        if let Some(ct) = content_type {
            body.extend_from_slice(format!("Content-Type: {ct}\r\n").as_bytes());
        }
        body.extend_from_slice(b"\r\n");
    };
    let mime = if file.mime_type.trim().is_empty() || file.mime_type.contains(['\r', '\n']) {
        "application/octet-stream"
    } else {
        file.mime_type.as_str()
    };
    part(
        &mut body,
        &format!("name=\"file\"; filename=\"{}\"", quoted(&file.filename)),
        Some(mime),
    );
    body.extend_from_slice(&file.bytes);
    body.extend_from_slice(b"\r\n");
    if !file.comment.is_empty() {
        part(&mut body, "name=\"comment\"", None);
        body.extend_from_slice(file.comment.as_bytes());
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (body, format!("multipart/form-data; boundary={boundary}"))
}

/// A file name inside a quoted header parameter, escaped as browsers do (WHATWG form data):
/// `"` as `%22`, CR and LF as `%0D` and `%0A`.
fn quoted(name: &str) -> String {
    name.replace('"', "%22")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// A boundary that does not occur in `bytes` (random; tried again in the unlikely case).
pub(super) fn boundary_for(bytes: &[u8]) -> String {
    use rand::Rng;
    loop {
        let n: u128 = rand::rng().random();
        let b = format!("assetark-{n:032x}");
        if !bytes.windows(b.len()).any(|w| w == b.as_bytes()) {
            return b;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multipart_body_has_the_file_and_the_comment() {
        let file = AttachmentUpload {
            filename: "in\"v.csv".into(),
            mime_type: "text/csv".into(),
            bytes: b"a,b\n1,2\n".to_vec(),
            comment: "inventory".into(),
        };
        let (body, ct) = multipart(&file, "XYZ");
        assert_eq!(ct, "multipart/form-data; boundary=XYZ");
        let text = String::from_utf8(body).unwrap();
        assert_eq!(
            text,
            "--XYZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"in%22v.csv\"\r\n\
             Content-Type: text/csv\r\n\r\na,b\n1,2\n\r\n--XYZ\r\nContent-Disposition: form-data; \
             name=\"comment\"\r\n\r\ninventory\r\n--XYZ--\r\n"
        );
        let b = boundary_for(text.as_bytes());
        assert!(b.starts_with("assetark-") && !text.contains(&b));
    }

    #[test]
    fn the_last_page_comes_from_the_page_count_or_a_short_page() {
        let page = |n: usize, pages: Option<u64>| ObjectListResult {
            object_entries: (0..n)
                .map(|i| serde_json::from_value(serde_json::json!({"id": i})).unwrap())
                .collect(),
            object_type_attributes: Vec::new(),
            page_size: pages,
        };
        assert!(!page(10, Some(3)).is_last(2, 10));
        assert!(page(10, Some(3)).is_last(3, 10));
        assert!(!page(10, None).is_last(1, 10));
        assert!(page(4, None).is_last(1, 10));
        assert!(page(0, Some(9)).is_last(1, 10));
    }
}
