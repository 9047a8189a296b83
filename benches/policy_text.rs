//! Policy-like passages for the embedding benches, generated here (no copied text) from a
//! small grammar of the sentences policies are made of, with a chosen token length.
//!
//! Real policy passages (issue 26: the chunks of real organisations' policies) average 78
//! tokens with a long tail to about 200; [`mix`] draws lengths from a log-normal with median
//! 68 and σ 0.5 (mean 77, 95th percentile 155), cut to 16–256. [`fixed`] makes passages of
//! exactly one length, for the sweep.

use controlmap_models::SplitMix64;

const SUBJECTS: &[&str] = &[
    "The Information Security Officer",
    "Each system owner",
    "All employees and contractors",
    "The AI governance board",
    "Third-party suppliers with access to customer data",
    "The data protection lead",
    "Managers of teams that develop machine learning models",
    "The risk committee",
    "Service desk staff",
    "The internal audit function",
];
const MODALS: &[&str] = &["shall", "must", "should", "is required to", "will"];
const VERBS: &[&str] = &[
    "review",
    "approve",
    "document",
    "monitor",
    "assess the risks of",
    "keep an inventory of",
    "report incidents affecting",
    "restrict access to",
    "retain evidence of",
    "test the controls over",
];
const OBJECTS: &[&str] = &[
    "privileged accounts on production systems",
    "the training data used by each model",
    "changes to the model registry",
    "personal data processed for analytics",
    "backups of critical databases",
    "the outputs of automated decision systems",
    "encryption keys and their rotation schedule",
    "supplier contracts that cover data processing",
    "impact assessments for new AI use cases",
    "logs of administrative activity",
];
const WHEN: &[&str] = &[
    "at least annually",
    "before any release to production",
    "within five working days of a change",
    "whenever the intended use of the system changes",
    "every quarter",
    "after each significant incident",
    "as part of onboarding",
    "on a schedule approved by senior management",
];
const REASONS: &[&str] = &[
    "so that unauthorised changes are detected early",
    "in line with the organisation's risk appetite",
    "to meet contractual and regulatory obligations",
    "so that affected individuals can be informed without delay",
    "to ensure the system continues to perform as intended",
    "and record the outcome in the governance register",
];
const OPENERS: &[&str] = &[
    "Where a system processes personal data,",
    "For high-risk AI systems,",
    "Unless an exception has been approved in writing,",
    "In addition to the requirements of section 4,",
    "",
    "",
    "",
];

fn pick<'a>(rng: &mut SplitMix64, from: &[&'a str]) -> &'a str {
    from[(rng.next_u64() % from.len() as u64) as usize]
}

/// One sentence of a policy.
fn sentence(rng: &mut SplitMix64) -> String {
    let opener = pick(rng, OPENERS);
    let mut s = format!(
        "{} {} {} {} {}",
        pick(rng, SUBJECTS),
        pick(rng, MODALS),
        pick(rng, VERBS),
        pick(rng, OBJECTS),
        pick(rng, WHEN)
    );
    if rng.unit() < 0.5 {
        s = format!("{s} {}", pick(rng, REASONS));
    }
    if !opener.is_empty() {
        let mut c = s.chars();
        let first = c.next().unwrap().to_lowercase().collect::<String>();
        s = format!("{opener} {first}{}", c.as_str());
    }
    s + "."
}

/// A passage of `tokens` tokens as `count` counts them (special tokens included): sentences
/// until it is long enough, then words taken off the end until it fits.
fn passage(rng: &mut SplitMix64, tokens: usize, count: &dyn Fn(&str) -> usize) -> String {
    let mut text = sentence(rng);
    while count(&text) < tokens {
        text = format!("{text} {}", sentence(rng));
    }
    let words: Vec<&str> = text.split(' ').collect();
    // The longest prefix of words within the budget (token counts grow with words).
    let (mut lo, mut hi) = (1, words.len());
    while lo < hi {
        let mid = (lo + hi).div_ceil(2);
        if count(&words[..mid].join(" ")) <= tokens {
            lo = mid;
        } else {
            hi = mid - 1;
        }
    }
    words[..lo].join(" ")
}

/// `n` passages of `tokens` tokens each (the sweep of the models bench; the other bench
/// includes this file for [`mix`] only).
#[allow(dead_code)]
pub fn fixed(n: usize, tokens: usize, seed: u64, count: &dyn Fn(&str) -> usize) -> Vec<String> {
    let mut rng = SplitMix64::new(seed);
    (0..n).map(|_| passage(&mut rng, tokens, count)).collect()
}

/// `n` passages with real policies' length distribution (module doc).
pub fn mix(n: usize, seed: u64, count: &dyn Fn(&str) -> usize) -> Vec<String> {
    let mut rng = SplitMix64::new(seed);
    (0..n)
        .map(|_| {
            // Box–Muller: a standard normal from two uniforms.
            let (u, v) = (rng.unit().max(1e-7) as f64, rng.unit() as f64);
            let z = (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos();
            let tokens = (68.0 * (0.5 * z).exp()).round().clamp(16.0, 256.0) as usize;
            passage(&mut rng, tokens, count)
        })
        .collect()
}
