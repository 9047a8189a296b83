//! Finding a model directory on disk. Nothing is ever downloaded.

use std::path::{Path, PathBuf};

use crate::{Error, Result};

/// The Hugging Face repository of the default model.
pub const DEFAULT_MODEL_REPO: &str = "sentence-transformers/all-MiniLM-L6-v2";

/// The one command that installs the default model where [`locate_model`] finds it.
pub const FETCH_COMMAND: &str = "scripts/fetch-model";

/// The places to look for a model, in order; the first that holds one wins.
#[derive(Debug, Clone, Default)]
pub struct ModelSearch {
    /// `--model DIR`.
    pub explicit: Option<PathBuf>,
    /// `CONTROLMAP_MODEL`.
    pub env: Option<PathBuf>,
    /// Hugging Face hub caches to search, in order (`$HF_HOME/hub`, then `~/.cache/huggingface/hub`).
    pub hub_caches: Vec<PathBuf>,
    /// Hugging Face repository to look for in the caches.
    pub repo: String,
}

impl ModelSearch {
    /// The standard search: `explicit`, then `CONTROLMAP_MODEL`, then the Hugging Face caches
    /// (`$HF_HOME/hub`, `~/.cache/huggingface/hub`; the fetch script installs into the first).
    pub fn from_env(explicit: Option<PathBuf>) -> Self {
        let env = std::env::var_os("CONTROLMAP_MODEL")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from);
        let mut hub_caches = Vec::new();
        if let Some(hf_home) = std::env::var_os("HF_HOME").filter(|v| !v.is_empty()) {
            hub_caches.push(PathBuf::from(hf_home).join("hub"));
        }
        if let Some(home) = std::env::var_os("HOME").filter(|v| !v.is_empty()) {
            let default = PathBuf::from(home).join(".cache/huggingface/hub");
            if !hub_caches.contains(&default) {
                hub_caches.push(default);
            }
        }
        Self {
            explicit,
            env,
            hub_caches,
            repo: DEFAULT_MODEL_REPO.to_string(),
        }
    }
}

/// True when `dir` has the files a sentence-embedding model needs.
fn is_model_dir(dir: &Path) -> bool {
    ["config.json", "tokenizer.json", "model.safetensors"]
        .iter()
        .all(|f| dir.join(f).is_file())
}

/// Snapshot folders of `repo` in a hub cache, the one `refs/main` names first.
fn hub_snapshots(cache: &Path, repo: &str) -> Vec<PathBuf> {
    let root = cache.join(format!("models--{}", repo.replace('/', "--")));
    let mut snapshots: Vec<PathBuf> = std::fs::read_dir(root.join("snapshots"))
        .map(|rd| rd.filter_map(|e| e.ok()).map(|e| e.path()).collect())
        .unwrap_or_default();
    snapshots.sort();
    if let Ok(main) = std::fs::read_to_string(root.join("refs/main")) {
        let main = root.join("snapshots").join(main.trim());
        if let Some(pos) = snapshots.iter().position(|s| *s == main) {
            let m = snapshots.remove(pos);
            snapshots.insert(0, m);
        }
    }
    snapshots
}

/// The first model directory in `search`, or an error listing every place searched and the
/// command that fetches the default model.
///
/// An explicit `--model` or `CONTROLMAP_MODEL` that does not hold a model is an error of its
/// own: the user named it, so falling through to another model would be a surprise.
pub fn locate_model(search: &ModelSearch) -> Result<PathBuf> {
    for (origin, dir) in [
        ("--model", &search.explicit),
        ("CONTROLMAP_MODEL", &search.env),
    ] {
        if let Some(dir) = dir {
            if is_model_dir(dir) {
                return Ok(dir.clone());
            }
            return Err(Error::InvalidModel {
                dir: dir.clone(),
                reason: format!(
                    "named by {origin}, but it lacks config.json, tokenizer.json or model.safetensors"
                ),
            });
        }
    }
    let mut searched = vec![
        "--model DIR (not given)".to_string(),
        "$CONTROLMAP_MODEL (not set)".to_string(),
    ];
    for cache in &search.hub_caches {
        for snap in hub_snapshots(cache, &search.repo) {
            if is_model_dir(&snap) {
                return Ok(snap);
            }
        }
        searched.push(format!(
            "{}/models--{}/snapshots/*/",
            cache.display(),
            search.repo.replace('/', "--")
        ));
    }
    Err(Error::ModelNotFound {
        searched,
        fetch: FETCH_COMMAND.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fake_model(dir: &Path) {
        std::fs::create_dir_all(dir).unwrap();
        for f in ["config.json", "tokenizer.json", "model.safetensors"] {
            std::fs::write(dir.join(f), b"{}").unwrap();
        }
    }

    fn search(
        explicit: Option<PathBuf>,
        env: Option<PathBuf>,
        caches: Vec<PathBuf>,
    ) -> ModelSearch {
        ModelSearch {
            explicit,
            env,
            hub_caches: caches,
            repo: DEFAULT_MODEL_REPO.into(),
        }
    }

    #[test]
    fn explicit_beats_env_beats_cache() {
        let t = tempfile::tempdir().unwrap();
        let (a, b) = (t.path().join("a"), t.path().join("b"));
        let cache = t.path().join("hub");
        let snap = cache.join("models--sentence-transformers--all-MiniLM-L6-v2/snapshots/rev1");
        for d in [&a, &b, &snap] {
            fake_model(d);
        }
        let s = search(Some(a.clone()), Some(b.clone()), vec![cache.clone()]);
        assert_eq!(locate_model(&s).unwrap(), a);
        let s = search(None, Some(b.clone()), vec![cache.clone()]);
        assert_eq!(locate_model(&s).unwrap(), b);
        let s = search(None, None, vec![cache]);
        assert_eq!(locate_model(&s).unwrap(), snap);
    }

    #[test]
    fn refs_main_picks_the_snapshot() {
        let t = tempfile::tempdir().unwrap();
        let root = t
            .path()
            .join("models--sentence-transformers--all-MiniLM-L6-v2");
        fake_model(&root.join("snapshots/aaa"));
        fake_model(&root.join("snapshots/zzz"));
        std::fs::create_dir_all(root.join("refs")).unwrap();
        std::fs::write(root.join("refs/main"), "zzz\n").unwrap();
        let s = search(None, None, vec![t.path().to_path_buf()]);
        assert_eq!(locate_model(&s).unwrap(), root.join("snapshots/zzz"));
    }

    #[test]
    fn missing_model_lists_places_and_fetch_command() {
        let t = tempfile::tempdir().unwrap();
        let s = search(
            None,
            None,
            vec![t.path().join("hub1"), t.path().join("hub2")],
        );
        let msg = locate_model(&s).unwrap_err().to_string();
        assert!(
            msg.contains("hub1/models--sentence-transformers--all-MiniLM-L6-v2"),
            "{msg}"
        );
        assert!(msg.contains("hub2/"), "{msg}");
        assert!(msg.contains("CONTROLMAP_MODEL"), "{msg}");
        assert!(msg.contains(FETCH_COMMAND), "{msg}");
    }

    #[test]
    fn explicit_dir_without_model_is_an_error_not_a_fallthrough() {
        let t = tempfile::tempdir().unwrap();
        let cache = t.path().join("hub");
        fake_model(&cache.join("models--sentence-transformers--all-MiniLM-L6-v2/snapshots/r"));
        let s = search(Some(t.path().join("nope")), None, vec![cache]);
        let msg = locate_model(&s).unwrap_err().to_string();
        assert!(msg.contains("nope") && msg.contains("--model"), "{msg}");
    }
}
