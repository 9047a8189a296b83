//! The search engine of the workspace as it is now. Loading the model takes seconds, so the
//! server keeps it, and keeps the engine (index and vectors) with a fingerprint of the files it
//! was opened from; when a `controlmap run` has changed them, the next search opens them again
//! (the model is reused). A reopening that fails, as in the middle of a run, keeps answering
//! from the last engine that opened, says so on the page and in a log line, and is tried again
//! when the files change or after [`RETRY`].

use std::{
    path::Path,
    sync::{Arc, Mutex, PoisonError},
    time::{Duration, Instant, SystemTime},
};

use controlmap_models::{
    BertEmbedder, Embedder, EmbedderOptions, Embeddings, ModelSearch, Precision, locate_model,
};

use super::Config;
use crate::{
    catalog::Catalog,
    messages::note,
    search::{Engine, workspace_precision},
    workspace,
};

/// How long a failed opening of unchanged files is answered from memory before it is tried
/// again (a failure on changed files is retried at once).
pub(super) const RETRY: Duration = Duration::from_secs(5);

/// tantivy's commit point in the index folder: rewritten, whole, at each commit.
const INDEX_META: &str = "meta.json";

/// When, and how big, each file a search depends on was last written: `run` rewrites the
/// index, then the vectors, then the report, so any run changes it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Fingerprint(Vec<Option<(SystemTime, u64)>>);

impl Fingerprint {
    fn of(ws: &Path) -> Self {
        let files = [
            ws.join(workspace::INDEX_DIR).join(INDEX_META),
            ws.join(workspace::VECTORS),
            ws.join(workspace::REPORT_JSON),
        ];
        Fingerprint(
            files
                .iter()
                .map(|f| {
                    let m = std::fs::metadata(f).ok()?;
                    Some((m.modified().ok()?, m.len()))
                })
                .collect(),
        )
    }
}

/// The engine a search uses, and why it is not the workspace as it is now, when it is not.
pub(super) struct Current {
    pub engine: Arc<Engine>,
    pub stale: Option<String>,
}

/// The kept engine and model, behind one lock: one request opens, the others wait for it and
/// then use what it opened.
#[derive(Default)]
pub(super) struct Engines {
    slot: Mutex<Slot>,
}

#[derive(Default)]
struct Slot {
    /// The last engine that opened, with the fingerprint of the files it was opened from.
    good: Option<(Fingerprint, Arc<Engine>)>,
    /// The model, with the precision it was loaded in.
    model: Option<(Precision, Arc<BertEmbedder>)>,
    /// The last failure to open: the files it failed on, when, and why.
    failed: Option<(Fingerprint, Instant, String)>,
}

impl Engines {
    /// The engine of the workspace as it is now, opened again if the workspace changed since;
    /// the last good one (with a note) if that fails; an error only if none ever opened.
    pub(super) fn current(&self, config: &Config, catalog: &Catalog) -> Result<Current, String> {
        let ws = &config.workspace;
        let now = Fingerprint::of(ws);
        // A panic while opening leaves nothing half-changed in the slot, so carry on.
        let mut slot = self.slot.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some((fp, engine)) = &slot.good
            && *fp == now
        {
            return Ok(Current {
                engine: Arc::clone(engine),
                stale: None,
            });
        }
        let retry = match &slot.failed {
            Some((fp, at, _)) => *fp != now || at.elapsed() >= RETRY,
            None => true,
        };
        if retry {
            match slot.open(config, catalog) {
                Ok(engine) => {
                    let engine = Arc::new(engine);
                    if slot.good.is_some() {
                        note(format_args!(
                            "search: reopened {} after it changed",
                            ws.display()
                        ));
                    }
                    slot.good = Some((now, Arc::clone(&engine)));
                    slot.failed = None;
                    return Ok(Current {
                        engine,
                        stale: None,
                    });
                }
                Err(e) => {
                    note(format_args!(
                        "search: cannot open {} ({e}); {}",
                        ws.display(),
                        if slot.good.is_some() {
                            "answering from the last index that opened"
                        } else {
                            "search is unavailable"
                        }
                    ));
                    slot.failed = Some((now, Instant::now(), e));
                }
            }
        }
        let why = slot.failed.as_ref().map(|(_, _, e)| e.clone());
        match &slot.good {
            Some((_, engine)) => Ok(Current {
                engine: Arc::clone(engine),
                stale: Some(format!(
                    "These results are from the workspace as it was before its last change: \
                     opening it now failed ({}). A finished `controlmap run` puts this right.",
                    why.unwrap_or_default()
                )),
            }),
            None => Err(why.unwrap_or_default()),
        }
    }
}

impl Slot {
    /// Opens the workspace's index and vectors, with the model kept from before when it is in
    /// the precision the workspace needs.
    fn open(&mut self, config: &Config, catalog: &Catalog) -> Result<Engine, String> {
        let ws = &config.workspace;
        // `TextIndex` creates an index where there is none: never in a workspace being
        // written, which would then hold an empty one.
        if !ws.join(workspace::INDEX_DIR).join(INDEX_META).is_file() {
            return Err(format!(
                "{} has no index yet (is a `controlmap run` writing it?)",
                ws.display()
            ));
        }
        let precision = config
            .precision
            .or_else(|| workspace_precision(ws))
            .unwrap_or_default();
        let model = match &self.model {
            Some((p, m)) if *p == precision => Arc::clone(m),
            _ => {
                let m = locate_model(&ModelSearch::from_env(config.model.clone()))
                    .map_err(crate::Error::from)
                    .and_then(|dir| {
                        Ok(BertEmbedder::load_with(
                            &dir,
                            EmbedderOptions {
                                device: config.device,
                                precision,
                                ..Default::default()
                            },
                        )?)
                    })
                    .map_err(|e| e.chain())?;
                let m = Arc::new(m);
                self.model = Some((precision, Arc::clone(&m)));
                m
            }
        };
        Engine::open(ws, catalog.clone(), Box::new(Shared(model))).map_err(|e| e.chain())
    }
}

/// The kept model, lent to each engine opened.
struct Shared(Arc<BertEmbedder>);

impl Embedder for Shared {
    fn dim(&self) -> usize {
        self.0.dim()
    }

    fn max_tokens(&self) -> usize {
        self.0.max_tokens()
    }

    fn count_tokens(&self, text: &str) -> controlmap_models::Result<usize> {
        self.0.count_tokens(text)
    }

    fn model_id(&self) -> &str {
        self.0.model_id()
    }

    fn embed_with_progress(
        &self,
        texts: &[&str],
        progress: &mut dyn FnMut(usize),
    ) -> controlmap_models::Result<Embeddings> {
        self.0.embed_with_progress(texts, progress)
    }
}
