//! The frameworks a run maps to: the built-in catalogs (ISO/IEC 42001 Annex A, the NIST AI
//! RMF, the EU AI Act) and users' own (`--catalog`), the crosswalks that carry Annex A's
//! evidence to the others, and which of them `--framework` selects.
//!
//! Annex A is the primary framework: it is always mapped, first, because the crosswalks point
//! to it and the Statement of Applicability is its. Control IDs are unique across the
//! frameworks of a run, because review decisions are keyed by control ID.

use std::{
    collections::HashMap,
    path::{Path, PathBuf},
};

use crate::{
    catalog::{Catalog, Control},
    crosswalk::Crosswalk,
    error::{Result, user_error},
    messages::note,
};

/// The NIST AI RMF 1.0 catalog shipped in the binary.
pub const BUILTIN_NIST_AI_RMF: &str = include_str!("../../corpora/catalogs/nist-ai-rmf.yaml");
/// The EU AI Act catalog shipped in the binary.
pub const BUILTIN_EU_AI_ACT: &str = include_str!("../../corpora/catalogs/eu-ai-act.yaml");

/// The primary framework's ID.
pub const PRIMARY: &str = "iso42001-annex-a";

/// How a report names a built-in catalog's source.
pub const BUILT_IN: &str = "built in";

/// One framework of a run.
#[derive(Debug, Clone)]
pub struct Framework {
    pub catalog: Catalog,
    /// [`BUILT_IN`], or the file it was read from.
    pub source: String,
    /// The crosswalk from this framework to the primary one, when there is one.
    pub crosswalk: Option<Crosswalk>,
}

impl Framework {
    pub fn id(&self) -> &str {
        &self.catalog.framework.id
    }

    /// Is `name` this framework's ID or one of its aliases (any case)?
    pub fn is_named(&self, name: &str) -> bool {
        let f = &self.catalog.framework;
        f.id.eq_ignore_ascii_case(name) || f.aliases.iter().any(|a| a.eq_ignore_ascii_case(name))
    }
}

/// The frameworks of a run, the primary one first.
#[derive(Debug, Clone)]
pub struct Frameworks {
    list: Vec<Framework>,
}

/// What `--framework`, `--catalog` and `--crosswalk` asked for.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    /// Framework IDs or aliases; empty: the primary one (and every `--catalog` of a framework
    /// that is not built in).
    pub frameworks: Vec<String>,
    pub catalogs: Vec<PathBuf>,
    pub crosswalks: Vec<PathBuf>,
}

/// Every built-in framework, with its crosswalk.
pub fn builtins() -> Vec<Framework> {
    let parse = |text: &str, name: &str| {
        Catalog::parse(text, Path::new(name)).expect("the built-in catalogs validate (tested)")
    };
    let mut crosswalks = Crosswalk::builtins();
    let mut take = |id: &str| {
        crosswalks
            .iter()
            .position(|x| x.from_framework == id)
            .map(|i| crosswalks.remove(i))
    };
    [
        Catalog::builtin(),
        parse(
            BUILTIN_NIST_AI_RMF,
            "corpora/catalogs/nist-ai-rmf.yaml (built in)",
        ),
        parse(
            BUILTIN_EU_AI_ACT,
            "corpora/catalogs/eu-ai-act.yaml (built in)",
        ),
    ]
    .into_iter()
    .map(|catalog| Framework {
        crosswalk: take(&catalog.framework.id),
        catalog,
        source: BUILT_IN.to_string(),
    })
    .collect()
}

impl Frameworks {
    /// The primary framework alone, built in.
    pub fn primary_only() -> Self {
        let mut list = builtins();
        list.truncate(1);
        Frameworks { list }
    }

    /// Resolves a selection: built-in catalogs, replaced by a `--catalog` of the same framework
    /// ID, others added (and selected); crosswalk files attached to their framework; every
    /// crosswalk checked against its two catalogs. Errors name the file and line, or the
    /// frameworks there are.
    pub fn load(sel: &Selection) -> Result<Self> {
        let mut available = builtins();
        let mut selected: Vec<String> = if sel.frameworks.is_empty() {
            vec![PRIMARY.to_string()]
        } else {
            sel.frameworks
                .iter()
                .map(|s| s.trim().to_string())
                .collect()
        };
        for path in &sel.catalogs {
            let catalog = Catalog::load(path)?;
            let source = path.display().to_string();
            let same = available.iter().position(|f| {
                f.is_named(&catalog.framework.id)
                    || catalog.framework.aliases.iter().any(|a| f.is_named(a))
            });
            match same {
                Some(i) => {
                    available[i].catalog = catalog;
                    available[i].source = source;
                }
                None => {
                    if !selected.contains(&catalog.framework.id) {
                        selected.push(catalog.framework.id.clone());
                    }
                    available.push(Framework {
                        catalog,
                        source,
                        crosswalk: None,
                    });
                }
            }
        }
        for path in &sel.crosswalks {
            let x = Crosswalk::load(path)?;
            if !available[0].is_named(&x.to_framework) {
                user_error!(
                    "{}: to_framework is {}, but crosswalks must point to {PRIMARY}",
                    path.display(),
                    x.to_framework
                );
            }
            let Some(f) = available.iter_mut().find(|f| f.is_named(&x.from_framework)) else {
                user_error!(
                    "{}: from_framework {} is not a loaded framework; load its catalog with --catalog",
                    path.display(),
                    x.from_framework
                );
            };
            f.crosswalk = Some(x);
        }

        let mut order = vec![0];
        for name in &selected {
            let Some(i) = available.iter().position(|f| f.is_named(name)) else {
                let known: Vec<String> = available
                    .iter()
                    .map(|f| f.catalog.framework.id.clone())
                    .collect();
                user_error!(
                    "there is no framework {name:?}; the frameworks are {} (or load your own with --catalog FILE)",
                    known.join(", ")
                );
            };
            if !order.contains(&i) {
                order.push(i);
            }
        }
        let mut slots: Vec<Option<Framework>> = available.into_iter().map(Some).collect();
        let mut list: Vec<Framework> = order.iter().filter_map(|&i| slots[i].take()).collect();

        // Review decisions are keyed by control ID: two frameworks cannot share one.
        let mut owner: HashMap<&str, &Framework> = HashMap::new();
        for f in &list {
            for (_, c) in f.catalog.controls() {
                if let Some(other) = owner.insert(&c.id, f) {
                    user_error!(
                        "control ID {} is in both {} ({}) and {} ({}); controlmap keys review \
                         decisions by control ID, so the frameworks of one run must not share one",
                        c.id,
                        other.catalog.framework.name,
                        other.source,
                        f.catalog.framework.name,
                        f.source
                    );
                }
            }
        }
        let (primary, rest) = list.split_first_mut().expect("the primary framework");
        for f in rest {
            let Some(x) = &f.crosswalk else { continue };
            if let Err(e) = x.check(&f.catalog, &primary.catalog) {
                if f.source == BUILT_IN && primary.source == BUILT_IN || !sel.crosswalks.is_empty()
                {
                    return Err(e.into());
                }
                // A user's own version of a catalog need not fit the built-in crosswalk.
                note(format_args!(
                    "note: the built-in crosswalk {} does not fit the catalogs loaded ({e}); {} is mapped directly only",
                    x.name, f.catalog.framework.name
                ));
                f.crosswalk = None;
            }
        }
        Ok(Frameworks { list })
    }

    /// Every framework, the primary one first.
    pub fn all(&self) -> &[Framework] {
        &self.list
    }

    pub fn primary(&self) -> &Framework {
        &self.list[0]
    }

    /// The frameworks besides the primary one.
    pub fn others(&self) -> &[Framework] {
        &self.list[1..]
    }

    /// The framework a control ID belongs to, and the control.
    pub fn control(&self, id: &str) -> Option<(&Framework, &Control)> {
        self.list
            .iter()
            .find_map(|f| f.catalog.control(id).map(|c| (f, c)))
    }

    /// One catalog holding every framework's objectives, for lookups by control ID (search,
    /// the web UI). Not a framework of its own: it is never mapped or validated.
    pub fn combined(&self) -> Catalog {
        let mut c = self.primary().catalog.clone();
        if self.list.len() > 1 {
            c.framework.name = self
                .list
                .iter()
                .map(|f| f.catalog.framework.name.as_str())
                .collect::<Vec<_>>()
                .join(", ");
        }
        for f in self.others() {
            c.objectives.extend(f.catalog.objectives.iter().cloned());
        }
        c
    }

    /// Every built-in framework, the catalog files a workspace's last run read (`recorded`:
    /// each framework's name and source, as its report records them; those still there) and
    /// `catalogs`: what a reader of the workspace may look controls up in.
    pub fn for_workspace(recorded: &[(String, String)], catalogs: &[PathBuf]) -> Result<Self> {
        let mut files: Vec<PathBuf> = Vec::new();
        for (name, source) in recorded {
            if source == BUILT_IN || source.is_empty() {
                continue;
            }
            let file = PathBuf::from(source);
            if file.is_file() {
                files.push(file);
            } else {
                note(format_args!(
                    "note: the catalog {} of {name} is no longer there; its controls are looked up in the report only",
                    file.display()
                ));
            }
        }
        files.extend(catalogs.iter().cloned());
        Self::everything(&files)
    }

    /// Every built-in framework and every catalog file given, for readers of a workspace
    /// (search, the web UI) that look controls up by ID whichever framework they are in.
    pub fn everything(catalogs: &[PathBuf]) -> Result<Self> {
        // Catalogs of frameworks that are not built in are selected when loaded.
        let names: Vec<String> = builtins().iter().map(|f| f.id().to_string()).collect();
        Self::load(&Selection {
            frameworks: names,
            catalogs: catalogs.to_vec(),
            crosswalks: Vec::new(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(frameworks: &[&str], catalogs: &[&Path]) -> Result<Frameworks> {
        Frameworks::load(&Selection {
            frameworks: frameworks.iter().map(|s| s.to_string()).collect(),
            catalogs: catalogs.iter().map(|p| p.to_path_buf()).collect(),
            crosswalks: Vec::new(),
        })
    }

    #[test]
    fn the_built_in_frameworks_load_with_their_crosswalks() {
        let all = builtins();
        let ids: Vec<&str> = all.iter().map(|f| f.id()).collect();
        assert_eq!(ids, [PRIMARY, "nist-ai-rmf", "eu-ai-act"]);
        assert_eq!(all[1].catalog.controls().count(), 72);
        assert_eq!(all[1].catalog.objectives.len(), 4, "the four functions");
        assert_eq!(all[2].catalog.controls().count(), 34);
        assert!(all[0].crosswalk.is_none());
        assert!(all[1].crosswalk.is_some() && all[2].crosswalk.is_some());
        let f = load(&["iso42001", "nist-ai-rmf", "eu-ai-act"], &[]).unwrap();
        assert_eq!(f.all().len(), 3);
        assert_eq!(f.control("GOVERN 1.1").unwrap().0.id(), "nist-ai-rmf");
        assert_eq!(f.control("Art. 9").unwrap().0.id(), "eu-ai-act");
        assert_eq!(f.combined().controls().count(), 38 + 72 + 34);
    }

    #[test]
    fn the_primary_framework_is_always_first() {
        let f = load(&["EU-AI-ACT"], &[]).unwrap();
        let ids: Vec<&str> = f.all().iter().map(|f| f.id()).collect();
        assert_eq!(ids, [PRIMARY, "eu-ai-act"]);
        assert_eq!(load(&[], &[]).unwrap().all().len(), 1);
    }

    #[test]
    fn an_unknown_framework_lists_the_known_ones() {
        let e = load(&["iso27001"], &[]).unwrap_err().to_string();
        assert!(e.contains("no framework \"iso27001\""), "{e}");
        assert!(e.contains("nist-ai-rmf, eu-ai-act"), "{e}");
    }

    #[test]
    fn a_users_catalog_is_added_or_replaces_the_built_in_of_its_id() {
        let dir = tempfile::tempdir().unwrap();
        let own = dir.path().join("own.yaml");
        let text = crate::catalog::BUILTIN_ANNEX_A
            .replace("id: iso42001-annex-a", "id: acme")
            .replace("aliases: [iso42001]", "aliases: []")
            .replace("id: A.", "id: ACME.")
            .replace("group: A.", "group: ACME.");
        fs_err::write(&own, text).unwrap();
        let f = load(&[], &[&own]).unwrap();
        assert_eq!(f.all().len(), 2, "added and selected");
        assert_eq!(f.others()[0].source, own.display().to_string());

        let same = dir.path().join("iso.yaml");
        fs_err::write(
            &same,
            crate::catalog::BUILTIN_ANNEX_A.replace("title: AI policy", "title: Our AI policy"),
        )
        .unwrap();
        let f = load(&["nist-ai-rmf"], &[&same]).unwrap();
        assert_eq!(f.all().len(), 2);
        assert_eq!(
            f.primary().catalog.control("A.2.2").unwrap().title,
            "Our AI policy"
        );
        assert!(f.others()[0].crosswalk.is_some(), "it still fits");
    }

    #[test]
    fn frameworks_sharing_a_control_id_are_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let own = dir.path().join("own.yaml");
        let text = crate::catalog::BUILTIN_ANNEX_A
            .replace("id: iso42001-annex-a", "id: acme")
            .replace("aliases: [iso42001]", "aliases: []");
        fs_err::write(&own, text).unwrap();
        let e = load(&[], &[&own]).unwrap_err().to_string();
        assert!(e.contains("control ID A.2.2 is in both"), "{e}");
    }
}
