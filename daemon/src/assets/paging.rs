//! Pagers for the paging styles that stream: `POST /object/aql` (`startAt`/`maxResults`,
//! loop until `isLast`, never trusting `total`, which is capped and deprecated) and Jira's
//! `POST /rest/api/3/search/jql` (`nextPageToken`). The bounded lists (schemas, workspaces)
//! are collected in [`super::AssetsClient`] directly.
//!
//! A pager holds one page at a time, so a caller that writes each page away stays in flat
//! memory whatever the schema size.

use serde_json::{Value, json};

use super::{AssetsClient, Error};

/// One page of an AQL search.
#[derive(Debug, Clone, PartialEq)]
pub struct AqlPage {
    /// Offset of the first object of this page.
    pub start_at: usize,
    /// Objects with their attributes, as the API returns them.
    pub values: Vec<Value>,
    /// Definitions of the attributes present on this page (deduplicated by the API per page).
    pub object_type_attributes: Vec<Value>,
    /// Whether this is the last page.
    pub is_last: bool,
}

/// Pages through `POST /object/aql`.
#[derive(Debug)]
pub struct AqlPager {
    client: AssetsClient,
    ql: String,
    page_size: usize,
    start_at: usize,
    done: bool,
}

impl AqlPager {
    pub(super) fn new(client: AssetsClient, ql: &str, page_size: usize) -> AqlPager {
        AqlPager {
            client,
            ql: ql.to_owned(),
            page_size: page_size.max(1),
            start_at: 0,
            done: false,
        }
    }

    /// The next page, or `None` after the last one.
    ///
    /// # Errors
    ///
    /// See [`Error`]; after an error the same page is fetched again on the next call.
    pub async fn next_page(&mut self) -> Result<Option<AqlPage>, Error> {
        if self.done {
            return Ok(None);
        }
        let path = format!(
            "/object/aql?startAt={}&maxResults={}&includeAttributes=true",
            self.start_at, self.page_size
        );
        let mut page = self
            .client
            .post(&path, &json!({ "qlQuery": self.ql }))
            .await?;
        let values = take_array(&mut page, "values")
            .ok_or_else(|| Error::decode("POST", &path, "an AQL page with `values`"))?;
        let object_type_attributes =
            take_array(&mut page, "objectTypeAttributes").unwrap_or_default();
        let n = values.len();
        // `isLast` (or its twin `last`) decides; an empty page ends too, so a server that
        // never says "last" cannot loop us forever.
        let is_last = page["isLast"]
            .as_bool()
            .or_else(|| page["last"].as_bool())
            .unwrap_or(n < self.page_size)
            || n == 0;
        let start_at = self.start_at;
        self.start_at += n;
        self.done = is_last;
        Ok(Some(AqlPage {
            start_at,
            values,
            object_type_attributes,
            is_last,
        }))
    }
}

/// Pages through Jira's enhanced search.
#[derive(Debug)]
pub struct JqlPager {
    client: AssetsClient,
    jql: String,
    fields: Vec<String>,
    page_size: usize,
    next_token: Option<String>,
    done: bool,
}

impl JqlPager {
    pub(super) fn new(
        client: AssetsClient,
        jql: &str,
        fields: Vec<String>,
        page_size: usize,
    ) -> JqlPager {
        JqlPager {
            client,
            jql: jql.to_owned(),
            fields,
            page_size: page_size.max(1),
            next_token: None,
            done: false,
        }
    }

    /// The issues of the next page, or `None` after the last one.
    ///
    /// # Errors
    ///
    /// See [`Error`]; after an error the same page is fetched again on the next call.
    pub async fn next_page(&mut self) -> Result<Option<Vec<Value>>, Error> {
        const PATH: &str = "/rest/api/3/search/jql";
        if self.done {
            return Ok(None);
        }
        let mut body = json!({
            "jql": self.jql,
            "fields": self.fields,
            "maxResults": self.page_size,
        });
        if let Some(t) = &self.next_token {
            body["nextPageToken"] = Value::String(t.clone());
        }
        let mut page = self.client.jira_post(PATH, &body).await?;
        let issues = take_array(&mut page, "issues")
            .ok_or_else(|| Error::decode("POST", PATH, "a search page with `issues`"))?;
        self.next_token = page["nextPageToken"].as_str().map(str::to_owned);
        self.done = page["isLast"].as_bool().unwrap_or(false)
            || self.next_token.is_none()
            || issues.is_empty();
        Ok(Some(issues))
    }
}

/// Moves an array out of a page (no copy of a possibly large page).
fn take_array(v: &mut Value, key: &str) -> Option<Vec<Value>> {
    match v.get_mut(key)?.take() {
        Value::Array(a) => Some(a),
        _ => None,
    }
}
