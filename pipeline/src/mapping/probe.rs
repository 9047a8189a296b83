//! The linear probe fitted on the catalog's descriptions and examples, and on learned labels.

use controlmap_models::{Embeddings, LinearProbe};

/// The ridge penalty of the linear probe (`λ` in `|X·W − Y|² + λ|W|²`, unit vectors): between
/// 0.3 and 3 the eval figures hardly move; much less and the probe learns the examples' wording.
const PROBE_RIDGE: f64 = 1.0;

/// A public document's learned row's mean weight in the probe's fit, against 1 for each catalog
/// row: the catalog still shapes the probe, so text written in its voice keeps its controls
/// (the sample organisation's P@1 and planted gaps), while the real documents move it. At 1 the
/// real documents score 0.075 P@1 higher held out, but the sample drops to 0.749 and misses a
/// planted gap (docs/quality.md).
const PUBLIC_WEIGHT: f64 = 0.1;

/// An organisation's own learned row's mean weight: as a catalog row's. Their labels and
/// decisions are about their own documents and their own convention, which is what the probe
/// should follow where it differs from the catalog's voice.
const OWN_WEIGHT: f64 = 1.0;

/// Where a learned row comes from, which sets its weight in the probe's fit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// Public documents' labels (the built-in real documents, a `--vectors` set): how real
    /// policies are worded, each weighing 0.1 of a catalog row on average.
    Public,
    /// The organisation's own labels (`--learn` files, `eval --gold` items) and its reviewers'
    /// decisions, each weighing as a catalog row on average.
    Own,
}

impl Origin {
    fn weight(self) -> f64 {
        match self {
            Origin::Public => PUBLIC_WEIGHT,
            Origin::Own => OWN_WEIGHT,
        }
    }
}

/// A learned row's weight in the probe's fit goes as its controls' count to this power (mean
/// over its controls): 0 weighs every row alike, 1 every control alike. 0.5 did best on the real
/// corpus cross-validated by document, and keeps the sample above its target.
const LEARNED_BALANCE: f64 = 0.5;

/// Learned rows for the probe's fit: their vectors, each one's controls, and each one's origin.
pub(super) struct Learned<'a> {
    pub rows: &'a Embeddings,
    pub sets: &'a [&'a [usize]],
    pub origins: &'a [Origin],
}

/// The probe fitted on each control's description and evidence examples (one row each,
/// labelled with its control), and on `extra` labelled rows (with their origins) when given.
pub(super) fn catalog_probe(
    descriptions: &Embeddings,
    examples: &Embeddings,
    example_owner: &[usize],
    extra: Option<Learned<'_>>,
) -> LinearProbe {
    let n_controls = descriptions.len();
    let mut data = [descriptions.as_slice(), examples.as_slice()].concat();
    let mut labels: Vec<&[usize]> = Vec::new();
    let own: Vec<usize> = (0..n_controls).collect();
    labels.extend(own.iter().map(std::slice::from_ref));
    labels.extend(example_owner.iter().map(std::slice::from_ref));
    let mut weights = vec![1.0; labels.len()];
    let mut origins: &[Origin] = &[];
    if let Some(l) = extra {
        data.extend(l.rows.rows().take(l.sets.len()).flatten());
        labels.extend(l.sets.iter().take(l.rows.len()));
        origins = l.origins;
    }
    // Learned rows weigh less the more common their controls are, so that the controls public
    // documents are full of (rules for using AI tools, model evaluations) do not draw every
    // passage; their mean weight is their origin's.
    let first = weights.len();
    let mut count = vec![0f64; n_controls];
    for set in &labels[first..] {
        for &c in set.iter() {
            count[c] += 1.0;
        }
    }
    let raw: Vec<f64> = labels[first..]
        .iter()
        .map(|set| {
            set.iter()
                .map(|&c| count[c].powf(-LEARNED_BALANCE))
                .sum::<f64>()
                / set.len().max(1) as f64
        })
        .collect();
    let mean = raw.iter().sum::<f64>() / raw.len().max(1) as f64;
    weights.extend(raw.iter().enumerate().map(|(i, w)| {
        let origin = origins.get(i).copied().unwrap_or(Origin::Own);
        origin.weight() * w / mean.max(1e-12)
    }));
    LinearProbe::fit_weighted(
        &Embeddings::new(descriptions.dim(), data),
        &labels,
        &weights,
        n_controls,
        PROBE_RIDGE,
    )
}
