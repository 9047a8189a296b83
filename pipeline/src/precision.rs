//! Which precision the model runs in: the one asked for, the one a workspace's vectors were
//! made in, or `auto`, the fastest whose quality stays within [`TOLERANCE`] of float32's.
//!
//! `auto` decides from measurements, not guesses: `corpora/precision.json` (built in) holds,
//! per model and per precision's kernels (`int8 vnni + bf16 qkv`, `int8 avx2`, … as
//! [`Precision::kernels`] names them), the eval figures beside float32's on each labelled set
//! and the speed beside float32's, each measured on a named CPU (docs/precision.md says how,
//! and `scripts/measure-precision` measures again). A precision is allowed when every set's P@1
//! and MRR are within [`TOLERANCE`] of float32's, the sample and the real documents among the
//! sets; of those, the fastest that was faster than float32 wins. A model, or a CPU whose
//! kernels were never measured, runs in float32; so does a GPU.

use std::{fmt, path::Path, str::FromStr};

use controlmap_models::{BertEmbedder, DeviceChoice, Precision, kernel_path};
use serde::{Deserialize, Serialize};

/// How far from float32's a reduced precision's P@1 and MRR may be, on every labelled set.
pub const TOLERANCE: f64 = 0.01;

/// The labelled sets a measurement must hold for a precision to be allowed.
pub const REQUIRED_SETS: [&str; 2] = ["corpora/sample-org", "corpora/real"];

const BUILTIN_TABLE: &str = include_str!("../../corpora/precision.json");

/// The `--precision` choice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PrecisionChoice {
    /// The fastest measured to stay within [`TOLERANCE`] of float32 here.
    #[default]
    Auto,
    /// The one the user named.
    Fixed(Precision),
}

impl FromStr for PrecisionChoice {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        if s.eq_ignore_ascii_case("auto") {
            return Ok(Self::Auto);
        }
        s.parse()
            .map(Self::Fixed)
            .map_err(|_| format!("unknown precision '{s}' (expected auto, f32, bf16 or int8)"))
    }
}

impl fmt::Display for PrecisionChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Auto => f.write_str("auto"),
            Self::Fixed(p) => p.fmt(f),
        }
    }
}

/// The precision a command runs in and why: what `report.json` and `run` record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PrecisionUsed {
    /// `f32`, `bf16` or `int8`.
    pub precision: String,
    /// The kernels that computed it (`int8 vnni + bf16 qkv`; `f32` on a GPU too).
    pub kernels: String,
    /// `auto`, `asked` (named by --precision) or `workspace` (the one its vectors were made in).
    pub chosen_by: String,
    /// One line: why this one.
    pub why: String,
}

/// A precision with the reason it was chosen.
#[derive(Debug, Clone, PartialEq)]
pub struct Chosen {
    pub precision: Precision,
    pub used: PrecisionUsed,
}

impl Chosen {
    fn new(precision: Precision, chosen_by: &str, why: String, on_cpu: bool) -> Self {
        let kernels = if on_cpu {
            precision.kernels()
        } else {
            "gpu".to_string()
        };
        Chosen {
            precision,
            used: PrecisionUsed {
                precision: precision.to_string(),
                kernels,
                chosen_by: chosen_by.to_string(),
                why,
            },
        }
    }
}

/// P@1 and MRR on one labelled set.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct Figures {
    pub p_at_1: f64,
    pub mrr: f64,
}

/// One labelled set's figures in float32 and in the measured precision, same run, same CPU.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SetFigures {
    pub name: String,
    pub items: usize,
    pub f32: Figures,
    pub measured: Figures,
}

impl SetFigures {
    fn within(&self, tolerance: f64) -> bool {
        (self.measured.p_at_1 - self.f32.p_at_1).abs() <= tolerance
            && (self.measured.mrr - self.f32.mrr).abs() <= tolerance
    }
}

/// One precision's kernels for one model, measured on one CPU.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Measurement {
    /// The model's float32 id (`name@fingerprint`).
    pub model_id: String,
    pub precision: String,
    /// [`Precision::kernels`] where it was measured.
    pub kernels: String,
    /// The CPU it was measured on, in words.
    pub cpu: String,
    /// passages/s over float32's on the real-length mix (embed bench), same CPU, same run.
    pub speed_vs_f32: f64,
    pub sets: Vec<SetFigures>,
}

impl Measurement {
    /// Within `tolerance` of float32 on every set, the required ones among them.
    pub fn allowed(&self, tolerance: f64) -> bool {
        REQUIRED_SETS
            .iter()
            .all(|r| self.sets.iter().any(|s| s.name == *r))
            && self.sets.iter().all(|s| s.within(tolerance))
    }
}

/// The measurements `auto` chooses from (`corpora/precision.json`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct QualityTable {
    pub measurements: Vec<Measurement>,
}

impl QualityTable {
    /// The table built into the binary.
    pub fn builtin() -> Self {
        serde_json::from_str(BUILTIN_TABLE).expect("corpora/precision.json is valid (tested)")
    }

    /// Of `candidates` (precision, the kernels that would run it), the fastest measured for
    /// `model_id` on those kernels, within [`TOLERANCE`] and faster than float32; `None`: f32.
    pub fn fastest_allowed<'a>(
        &'a self,
        model_id: &str,
        candidates: &[(Precision, String)],
    ) -> Option<(Precision, &'a Measurement)> {
        candidates
            .iter()
            .filter(|(p, _)| *p != Precision::F32)
            .filter_map(|(p, kernels)| {
                self.measurements
                    .iter()
                    .find(|m| {
                        m.model_id == model_id
                            && m.precision == p.to_string()
                            && &m.kernels == kernels
                    })
                    .map(|m| (*p, m))
            })
            .filter(|(_, m)| m.allowed(TOLERANCE) && m.speed_vs_f32 > 1.0)
            .max_by(|a, b| a.1.speed_vs_f32.total_cmp(&b.1.speed_vs_f32))
    }
}

/// What `auto` picks for the model in `model_dir` on `device`, from the built-in table and
/// the kernels this process would run.
pub fn auto(model_dir: &Path, device: DeviceChoice) -> Chosen {
    if !device.runs_on_cpu() {
        return Chosen::new(Precision::F32, "auto", "the GPU runs float32".into(), false);
    }
    let Ok(model_id) = BertEmbedder::float32_model_id(model_dir) else {
        return Chosen::new(
            Precision::F32,
            "auto",
            "the model's id could not be read".into(),
            true,
        );
    };
    let candidates: Vec<(Precision, String)> = Precision::ALL
        .iter()
        .filter(|p| p.available_on_cpu())
        .map(|&p| (p, p.kernels()))
        .collect();
    match QualityTable::builtin().fastest_allowed(&model_id, &candidates) {
        Some((p, m)) => Chosen::new(
            p,
            "auto",
            format!(
                "{:.2}× float32's speed and within {TOLERANCE} of its P@1 and MRR on {} (measured on {}; {} kernels here)",
                m.speed_vs_f32,
                m.sets
                    .iter()
                    .map(|s| s.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
                m.cpu,
                kernel_path()
            ),
            true,
        ),
        None => Chosen::new(
            Precision::F32,
            "auto",
            format!(
                "no faster precision measured within {TOLERANCE} of float32 for this model on {} kernels",
                kernel_path()
            ),
            true,
        ),
    }
}

/// The precision `choice` means for the model in `model_dir` on `device`; `workspace`: the
/// precision of vectors already made that this command must match (search, eval on a
/// workspace), which `auto` follows.
pub fn resolve(
    choice: PrecisionChoice,
    model_dir: &Path,
    device: DeviceChoice,
    workspace: Option<Precision>,
) -> Chosen {
    let on_cpu = device.runs_on_cpu();
    match (choice, workspace) {
        (PrecisionChoice::Fixed(p), _) => {
            Chosen::new(p, "asked", "named by --precision".into(), on_cpu)
        }
        (PrecisionChoice::Auto, Some(p)) => Chosen::new(
            p,
            "workspace",
            "the precision the workspace's vectors were made in".into(),
            on_cpu,
        ),
        (PrecisionChoice::Auto, None) => auto(model_dir, device),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(name: &str, f32: (f64, f64), measured: (f64, f64)) -> SetFigures {
        SetFigures {
            name: name.into(),
            items: 10,
            f32: Figures {
                p_at_1: f32.0,
                mrr: f32.1,
            },
            measured: Figures {
                p_at_1: measured.0,
                mrr: measured.1,
            },
        }
    }

    fn measurement(
        precision: &str,
        kernels: &str,
        speed: f64,
        sets: Vec<SetFigures>,
    ) -> Measurement {
        Measurement {
            model_id: "m@1".into(),
            precision: precision.into(),
            kernels: kernels.into(),
            cpu: "test".into(),
            speed_vs_f32: speed,
            sets,
        }
    }

    fn both(drop: f64) -> Vec<SetFigures> {
        vec![
            set("corpora/sample-org", (0.8, 0.9), (0.8 - drop, 0.9)),
            set("corpora/real", (0.5, 0.6), (0.5, 0.6 - drop)),
        ]
    }

    #[test]
    fn names_parse_and_print() {
        assert_eq!("auto".parse(), Ok(PrecisionChoice::Auto));
        assert_eq!("INT8".parse(), Ok(PrecisionChoice::Fixed(Precision::Int8)));
        assert!(
            "f8".parse::<PrecisionChoice>()
                .unwrap_err()
                .contains("auto")
        );
        assert_eq!(PrecisionChoice::default().to_string(), "auto");
    }

    #[test]
    fn auto_takes_the_fastest_allowed_on_the_kernels_at_hand() {
        let table = QualityTable {
            measurements: vec![
                measurement("int8", "int8 vnni", 1.6, both(0.005)),
                measurement("bf16", "bf16 avx512-bf16", 1.2, both(0.0)),
                // Too far from float32 on one set.
                measurement("int8", "int8 avx2", 1.4, both(0.02)),
                // Within tolerance but no faster than float32.
                measurement("bf16", "bf16 widened", 0.9, both(0.0)),
            ],
        };
        let here = |kernels: &[(Precision, &str)]| {
            let c: Vec<_> = kernels.iter().map(|(p, k)| (*p, k.to_string())).collect();
            table.fastest_allowed("m@1", &c).map(|(p, _)| p)
        };
        let vnni = [
            (Precision::F32, "f32"),
            (Precision::Bf16, "bf16 avx512-bf16"),
            (Precision::Int8, "int8 vnni"),
        ];
        assert_eq!(here(&vnni), Some(Precision::Int8));
        let avx2 = [
            (Precision::F32, "f32"),
            (Precision::Bf16, "bf16 widened"),
            (Precision::Int8, "int8 avx2"),
        ];
        assert_eq!(here(&avx2), None, "int8 avx2 fails quality, bf16 is slower");
        // Kernels never measured are not allowed.
        assert_eq!(here(&[(Precision::Int8, "int8 portable")]), None);
        // Another model's measurements do not count.
        let c = vec![(Precision::Int8, "int8 vnni".to_string())];
        assert!(table.fastest_allowed("other@2", &c).is_none());
    }

    #[test]
    fn a_measurement_without_the_required_sets_is_not_allowed() {
        let sample_only = measurement(
            "int8",
            "int8 vnni",
            2.0,
            vec![set("corpora/sample-org", (0.8, 0.9), (0.8, 0.9))],
        );
        assert!(!sample_only.allowed(TOLERANCE));
        assert!(measurement("int8", "k", 2.0, both(0.009)).allowed(TOLERANCE));
        assert!(!measurement("int8", "k", 2.0, both(0.011)).allowed(TOLERANCE));
    }

    #[test]
    fn the_builtin_table_reads_and_auto_picks_only_what_it_allows_and_this_cpu_runs() {
        let table = QualityTable::builtin();
        assert!(!table.measurements.is_empty());
        for m in &table.measurements {
            assert!(m.precision.parse::<Precision>().is_ok(), "{}", m.precision);
            assert!(m.sets.iter().all(|s| s.items > 0), "{}", m.kernels);
        }
        let Ok(dir) =
            controlmap_models::locate_model(&controlmap_models::ModelSearch::from_env(None))
        else {
            eprintln!("skipped the model half: no model installed");
            return;
        };
        let chosen = auto(&dir, DeviceChoice::Cpu);
        let p = chosen.precision;
        assert!(p.available_on_cpu());
        assert_eq!(chosen.used.kernels, p.kernels());
        if p != Precision::F32 {
            let id = BertEmbedder::float32_model_id(&dir).unwrap();
            let m = table
                .measurements
                .iter()
                .find(|m| {
                    m.model_id == id && m.precision == p.to_string() && m.kernels == p.kernels()
                })
                .unwrap_or_else(|| {
                    panic!("auto chose {p} ({}) without a measurement", p.kernels())
                });
            assert!(m.allowed(TOLERANCE) && m.speed_vs_f32 > 1.0, "{m:?}");
        }
        eprintln!(
            "auto on this CPU: {p} ({}): {}",
            chosen.used.kernels, chosen.used.why
        );
    }
}
