//! What a run records (the `Shared` part the design calls recording): its trace, or only a count
//! of its events (`Recording::Metrics`), or a search's fault points and fingerprints.

use super::points;
use crate::trace::Trace;

/// What a run records.
#[derive(Default)]
pub(crate) struct Journal {
    pub(crate) trace: Trace,
    /// False with [`Recording::Metrics`](super::Recording::Metrics): events are counted, not stored.
    pub(crate) recording: bool,
    /// Events logged but not stored (with [`Recording::Metrics`](super::Recording::Metrics)).
    pub(crate) unrecorded: u64,
    /// With [`Recording::Explore`](super::Recording::Explore): the fault points and fingerprints.
    pub(crate) recorder: Option<Box<points::Recorder>>,
}

impl Journal {
    /// Every event logged so far, stored or not (the trace budget counts these).
    pub(crate) fn logged(&self) -> u64 {
        self.trace.len() as u64 + self.unrecorded
    }
}
