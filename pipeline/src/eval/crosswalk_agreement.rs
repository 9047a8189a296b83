//! How a framework's direct mapping agrees with its crosswalk on labelled passages
//! (`eval --vectors DIR --crosswalk-agreement ID`): the labels name Annex A controls, the
//! crosswalk carries them to the framework's controls, and the framework's own mapper (its
//! catalog alone, as `run --framework` maps it) ranks the framework's controls for each
//! passage. Scored on the vectors, as `eval --vectors` scores Annex A.

use std::collections::HashSet;

use crate::{
    error::Result,
    frameworks::Framework,
    lessons::LabelledVectors,
    mapping::{Batch, Contexts, Mapper, top_k},
};

/// What the two sources say of a labelled set.
#[derive(Debug, Clone, PartialEq)]
pub struct Agreement {
    pub framework: String,
    /// Passages whose labels the crosswalk carries to at least one of the framework's
    /// controls.
    pub carried: usize,
    /// Of those, how many have the direct mapping's first control among the carried ones.
    pub first_agrees: usize,
    /// … and among its first three.
    pub top3_agrees: usize,
    /// Controls the crosswalk carries some passage's labels to, and controls the direct
    /// mapping ranks first for some labelled passage, and both.
    pub controls_by_crosswalk: usize,
    pub controls_by_direct: usize,
    pub controls_by_both: usize,
    /// Passages labelled with Annex A controls that the crosswalk carries nowhere.
    pub not_carried: usize,
}

impl std::fmt::Display for Agreement {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let share = |n: usize| n as f64 / self.carried.max(1) as f64;
        write!(
            f,
            "{}: of {} labelled passages the crosswalk carries, the direct mapping's first control is a carried one for {} ({:.3}), one of its first three for {} ({:.3}); {} passages carried nowhere. Controls with such passages: {} by the crosswalk, {} first by the direct mapping, {} by both",
            self.framework,
            self.carried,
            self.first_agrees,
            share(self.first_agrees),
            self.top3_agrees,
            share(self.top3_agrees),
            self.not_carried,
            self.controls_by_crosswalk,
            self.controls_by_direct,
            self.controls_by_both
        )
    }
}

/// Compares `mapper` (the framework's own, its catalog in catalog order) with the framework's
/// crosswalk on the labelled passages of `set` (labels of Annex A controls).
pub fn agreement(
    set: &LabelledVectors,
    framework: &Framework,
    mapper: &Mapper,
) -> Result<Agreement> {
    let ids: Vec<&str> = framework
        .catalog
        .controls()
        .map(|(_, c)| c.id.as_str())
        .collect();
    let crosswalk = framework.crosswalk.as_ref().ok_or_else(|| {
        crate::error::Error::user(format!(
            "{} has no crosswalk to Annex A to compare with",
            framework.catalog.framework.name
        ))
    })?;
    let blank = vec![""; set.vectors.len()];
    let scores = mapper.scores(&Batch {
        vectors: &set.vectors,
        texts: &blank,
        contexts: &Contexts::none(set.vectors.len()),
        sections: &vec![None; set.vectors.len()],
    });
    let n = ids.len();
    let mut out = Agreement {
        framework: framework.catalog.framework.name.clone(),
        carried: 0,
        first_agrees: 0,
        top3_agrees: 0,
        controls_by_crosswalk: 0,
        controls_by_direct: 0,
        controls_by_both: 0,
        not_carried: 0,
    };
    let mut by_crosswalk = HashSet::new();
    let mut by_direct = HashSet::new();
    for (p, row) in set.rows.iter().enumerate() {
        if row.labels.is_empty() {
            continue;
        }
        let carried: HashSet<usize> = (0..n)
            .filter(|&k| {
                crosswalk
                    .targets(ids[k])
                    .iter()
                    .any(|t| row.labels.contains(t))
            })
            .collect();
        if carried.is_empty() {
            out.not_carried += 1;
            continue;
        }
        out.carried += 1;
        let ranked = top_k(&scores[p * n..(p + 1) * n], 3);
        out.first_agrees += usize::from(carried.contains(&ranked[0]));
        out.top3_agrees += usize::from(ranked.iter().any(|k| carried.contains(k)));
        by_crosswalk.extend(carried);
        by_direct.insert(ranked[0]);
    }
    out.controls_by_crosswalk = by_crosswalk.len();
    out.controls_by_direct = by_direct.len();
    out.controls_by_both = by_crosswalk.intersection(&by_direct).count();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use controlmap_models::{Embedder, Embeddings, testing::FakeEmbedder};

    use super::*;
    use crate::{frameworks::builtins, lessons::vectors::Row, mapping::Weights};

    #[test]
    fn counts_where_the_direct_mapping_lands_among_the_carried_controls() {
        let nist = builtins().remove(1);
        let embedder = FakeEmbedder::new(64);
        let mapper = Mapper::new(&nist.catalog, &embedder, Weights::default()).unwrap();
        // Passages that are GOVERN 1.1's own description: the direct mapping ranks it first.
        // Labelled A.2.2, which NIST's crosswalk pairs with GOVERN 1.1: they agree. Labelled
        // A.10.4 alone, which no pair of GOVERN 1.1 names: the first control disagrees.
        let govern11 = nist.catalog.control("GOVERN 1.1").unwrap().description();
        let texts = [govern11.as_str(), govern11.as_str(), govern11.as_str()];
        let vectors: Embeddings = embedder.embed(&texts).unwrap();
        let row = |labels: &[&str]| Row {
            doc_id: "d".into(),
            passage_index: 0,
            sha256: String::new(),
            labels: labels.iter().map(|s| s.to_string()).collect(),
        };
        let set = LabelledVectors {
            name: "test".into(),
            model_id: embedder.model_id().into(),
            vectors,
            rows: vec![row(&["A.2.2"]), row(&["A.10.4"]), row(&[])],
        };
        let a = agreement(&set, &nist, &mapper).unwrap();
        let carries_a104 = nist
            .crosswalk
            .as_ref()
            .unwrap()
            .pairs
            .iter()
            .any(|p| p.to.iter().any(|t| t == "A.10.4"));
        assert!(carries_a104, "some subcategory borrows A.10.4");
        assert_eq!(a.carried, 2, "the unlabelled passage is left out");
        assert_eq!(a.first_agrees, 1, "{a}");
        assert_eq!(a.controls_by_direct, 1);
        assert!(a.controls_by_both >= 1);
        assert!(a.to_string().contains("of 2 labelled passages"), "{a}");
    }
}
