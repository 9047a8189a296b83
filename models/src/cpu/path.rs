//! Which instruction set the CPU kernels use: the best this CPU and build have, or a lower
//! one forced by `CONTROLMAP_CPU` so that one machine can test every path.
//!
//! `CONTROLMAP_CPU=avx2` or `=scalar` is read once, at the first kernel call; asking for more
//! than the CPU has (`avx512` on an AVX2 machine) gets what the CPU has. Every kernel in this
//! folder (element-wise passes, attention, the float32, bfloat16 and int8 linear layers)
//! dispatches on [`kernel_path`].

use std::{fmt, sync::OnceLock};

/// An instruction-set level of the CPU kernels, lowest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum KernelPath {
    /// Portable Rust, no SIMD intrinsics (whatever the compiler's baseline target gives).
    Scalar,
    /// AVX2 + FMA (x86-64 v3): every x86-64 CPU of the last ten years.
    Avx2,
    /// AVX-512 F/BW/DQ/VL (x86-64 v4), with VNNI and BF16 used where present.
    Avx512,
}

impl fmt::Display for KernelPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Scalar => "scalar",
            Self::Avx2 => "avx2",
            Self::Avx512 => "avx512",
        })
    }
}

/// The best path this CPU and build can run.
fn detected() -> KernelPath {
    #[cfg(target_arch = "x86_64")]
    {
        #[cfg(feature = "avx512")]
        if is_x86_feature_detected!("avx512f")
            && is_x86_feature_detected!("avx512bw")
            && is_x86_feature_detected!("avx512dq")
            && is_x86_feature_detected!("avx512vl")
            && is_x86_feature_detected!("fma")
        {
            return KernelPath::Avx512;
        }
        if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
            return KernelPath::Avx2;
        }
    }
    KernelPath::Scalar
}

/// The path a `CONTROLMAP_CPU` value asks for (`None`: unset or not understood, so the
/// detected one runs).
fn requested(value: Option<&str>) -> Option<KernelPath> {
    match value?.trim().to_ascii_lowercase().as_str() {
        "scalar" | "portable" | "none" => Some(KernelPath::Scalar),
        "avx2" | "x86-64-v3" => Some(KernelPath::Avx2),
        "avx512" | "avx-512" | "x86-64-v4" => Some(KernelPath::Avx512),
        _ => None,
    }
}

/// The path the CPU kernels take in this process: the detected one, lowered by
/// `CONTROLMAP_CPU` (read once). A cached load after the first call.
pub fn kernel_path() -> KernelPath {
    static PATH: OnceLock<KernelPath> = OnceLock::new();
    *PATH.get_or_init(|| {
        let best = detected();
        let wanted = requested(std::env::var("CONTROLMAP_CPU").ok().as_deref());
        wanted.map_or(best, |w| w.min(best))
    })
}

/// Whether the AVX-512 kernels run (the path is AVX-512 and `feature` is on this CPU).
#[cfg(all(feature = "avx512", target_arch = "x86_64"))]
pub(crate) fn avx512_with(feature: &str) -> bool {
    kernel_path() == KernelPath::Avx512
        && match feature {
            "vnni" => is_x86_feature_detected!("avx512vnni"),
            "bf16" => is_x86_feature_detected!("avx512bf16"),
            _ => true,
        }
}

/// Whether the AVX2 + FMA kernels run (the path is AVX2 or above).
#[cfg(target_arch = "x86_64")]
pub(crate) fn avx2() -> bool {
    kernel_path() >= KernelPath::Avx2
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_switch_only_lowers_the_path() {
        assert_eq!(requested(Some("AVX2")), Some(KernelPath::Avx2));
        assert_eq!(requested(Some(" scalar ")), Some(KernelPath::Scalar));
        assert_eq!(requested(Some("sse9")), None);
        assert_eq!(requested(None), None);
        assert!(kernel_path() <= detected());
        assert!(KernelPath::Scalar < KernelPath::Avx2 && KernelPath::Avx2 < KernelPath::Avx512);
    }
}
