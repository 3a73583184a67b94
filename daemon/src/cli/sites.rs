//! `sites add` and `sites remove`: run-time sites, the targets of restores and migrations.
//! (`sites list` and `sites test` are one request each and live in `commands`.)

use std::io::BufRead;

use super::args::AddSiteArgs;
use super::util::{Failure, absolute, confirm, emit, segment};
use crate::api::client::ControlClient;
use crate::api::wire::{AddSiteRequest, SiteInfo, SiteRemoved, TokenText};

/// `sites add`.
pub(super) async fn add(
    client: &ControlClient,
    args: &AddSiteArgs,
    json: bool,
) -> Result<(), Failure> {
    let token = match &args.token {
        Some(token) if token == "-" => {
            let mut line = String::new();
            std::io::stdin()
                .lock()
                .read_line(&mut line)
                .map_err(|e| Failure::error(format!("cannot read the token from stdin: {e}")))?;
            Some(TokenText::new(line.trim()))
        }
        Some(token) => Some(TokenText::new(token.as_str())),
        None => None,
    };
    let request = AddSiteRequest {
        name: args.name.clone(),
        flavor: args.flavor.clone(),
        api_url: args.api_url.clone(),
        site_url: args.site_url.clone(),
        base_url: args.base_url.clone(),
        email: args.email.clone(),
        token_env: args.token_env.clone(),
        // The daemon reads the file, from its own working directory.
        token_file: args.token_file.as_deref().map(absolute).transpose()?,
        token,
    };
    let reply = client.post("/v1/sites", &request).await?;
    let added: SiteInfo = reply.parse()?;
    emit(json, &reply.body, || {
        format!(
            "site {} added (connection tested; token from {})",
            args.name,
            added.token_source.map_or("?", |t| t.as_str())
        )
    })
}

/// `sites remove`.
pub(super) async fn remove(
    client: &ControlClient,
    name: &str,
    yes: bool,
    force: bool,
    json: bool,
) -> Result<(), Failure> {
    if !yes {
        confirm(
            &format!("refusing to remove site {name} without --yes: stdin is not a terminal"),
            &format!("Remove site {name}? [y/N] "),
            &format!("site {name} not removed"),
        )?;
    }
    let path = format!("/v1/sites/{}", segment(name));
    let path = if force {
        format!("{path}?force=true")
    } else {
        path
    };
    let reply = client.delete(&path).await?;
    let removed: SiteRemoved = reply.parse()?;
    emit(json, &reply.body, || {
        if removed.stopped.is_empty() {
            format!("site {name} removed")
        } else {
            let ids: Vec<String> = removed.stopped.iter().map(i64::to_string).collect();
            format!(
                "site {name} removed (restores stopped first: {})",
                ids.join(", ")
            )
        }
    })
}
