//! Choosing where the model runs.

use std::{fmt, str::FromStr};

use candle_core::Device;

use crate::{Error, Result};

/// The `--device` choice: `auto` takes a GPU when the binary was built for one and one is
/// present, otherwise the CPU.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DeviceChoice {
    #[default]
    Auto,
    Cpu,
    Cuda,
    Metal,
}

impl DeviceChoice {
    /// Whether this choice runs on the CPU: `cpu`, or `auto` where no GPU backend finds one.
    pub fn runs_on_cpu(self) -> bool {
        match self {
            DeviceChoice::Cpu => true,
            DeviceChoice::Auto => {
                !(cfg!(feature = "cuda") && candle_core::utils::cuda_is_available()
                    || cfg!(feature = "metal") && candle_core::utils::metal_is_available())
            }
            DeviceChoice::Cuda | DeviceChoice::Metal => false,
        }
    }

    /// The candle device for this choice, or an error that says how to get it.
    pub fn resolve(self) -> Result<Device> {
        match self {
            DeviceChoice::Cpu => Ok(Device::Cpu),
            DeviceChoice::Auto => {
                if cfg!(feature = "cuda") && candle_core::utils::cuda_is_available() {
                    Ok(Device::new_cuda(0)?)
                } else if cfg!(feature = "metal") && candle_core::utils::metal_is_available() {
                    Ok(Device::new_metal(0)?)
                } else {
                    Ok(Device::Cpu)
                }
            }
            DeviceChoice::Cuda => {
                if !cfg!(feature = "cuda") {
                    return Err(Error::Device(
                        "this controlmap was built without CUDA support; rebuild with \
                         `cargo build --release --features cuda`, or use --device cpu"
                            .into(),
                    ));
                }
                Device::new_cuda(0)
                    .map_err(|e| Error::Device(format!("cannot open CUDA device 0: {e}")))
            }
            DeviceChoice::Metal => {
                if !cfg!(feature = "metal") {
                    return Err(Error::Device(
                        "this controlmap was built without Metal support; rebuild with \
                         `cargo build --release --features metal`, or use --device cpu"
                            .into(),
                    ));
                }
                Device::new_metal(0)
                    .map_err(|e| Error::Device(format!("cannot open Metal device 0: {e}")))
            }
        }
    }
}

impl FromStr for DeviceChoice {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "auto" => Ok(Self::Auto),
            "cpu" => Ok(Self::Cpu),
            "cuda" | "gpu" => Ok(Self::Cuda),
            "metal" => Ok(Self::Metal),
            other => Err(format!(
                "unknown device '{other}' (expected auto, cpu, cuda or metal)"
            )),
        }
    }
}

impl fmt::Display for DeviceChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Auto => "auto",
            Self::Cpu => "cpu",
            Self::Cuda => "cuda",
            Self::Metal => "metal",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_names() {
        assert_eq!("CPU".parse::<DeviceChoice>().unwrap(), DeviceChoice::Cpu);
        assert_eq!("auto".parse::<DeviceChoice>().unwrap(), DeviceChoice::Auto);
        assert!("tpu".parse::<DeviceChoice>().unwrap_err().contains("tpu"));
    }

    #[test]
    fn cpu_and_auto_always_resolve() {
        assert!(DeviceChoice::Cpu.resolve().unwrap().is_cpu());
        DeviceChoice::Auto.resolve().unwrap();
    }

    #[cfg(not(feature = "cuda"))]
    #[test]
    fn cuda_without_feature_is_a_clear_error() {
        let err = DeviceChoice::Cuda.resolve().unwrap_err().to_string();
        assert!(err.contains("--features cuda"), "{err}");
    }
}
