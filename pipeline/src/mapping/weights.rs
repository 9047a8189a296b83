//! How the mapper's signals combine into one score, and the `--weights` syntax.

use serde::Serialize;

/// How the signals of a (passage, control) pair combine into one score.
///
/// A passage's own score is `description·cos(desc) + example_max·max cos(example) +
/// example_mean·mean cos(example) − counter·max cos(counter-example) + probe·probe score +
/// keywords·share`; its context's (the heading path, or an item's category) is the same
/// without keywords; the two mix as `(own + context·ctx) / (1 + context)`, and a passage then
/// leans towards its neighbours in the same section:
/// `(s + neighbours·mean(neighbour s)) / (1 + neighbours)`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Weights {
    /// Cosine to the control's description (title and summary).
    pub description: f32,
    /// Best cosine to one of its evidence examples (its summary alone counts as one).
    pub example_max: f32,
    /// Mean cosine to its evidence examples (the summary included).
    pub example_mean: f32,
    /// Best cosine to one of the control's counter-examples (its title's false friends),
    /// subtracted.
    pub counter: f32,
    /// The linear probe's score: ridge regression from vectors to controls, fitted on the
    /// catalog's descriptions and evidence examples (which directions of the embedding space
    /// tell the controls apart).
    pub probe: f32,
    /// Share of the control's keywords found in the passage (capped at three), or with
    /// [`Weights::bm25`] their BM25 score.
    pub keywords: f32,
    /// Weight of the passage's context (heading path) against the passage itself.
    pub context: f32,
    /// Weight of the mean of the passage's neighbours in its section.
    pub neighbours: f32,
    /// Before any comparison, subtract the catalog's mean vector and project out its this
    /// many strongest principal directions, from the catalog's vectors and the passages'
    /// alike (see [`crate::mapping::centring`]); `None` compares the model's vectors as they are.
    pub common: Option<usize>,
    /// Subtract each control's mean score over the scored passages, so controls that are
    /// close to everything (hubs) stop winning every passage.
    pub center: bool,
    /// Score keywords by BM25 over the batch (rare keywords count more, long passages less;
    /// saturated into [0, 1) as `s / (s + 2)`) instead of the share found.
    pub bm25: bool,
}

impl Weights {
    /// No signal at all; `"max=1".parse()` and friends start from here.
    pub const ZERO: Weights = Weights {
        description: 0.0,
        example_max: 0.0,
        example_mean: 0.0,
        counter: 0.0,
        probe: 0.0,
        keywords: 0.0,
        context: 0.0,
        neighbours: 0.0,
        common: None,
        center: false,
        bm25: false,
    };
}

impl Default for Weights {
    /// Chosen on the sample organisation's gold and the NIST crosswalk together (see
    /// docs/quality.md, which also gives the cross-validated figures): mostly the
    /// description, then the closest example; the heading path with half a passage's say,
    /// the neighbours a fifth, a little for keywords; counter-examples push false friends down
    /// and the linear probe separates controls whose descriptions read alike.
    fn default() -> Self {
        Self {
            description: 0.625,
            example_max: 0.375,
            counter: 0.3,
            probe: 0.75,
            keywords: 0.25,
            context: 0.5,
            neighbours: 0.25,
            ..Self::ZERO
        }
    }
}

impl std::fmt::Display for Weights {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "desc={},max={},mean={},neg={},probe={},kw={},ctx={},nb={}{}{}{}",
            self.description,
            self.example_max,
            self.example_mean,
            self.counter,
            self.probe,
            self.keywords,
            self.context,
            self.neighbours,
            match self.common {
                Some(k) => format!(",common={k}"),
                None => String::new(),
            },
            if self.center { ",center" } else { "" },
            if self.bm25 { ",bm25" } else { "" }
        )
    }
}

impl std::str::FromStr for Weights {
    type Err = String;

    /// `default`, or `key=value` pairs with keys `desc`, `max`, `mean`, `neg`, `probe`, `kw`,
    /// `ctx`, `nb` and the flags `center` and `bm25`; keys left out are 0, e.g.
    /// `desc=0.5,max=0.5,ctx=0.35`. `default` may start the list, with flags or keys that
    /// change it: `default,bm25`.
    fn from_str(s: &str) -> Result<Self, String> {
        let mut w = Self::ZERO;
        for (i, part) in s.split(',').map(str::trim).enumerate() {
            match part {
                "default" if i == 0 => {
                    w = Self::default();
                    continue;
                }
                "center" => {
                    w.center = true;
                    continue;
                }
                "bm25" => {
                    w.bm25 = true;
                    continue;
                }
                "" => continue,
                _ => {}
            }
            if let Some(k) = part.strip_prefix("common=") {
                w.common = Some(
                    k.trim()
                        .parse()
                        .map_err(|e| format!("`{part}`: {e} (a whole number of directions)"))?,
                );
                continue;
            }
            let (key, value) = part.split_once('=').ok_or_else(|| {
                format!(
                    "`{part}`: expected key=value (desc, max, mean, neg, probe, kw, ctx, nb, common), center or bm25"
                )
            })?;
            let value: f32 = value.trim().parse().map_err(|e| format!("`{part}`: {e}"))?;
            let slot = match key.trim() {
                "desc" => &mut w.description,
                "max" => &mut w.example_max,
                "mean" => &mut w.example_mean,
                "neg" => &mut w.counter,
                "probe" => &mut w.probe,
                "kw" => &mut w.keywords,
                "ctx" => &mut w.context,
                "nb" => &mut w.neighbours,
                other => {
                    return Err(format!(
                        "unknown weight `{other}` (desc, max, mean, neg, probe, kw, ctx, nb, common, center, bm25)"
                    ));
                }
            };
            *slot = value;
        }
        Ok(w)
    }
}
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weights_parse() {
        let w: Weights = "desc=0.2,max=0.5,nb=0.3,kw=0.1,neg=0.25,center"
            .parse()
            .unwrap();
        assert_eq!(
            (
                w.description,
                w.keywords,
                w.neighbours,
                w.context,
                w.counter,
                w.center
            ),
            (0.2, 0.1, 0.3, 0.0, 0.25, true)
        );
        assert_eq!("default".parse::<Weights>().unwrap(), Weights::default());
        let changed: Weights = "default,bm25,kw=0.2".parse().unwrap();
        assert!(changed.bm25 && changed.keywords == 0.2);
        assert_eq!(changed.description, Weights::default().description);
        assert_eq!(changed.to_string().parse::<Weights>().unwrap(), changed);
        assert!("max=1,default".parse::<Weights>().is_err());
        let shown = Weights::default().to_string();
        assert_eq!(shown.parse::<Weights>().unwrap(), Weights::default());
        assert!("1,2".parse::<Weights>().is_err());
        let common: Weights = "default,common=2".parse().unwrap();
        assert_eq!(common.common, Some(2));
        assert_eq!(Weights::default().common, None);
        assert_eq!(common.to_string().parse::<Weights>().unwrap(), common);
        assert!("common=1.5".parse::<Weights>().is_err());
        assert!(
            "speed=3"
                .parse::<Weights>()
                .unwrap_err()
                .contains("unknown weight")
        );
    }
}
