//! Every response an end-to-end test receives from the simulator's Assets API is checked
//! against Atlassian's OpenAPI document. Where the document is known to be wrong, the observed
//! behaviour wins; each such exception is listed here and in sim/README.md.

use crate::kit::Resp;
use crate::openapi::Spec;

/// (operation path fragment, violation fragment, why the simulator differs from the document).
pub const KNOWN_EXCEPTIONS: &[(&str, &str, &str)] = &[(
    "/object/aql/totalcount",
    "\"self\" is a required property",
    "ObjectAQLTotalCountResult lists `self` as required but defines only `totalCount`; the documented example and every client read `totalCount` alone",
)];

/// Panics with every violation not covered by `KNOWN_EXCEPTIONS`.
#[track_caller]
pub fn check(method: &str, path: &str, r: &Resp) {
    let path = path.split('?').next().unwrap_or(path);
    if r.body.is_null() && !r.raw.is_empty() {
        return; // not JSON (PNG icons, dropped bodies): nothing to validate
    }
    if let Err(violations) = Spec::load().validate(method, path, r.status, &r.body) {
        // Paths Cloud does not have (comments, attachments) answer 404 and have no operation.
        if matches!(r.status, 404 | 405)
            && violations.iter().all(|v| v.contains("no such operation"))
        {
            return;
        }
        let left: Vec<&String> = violations
            .iter()
            .filter(|v| !v.contains("body does not match the documented schema"))
            .filter(|v| {
                !KNOWN_EXCEPTIONS
                    .iter()
                    .any(|(p, frag, _)| path.contains(p) && v.contains(frag))
            })
            .collect();
        assert!(
            left.is_empty(),
            "{method} {path} -> {}: response violates the OpenAPI document:\n  {}",
            r.status,
            left.iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join("\n  ")
        );
    }
}
