//! The documented Assets rate-limit classes (reference §15.1): which class a request of the
//! Assets API belongs to, and the per-minute limit Atlassian documents for it. The daemon's
//! governor and the simulator's limiter both use this one definition, so the client spends
//! exactly the budget the server counts.

/// Endpoint classes by documented limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Class {
    /// 500/min: deprecated AQL endpoints and `POST /object/aql/totalcount`.
    AqlLegacy,
    /// 1000/min: `POST /object/aql`.
    Aql,
    /// 2000/min: object get/create, type attributes, connected tickets.
    Object,
    /// Every other Assets endpoint (configurable).
    Other,
    /// The site's Jira endpoints (configurable).
    Jira,
}

impl Class {
    /// Every class, in index order.
    pub const ALL: [Class; 5] = [
        Class::AqlLegacy,
        Class::Aql,
        Class::Object,
        Class::Other,
        Class::Jira,
    ];

    /// The snake_case name used in stats, metrics and logs.
    pub fn name(self) -> &'static str {
        match self {
            Class::AqlLegacy => "aql_legacy",
            Class::Aql => "aql",
            Class::Object => "object",
            Class::Other => "other",
            Class::Jira => "jira",
        }
    }

    /// Its index in [`Class::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }

    /// The documented per-minute limit; `None` for the classes whose limit is not documented
    /// per endpoint (a site- or config-wide default applies).
    pub fn documented_per_minute(self) -> Option<u32> {
        match self {
            Class::AqlLegacy => Some(500),
            Class::Aql => Some(1000),
            Class::Object => Some(2000),
            Class::Other | Class::Jira => None,
        }
    }
}

/// The class and endpoint template of an Assets request, given its path segments relative to
/// the workspace's API base (`["object", "aql"]`; no query) and whether it is a GET or a POST.
pub fn classify(get: bool, post: bool, segs: &[&str]) -> (Class, &'static str) {
    match segs {
        ["aql", "objects"] if get => (Class::AqlLegacy, "GET /aql/objects"),
        ["iql", "objects"] if get => (Class::AqlLegacy, "GET /iql/objects"),
        ["object", "navlist", "aql"] if post => (Class::AqlLegacy, "POST /object/navlist/aql"),
        ["object", "navlist", "iql"] if post => (Class::AqlLegacy, "POST /object/navlist/iql"),
        ["object", "aql", "totalcount"] if post => {
            (Class::AqlLegacy, "POST /object/aql/totalcount")
        }
        ["object", "aql"] if post => (Class::Aql, "POST /object/aql"),
        ["object", "create"] if post => (Class::Object, "POST /object/create"),
        ["object", _] if get => (Class::Object, "GET /object/{id}"),
        ["objecttype", _, "attributes"] if get => {
            (Class::Object, "GET /objecttype/{id}/attributes")
        }
        ["objectconnectedtickets", _, "tickets"] if get => {
            (Class::Object, "GET /objectconnectedtickets/{id}/tickets")
        }
        _ => (Class::Other, "other"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn class(get: bool, post: bool, path: &str) -> Class {
        let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        classify(get, post, &segs).0
    }

    #[test]
    fn classes_follow_the_documented_limits() {
        assert_eq!(class(false, true, "/object/aql"), Class::Aql);
        assert_eq!(
            class(false, true, "/object/aql/totalcount"),
            Class::AqlLegacy
        );
        assert_eq!(class(true, false, "/aql/objects"), Class::AqlLegacy);
        assert_eq!(class(false, true, "/object/create"), Class::Object);
        assert_eq!(class(true, false, "/object/5"), Class::Object);
        assert_eq!(class(true, false, "/object/5/history"), Class::Other);
        assert_eq!(class(false, false, "/object/5"), Class::Other);
        assert_eq!(
            class(true, false, "/objecttype/3/attributes"),
            Class::Object
        );
        assert_eq!(class(true, false, "/objectschema/list"), Class::Other);
        assert_eq!(Class::Object.documented_per_minute(), Some(2000));
        assert!(Class::ALL.iter().enumerate().all(|(i, c)| c.index() == i));
    }
}
