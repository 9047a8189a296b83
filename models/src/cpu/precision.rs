//! The number format of the model's matrix work, and the CPU thread count.

use std::{fmt, str::FromStr};

/// The `--precision` choice: the format the linear layers compute in. Pooling, layer norm
/// and softmax stay in float32 whatever is chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Precision {
    /// float32 throughout: matches PyTorch to cosine ≥ 0.9999.
    #[default]
    F32,
    /// int8 weights and activations (dynamic quantisation) in the attention output and
    /// feed-forward layers (AVX-512 VNNI, AVX2 `vpmaddubsw`, or portable integer loops);
    /// Q/K/V (bfloat16 where the CPU has AVX-512 BF16), attention, softmax, GELU and layer
    /// norm stay float32.
    Int8,
    /// bfloat16 weights in every linear layer: with AVX-512 BF16, activations too (products
    /// summed in float32); without it, weights widened to float32 in the kernel. Attention,
    /// softmax, GELU and layer norm stay float32.
    Bf16,
}

impl Precision {
    /// Every precision, float32 first.
    pub const ALL: [Precision; 3] = [Self::F32, Self::Bf16, Self::Int8];

    /// The kernels that compute this precision in this process (CPU, path and
    /// `CONTROLMAP_CPU` decide), e.g. `int8 vnni + bf16 qkv`: two CPUs whose kernels have
    /// the same name give the same vectors (to float rounding), so a quality figure measured
    /// on one holds for the other.
    pub fn kernels(self) -> String {
        use crate::cpu::{bf16, int8};
        let bf16 = if bf16::native() {
            "avx512-bf16"
        } else {
            "widened"
        };
        match self {
            Self::F32 => "f32".to_string(),
            Self::Bf16 => format!("bf16 {bf16}"),
            // Q/K/V run in bfloat16 where it is native, in float32 elsewhere (forward.rs).
            Self::Int8 if bf16::native() => format!("int8 {} + bf16 qkv", int8::kernel()),
            Self::Int8 => format!("int8 {}", int8::kernel()),
        }
    }

    /// Whether this build can run this precision on this machine's CPU (every precision has
    /// an AVX2 and a portable kernel, so: yes; kept for callers that ask).
    pub fn available_on_cpu(self) -> bool {
        match self {
            Self::F32 => true,
            Self::Int8 => crate::cpu::int8::available(),
            Self::Bf16 => crate::cpu::bf16::available(),
        }
    }
}

impl FromStr for Precision {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "f32" | "float32" => Ok(Self::F32),
            "int8" | "i8" => Ok(Self::Int8),
            "bf16" | "bfloat16" => Ok(Self::Bf16),
            other => Err(format!(
                "unknown precision '{other}' (expected f32, bf16 or int8)"
            )),
        }
    }
}

impl fmt::Display for Precision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::F32 => "f32",
            Self::Int8 => "int8",
            Self::Bf16 => "bf16",
        })
    }
}

/// Sets the number of CPU threads candle's matrix work and rayon use. Call it before any
/// embedding or parallel work starts; later calls do not resize pools already running.
pub fn set_cpu_threads(n: usize) {
    // candle sizes its matmul parallelism and its element-wise pool from RAYON_NUM_THREADS,
    // read when first needed; rayon's global pool reads it too.
    // SAFETY: called at start-up, before this process starts any thread that reads the
    // environment.
    unsafe { std::env::set_var("RAYON_NUM_THREADS", n.max(1).to_string()) };
    let _ = rayon::ThreadPoolBuilder::new()
        .num_threads(n.max(1))
        .build_global();
}

/// The number of CPU threads candle's matrix work uses.
pub fn cpu_threads() -> usize {
    candle_core::utils::get_num_threads()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints_names() {
        for p in [Precision::F32, Precision::Int8, Precision::Bf16] {
            assert_eq!(p.to_string().parse::<Precision>().unwrap(), p);
        }
        assert_eq!("F32".parse::<Precision>().unwrap(), Precision::F32);
        assert!("f8".parse::<Precision>().unwrap_err().contains("f8"));
    }
}
