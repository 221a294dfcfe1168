//! Funnels computed at the collector: the tracker's own config, decoded by the engine the page
//! runs, and every stored event replayed through it. One engine in two places, so that the
//! counts here agree with the `funnel_step` events the pages sent.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use microfunnel::config::{self, ConfigError, Funnel};
use microfunnel::event::Page;
use microfunnel::host::NativeHost;
use microfunnel::json::Value;
use microfunnel::replay::{self, Counts, Stored};
use serde::{Deserialize, Serialize};

use crate::reports::host::CachingHost;
use crate::Error;

/// The valid funnels of the tracker's config; cheap to clone, all clones share one list.
#[derive(Clone, Debug)]
pub struct Funnels(Arc<[Funnel]>);

/// A funnel's counts over every stored event, as `GET /api/funnels` answers them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FunnelReport {
    /// The funnel's id.
    pub id: String,
    /// Its display name.
    pub name: String,
    /// Each step with how many attempts reached it.
    pub steps: Vec<StepReport>,
    /// How many attempts reached the last step.
    pub completed: u64,
    /// Attempts that ended early, by reason (`window`, `within`, `exclusion`, `session`).
    pub abandoned: BTreeMap<String, u64>,
}

/// One step of a [`FunnelReport`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepReport {
    /// The step's display name.
    pub name: String,
    /// How many attempts reached it.
    pub reached: u64,
}

/// A stored event as the replay needs it, owned so that it can leave the database lock.
#[derive(Debug)]
pub(crate) struct Row {
    pub(crate) client_id: String,
    pub(crate) session_id: String,
    pub(crate) name: String,
    pub(crate) ts: i64,
    pub(crate) page: Page,
    pub(crate) params: Value,
    pub(crate) segment: Value,
}

impl Funnels {
    /// Reads and decodes the tracker's config file: its valid funnels, and every problem in it
    /// with its JSON path. A file that cannot be read or is not JSON at all is an error.
    pub fn load(file: &Path) -> Result<(Funnels, Vec<ConfigError>), Error> {
        let path = PathBuf::from(file);
        let text = std::fs::read_to_string(file)
            .map_err(|source| Error::ConfigRead { path: path.clone(), source })?;
        Funnels::decode(&text).map_err(|reason| Error::ConfigJson { path, reason })
    }

    /// Decodes config text as the page does; fails only when the text is not JSON.
    pub fn decode(text: &str) -> Result<(Funnels, Vec<ConfigError>), String> {
        let root = Value::parse(text)?;
        let decoded = config::decode(&root, &NativeHost::default());
        Ok((Funnels(decoded.config.funnels.into()), decoded.errors))
    }

    /// How many funnels there are.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the config had no valid funnel.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The funnels, in the config's order.
    pub(crate) fn list(&self) -> &[Funnel] {
        &self.0
    }

    /// Replays `rows`, ordered by visitor and then by time, through every funnel.
    pub(crate) fn report(&self, rows: &[Row]) -> Vec<FunnelReport> {
        let events: Vec<Stored<'_>> = rows.iter().map(Row::stored).collect();
        // The native host would compile a step's regex again for every event it is tested on.
        let host = CachingHost::default();
        let report = |funnel: &Funnel| {
            let changes = replay::changes(funnel, &events, &host);
            FunnelReport::new(funnel, replay::count(funnel, &changes))
        };
        self.0.iter().map(report).collect()
    }
}

impl FunnelReport {
    fn new(funnel: &Funnel, counts: Counts) -> FunnelReport {
        let steps = funnel.steps.iter().zip(counts.reached);
        FunnelReport {
            id: funnel.id.clone(),
            name: funnel.name.clone(),
            steps: steps
                .map(|(step, reached)| StepReport { name: step.name.clone(), reached })
                .collect(),
            completed: counts.completed,
            abandoned: counts.abandoned.into_iter().collect(),
        }
    }
}

impl Row {
    /// A row from its columns; the page is read as the engine sees it, with path and hostname
    /// taken from the URL as in the page.
    pub(crate) fn new(
        client_id: String,
        session_id: String,
        name: String,
        ts: i64,
        page: &crate::Page,
        params: &serde_json::Value,
        segment: &serde_json::Value,
    ) -> Row {
        let mut engine_page = Page::new(&page.url, &page.title, &page.referrer);
        // A batch may carry a path without a URL; a path condition should still see it.
        if page.url.is_empty() {
            engine_page.path.clone_from(&page.path);
        }
        Row {
            client_id,
            session_id,
            name,
            ts,
            page: engine_page,
            params: Value::from_serde(params),
            segment: Value::from_serde(segment),
        }
    }

    pub(crate) fn stored(&self) -> Stored<'_> {
        Stored {
            client_id: &self.client_id,
            session_id: &self.session_id,
            name: &self.name,
            // Milliseconds since the epoch stay exact in an f64 for the next 285,000 years.
            ts: self.ts as f64,
            page: &self.page,
            params: &self.params,
            segment: &self.segment,
        }
    }
}
