//! End-to-end tests over real HTTP: one test binary, modules by subject.
//!
//! - config_files: every shipped config parses; bad configs are refused
//! - sim_routes: path forms, workspace discovery, auth, client quirks, missing Cloud endpoints
//! - sim_validation: every validation rule and its error body; history
//! - sim_openapi: every implemented operation called once and validated against the document
//! - sim_paging: the three paging styles
//! - sim_limits: rate limits, Retry-After, faults, admin API
//! - sim_badinput: malformed input never yields a 500
//! - sim_barrier: request barriers, in-process and over the admin API
//! - sim_dc: Data Center sites: routes, auth, shapes, paging, validation, limits
//! - sim_dc_extras: Data Center comments, attachments, dataset extras and the Jira side
//! - sim_jira: users (search, directory), groups (picker, bulk), fields, JQL and Assets fields
//!   on issues
//! - sim_jira_copy: a site holding a copy of another site's issues (jira_issues_from)
//! - sim_dataset: the cmdb dataset's shape and the OpenAPI check of every list endpoint

mod config_files;
mod sim_badinput;
mod sim_barrier;
mod sim_dataset;
mod sim_dc;
mod sim_dc_extras;
mod sim_jira;
mod sim_jira_copy;
mod sim_limits;
mod sim_openapi;
mod sim_paging;
mod sim_routes;
mod sim_validation;
