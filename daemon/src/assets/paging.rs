//! Paging over any [`AssetsApi`]: the pagers walk its page methods, so every implementation
//! gets them, whatever its wire paging looks like.
//!
//! - [`AqlPager`]: an AQL search, a page at a time (offsets; the implementation says which
//!   page is the last, never trusting `total`). It holds one page at a time, so a caller that
//!   writes each page away stays in flat memory whatever the schema size.
//! - [`JqlPager`]: Jira's enhanced search (`nextPageToken`).
//! - [`all_users`]: the whole users directory; [`groups_named`]: the groups with given names.

use super::{AqlPage, AqlQuery, AssetsApi, Error};
use crate::model::{Group, Issue, JiraUser, JqlRequest};

/// Pages through an AQL search.
#[derive(Debug)]
pub struct AqlPager<'a> {
    api: &'a dyn AssetsApi,
    ql: String,
    page_size: usize,
    include_attributes: bool,
    start_at: usize,
    done: bool,
}

impl<'a> AqlPager<'a> {
    /// A pager over `ql`, `page_size` objects a page, with attribute values.
    pub fn new(api: &'a dyn AssetsApi, ql: &str, page_size: usize) -> AqlPager<'a> {
        AqlPager {
            api,
            ql: ql.to_owned(),
            page_size: page_size.max(1),
            include_attributes: true,
            start_at: 0,
            done: false,
        }
    }

    /// The same pager, its objects without attribute values (ids, keys and types only).
    #[must_use]
    pub fn without_attributes(mut self) -> AqlPager<'a> {
        self.include_attributes = false;
        self
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
        let query = AqlQuery {
            ql: &self.ql,
            start_at: self.start_at,
            page_size: self.page_size,
            include_attributes: self.include_attributes,
        };
        let page = self.api.aql(&query).await?;
        self.start_at += page.values.len();
        self.done = page.is_last;
        Ok(Some(page))
    }
}

/// Pages through Jira's enhanced search.
#[derive(Debug)]
pub struct JqlPager<'a> {
    api: &'a dyn AssetsApi,
    request: JqlRequest,
    done: bool,
}

impl<'a> JqlPager<'a> {
    /// A pager over `jql`, returning `fields`, `page_size` issues a page.
    pub fn new(
        api: &'a dyn AssetsApi,
        jql: &str,
        fields: Vec<String>,
        page_size: usize,
    ) -> JqlPager<'a> {
        JqlPager {
            api,
            request: JqlRequest {
                jql: jql.to_owned(),
                fields,
                max_results: page_size.max(1),
                next_page_token: None,
            },
            done: false,
        }
    }

    /// The issues of the next page, or `None` after the last one.
    ///
    /// # Errors
    ///
    /// See [`Error`]; after an error the same page is fetched again on the next call.
    pub async fn next_page(&mut self) -> Result<Option<Vec<Issue>>, Error> {
        if self.done {
            return Ok(None);
        }
        let page = self.api.jql(&self.request).await?;
        self.request.next_page_token = page.next_page_token;
        self.done = page.is_last.unwrap_or(false)
            || self.request.next_page_token.is_none()
            || page.issues.is_empty();
        Ok(Some(page.issues))
    }
}

/// Users per page of the directory: the most Jira returns at once.
pub const USERS_PAGE: usize = 1000;

/// The whole users directory and the requests it took. A page shorter than asked ends it (so
/// `n` users cost `n / 1000 + 1` requests).
///
/// # Errors
///
/// The first failing page's error.
pub async fn all_users(api: &dyn AssetsApi) -> Result<(Vec<JiraUser>, u64), Error> {
    let mut out = Vec::new();
    let mut requests = 0;
    loop {
        let page = api.users_page(out.len(), USERS_PAGE).await?;
        requests += 1;
        let n = page.len();
        out.extend(page);
        if n < USERS_PAGE {
            return Ok((out, requests));
        }
    }
}

/// Group names per bulk request: each is a query parameter, and URLs must stay short.
pub const GROUP_NAMES_PER_REQUEST: usize = 25;
/// Groups per bulk page.
const GROUPS_PAGE: usize = 50;

/// The groups of the site with exactly these names, and the requests it took.
///
/// # Errors
///
/// The first failing request's error.
pub async fn groups_named(
    api: &dyn AssetsApi,
    names: &[String],
) -> Result<(Vec<Group>, u64), Error> {
    let mut out = Vec::new();
    let mut requests = 0;
    for chunk in names.chunks(GROUP_NAMES_PER_REQUEST) {
        let mut start = 0;
        loop {
            let page = api.groups_page(chunk, start, GROUPS_PAGE).await?;
            requests += 1;
            let n = page.values.len();
            out.extend(page.values);
            // `isLast` decides; an empty page ends too, so a server that never says "last"
            // cannot loop us forever.
            if page.is_last.unwrap_or(n < GROUPS_PAGE) || n == 0 {
                break;
            }
            start += n;
        }
    }
    Ok((out, requests))
}
