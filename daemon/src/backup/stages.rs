//! The backup's stages as the one stage runner ([`crate::pipeline`]) runs them.
//!
//! - [`MainPass`]: schema, status types, reference types, object types, icons, attributes,
//!   objects, in dependency order (a stage hands what later ones need — the object types, the
//!   attribute index — through the pass). Nothing is checkpointed per stage: the backup is
//!   invisible until complete, and a failed main pass fails the whole backup.
//! - [`Background`]: the phases that fill a complete backup (history, issues, and from a Data
//!   Center source comments and attachments; a Cloud source's are `not_offered`), each with its
//!   own status in the backup row — which is the checkpoint: a phase in a terminal state
//!   (`done`, `failed`, `not_offered`) is skipped, so a job that runs again after a kill
//!   resumes its backup's phases where they stopped. A failed phase is recorded and does not
//!   stop the next one; only a failing store ends the run in error.

use std::collections::{BTreeMap, HashMap};

use super::attributes::AttrIndex;
use super::objecttypes::TypeInfo;
use super::schema::Found;
use super::{
    Ctx, Error, NOT_OFFERED_NOTE, attachments, attributes, comments, history, icons, issues,
    objects, objecttypes, referencetypes, schema, stage, statustypes,
};
use crate::assets::Flavor;
use crate::error::error_chain;
use crate::pipeline::{Flow, Pipeline, StageCount};
use crate::store::{Backup, Phase, PhaseState, PhaseStatus};

/// The stages of the main pass, in execution order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum MainStage {
    Schema,
    StatusTypes,
    ReferenceTypes,
    ObjectTypes,
    Icons,
    Attributes,
    Objects,
}

impl MainStage {
    pub(super) const ALL: [MainStage; 7] = [
        MainStage::Schema,
        MainStage::StatusTypes,
        MainStage::ReferenceTypes,
        MainStage::ObjectTypes,
        MainStage::Icons,
        MainStage::Attributes,
        MainStage::Objects,
    ];
}

/// The main pass: what its stages hand each other, and which ones ran.
pub(super) struct MainPass<'c, 'a> {
    pub ctx: &'c Ctx<'a>,
    pub found: &'c Found,
    types: Vec<TypeInfo>,
    attrs: Option<AttrIndex>,
    finished: BTreeMap<MainStage, StageCount>,
}

impl<'c, 'a> MainPass<'c, 'a> {
    pub(super) fn new(ctx: &'c Ctx<'a>, found: &'c Found) -> Self {
        MainPass {
            ctx,
            found,
            types: Vec::new(),
            attrs: None,
            finished: BTreeMap::new(),
        }
    }
}

#[async_trait::async_trait]
impl Pipeline for MainPass<'_, '_> {
    type Stage = MainStage;
    type Error = Error;

    fn key(stage: MainStage) -> &'static str {
        match stage {
            MainStage::Schema => stage::SCHEMA,
            MainStage::StatusTypes => stage::STATUS_TYPES,
            MainStage::ReferenceTypes => stage::REFERENCE_TYPES,
            MainStage::ObjectTypes => stage::OBJECT_TYPES,
            MainStage::Icons => stage::ICONS,
            MainStage::Attributes => stage::ATTRIBUTES,
            MainStage::Objects => stage::OBJECTS,
        }
    }

    fn count(&self, stage: MainStage) -> Option<StageCount> {
        self.finished.get(&stage).copied()
    }

    async fn run_stage(&mut self, stage: MainStage) -> Result<Flow, Error> {
        let ctx = self.ctx;
        match stage {
            MainStage::Schema => schema::run(ctx, self.found).await?,
            MainStage::StatusTypes => statustypes::run(ctx).await?,
            MainStage::ReferenceTypes => referencetypes::run(ctx).await?,
            MainStage::ObjectTypes => self.types = objecttypes::run(ctx).await?,
            MainStage::Icons => icons::run(ctx, &self.types).await?,
            MainStage::Attributes => {
                self.attrs = Some(attributes::run(ctx, &self.types).await?);
            }
            MainStage::Objects => {
                let attrs = self.attrs.take().unwrap_or_default();
                objects::run(ctx, attrs, self.found.object_count).await?;
            }
        }
        Ok(Flow::Continue)
    }

    async fn finish(&mut self, stage: MainStage) -> Result<(), Error> {
        self.finished.insert(
            stage,
            StageCount {
                finished: true,
                ..StageCount::default()
            },
        );
        Ok(())
    }
}

/// The background phases of one complete backup, their states as stored.
pub(super) struct Background<'c, 'a> {
    ctx: &'c Ctx<'a>,
    /// Every phase of [`Phase::ALL`] (`new` makes it so, and entries are only replaced):
    /// indexing it by a phase cannot fail.
    states: HashMap<Phase, PhaseState>,
    /// Whether a phase the job's shutdown interrupts stays `pending` for the job to resume
    /// (a job runs this backup), or fails as `cancelled` (nothing would resume it).
    resumable: bool,
}

impl<'c, 'a> Background<'c, 'a> {
    pub(super) fn new(ctx: &'c Ctx<'a>, backup: &Backup, resumable: bool) -> Self {
        let states = Phase::ALL
            .into_iter()
            .map(|p| (p, backup.phase(p).clone()))
            .collect();
        Background {
            ctx,
            states,
            resumable,
        }
    }

    async fn set(&mut self, phase: Phase, state: PhaseState) -> Result<(), Error> {
        self.ctx
            .store
            .set_phase(self.ctx.backup, phase, state.clone())
            .await?;
        self.states.insert(phase, state);
        Ok(())
    }

    /// Ends the phases not in a terminal state when the run stopped: `pending` for the job to
    /// resume, or `failed` when nothing would.
    pub(super) async fn stopped(&mut self) -> Result<(), Error> {
        for phase in Phase::ALL {
            if terminal(&self.states[&phase]) {
                continue;
            }
            let state = if self.resumable {
                PhaseState {
                    status: PhaseStatus::Pending,
                    note: Some("interrupted by shutdown; resumes when its job runs again".into()),
                }
            } else {
                PhaseState {
                    status: PhaseStatus::Failed,
                    note: Some("cancelled".into()),
                }
            };
            self.set(phase, state).await?;
        }
        Ok(())
    }
}

/// Whether a phase has ended for good.
fn terminal(state: &PhaseState) -> bool {
    matches!(
        state.status,
        PhaseStatus::Done | PhaseStatus::Failed | PhaseStatus::NotOffered
    )
}

#[async_trait::async_trait]
impl Pipeline for Background<'_, '_> {
    type Stage = Phase;
    type Error = Error;

    fn key(phase: Phase) -> &'static str {
        match phase {
            Phase::History => stage::HISTORY,
            Phase::Issues => stage::ISSUES,
            Phase::Comments => stage::COMMENTS,
            Phase::Attachments => stage::ATTACHMENTS,
        }
    }

    fn count(&self, phase: Phase) -> Option<StageCount> {
        let state = self.states.get(&phase)?;
        Some(StageCount {
            finished: terminal(state),
            ..StageCount::default()
        })
    }

    async fn run_stage(&mut self, phase: Phase) -> Result<Flow, Error> {
        self.set(phase, PhaseState::new(PhaseStatus::Running))
            .await?;
        let ctx = self.ctx;
        let result = match phase {
            Phase::History => history::run(ctx).await,
            Phase::Issues => issues::run(ctx).await,
            Phase::Comments | Phase::Attachments if ctx.api.flavor() == Flavor::Cloud => {
                Err(Error::NotOffered)
            }
            Phase::Comments => comments::run(ctx).await,
            _ => attachments::run(ctx).await,
        };
        let state = match result {
            Ok(note) => PhaseState {
                status: PhaseStatus::Done,
                note: Some(note),
            },
            Err(Error::NotOffered) => PhaseState {
                status: PhaseStatus::NotOffered,
                note: Some(NOT_OFFERED_NOTE.to_owned()),
            },
            Err(Error::Cancelled) => {
                // The run stops; `stopped` records what becomes of this phase.
                return Ok(Flow::Stopped);
            }
            Err(Error::Store(e)) => {
                // The store itself failing is not a phase problem; give up loudly, but leave
                // the phase in a state that says so.
                let state = PhaseState {
                    status: PhaseStatus::Failed,
                    note: Some("store failure".into()),
                };
                let _ = self.set(phase, state).await;
                return Err(Error::Store(e));
            }
            Err(e) => {
                let note = error_chain(&e);
                tracing::warn!(backup = ctx.backup, phase = %phase, error = %note, "Background phase failed.");
                PhaseState {
                    status: PhaseStatus::Failed,
                    note: Some(note),
                }
            }
        };
        // Held until the runner checkpoints the phase in `finish`.
        self.states.insert(phase, state);
        Ok(Flow::Continue)
    }

    async fn finish(&mut self, phase: Phase) -> Result<(), Error> {
        let state = self.states[&phase].clone();
        self.set(phase, state).await
    }
}
