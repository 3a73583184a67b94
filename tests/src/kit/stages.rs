//! Which request of the simulator belongs to which restore stage, so that a barrier holds
//! exactly a request of the stage a test wants to cut (a kill, a drop, a STOP while it is
//! held). The restore's module doc lists the `AssetsApi` call of each stage; these are the
//! Cloud paths of those calls (the first kind of request where a stage sends two).

use assetark::restore::Stage;
use assets_sim::barrier::BarrierSpec;

/// The method and public API path pattern of the requests a stage creates things with;
/// `None` for a stage that sends no request (icons are matched by name in the plan).
pub fn restore_stage_request(stage: Stage) -> Option<(&'static str, &'static str)> {
    match stage {
        Stage::Icons => None,
        Stage::Schema => Some(("POST", "/objectschema/create")),
        Stage::GlobalConfig => Some(("POST", "/global/config/objectschema/{id}/property")),
        Stage::GlobalStatusTypes | Stage::SchemaStatusTypes => Some(("POST", "/config/statustype")),
        Stage::ReferenceTypes | Stage::GlobalReferenceTypes => {
            Some(("POST", "/config/referencetype"))
        }
        Stage::ObjectTypes => Some(("POST", "/objecttype/create")),
        Stage::Attributes => Some(("POST", "/objecttypeattribute/{type}")),
        Stage::ObjectEntries => Some(("POST", "/object/create")),
        Stage::ObjectReferences => Some(("PUT", "/object/{id}")),
    }
}

/// A barrier spec holding the requests of `stage` to `site` (every one; narrow it with
/// `nth`/`occurrences`); `None` for a stage without requests.
pub fn restore_stage_barrier(stage: Stage, site: &str) -> Option<BarrierSpec> {
    restore_stage_request(stage).map(|(m, p)| BarrierSpec::new(m, p).site(site))
}

/// Whether two stages send their requests to the same method and path (so a barrier's
/// occurrence count of one includes the other's).
pub fn same_request(a: Stage, b: Stage) -> bool {
    restore_stage_request(a).is_some() && restore_stage_request(a) == restore_stage_request(b)
}
