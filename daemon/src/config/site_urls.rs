//! Where a `[[sites]]` entry points, by flavor: a Cloud site names its Assets workspace base
//! (`api_url`), its Jira site (`site_url`) and the account's `email`; a Data Center site names
//! its Jira base URL (`base_url`) and, for Basic auth, the `email` or username (without it, the
//! token is a personal access token sent as Bearer). Keys of the other flavor are errors, so a
//! half-converted entry is not silently read one way.

use super::raw::RawSite;
use super::{Problems, http_url};
use crate::assets::Flavor;
use crate::assets::dc::{ASSETS_PATH, INSIGHT_PATH};

/// The URLs and account of a site, resolved for its flavor.
pub(super) struct SiteUrls {
    /// Cloud: the workspace base; Data Center: `base_url` + the Assets prefix.
    pub api_url: String,
    /// Cloud: the Jira site; Data Center: `base_url`.
    pub site_url: String,
    /// The Basic auth user; empty on a Data Center site that uses a personal access token.
    pub email: String,
    /// Data Center: the legacy `/rest/insight/1.0` prefix.
    pub legacy_insight: bool,
}

/// Checks the flavor's keys, recording every problem.
pub(super) fn resolve(
    p: &mut Problems,
    key: &str,
    flavor: Flavor,
    site: &RawSite,
) -> Option<SiteUrls> {
    let before = p.0.len();
    let email = site.email.as_deref().map(str::trim);
    let not_for = |p: &mut Problems, name: &str, set: bool| {
        if set {
            p.add(
                format!("{key}.{name}"),
                format!("is not a key of a {} site", flavor.as_str()),
            );
        }
    };
    let urls = match flavor {
        Flavor::Cloud => {
            not_for(p, "base_url", site.base_url.is_some());
            not_for(p, "legacy_insight", site.legacy_insight.is_some());
            let api_url = required_url(p, key, "api_url", site.api_url.as_deref());
            let site_url = required_url(p, key, "site_url", site.site_url.as_deref());
            if email.is_none_or(str::is_empty) {
                p.add(format!("{key}.email"), "must not be empty");
            }
            SiteUrls {
                api_url: api_url.unwrap_or_default(),
                site_url: site_url.unwrap_or_default(),
                email: email.unwrap_or_default().to_owned(),
                legacy_insight: false,
            }
        }
        Flavor::Dc => {
            not_for(p, "api_url", site.api_url.is_some());
            not_for(p, "site_url", site.site_url.is_some());
            let base = required_url(p, key, "base_url", site.base_url.as_deref());
            if email.is_some_and(str::is_empty) {
                p.add(
                    format!("{key}.email"),
                    "must not be empty (leave it out to use the token as a personal access token)",
                );
            }
            let legacy = site.legacy_insight.unwrap_or(false);
            let base = base.unwrap_or_default();
            let prefix = if legacy { INSIGHT_PATH } else { ASSETS_PATH };
            SiteUrls {
                api_url: format!("{base}{prefix}"),
                site_url: base,
                email: email.unwrap_or_default().to_owned(),
                legacy_insight: legacy,
            }
        }
    };
    (p.0.len() == before).then_some(urls)
}

fn required_url(p: &mut Problems, key: &str, name: &str, value: Option<&str>) -> Option<String> {
    match value {
        Some(v) => http_url(p, &format!("{key}.{name}"), v),
        None => {
            p.add(
                format!("{key}.{name}"),
                "is required for a site of this flavor",
            );
            None
        }
    }
}
