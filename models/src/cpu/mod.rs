//! The CPU forward pass and its kernels: the fused BERT pass ([`forward`]), its attention
//! ([`attention`]), its element-wise row passes ([`simd`]), the linear layers ([`float`],
//! [`int8`], [`bf16`]) and their tiling ([`tiles`]), the [`Precision`] choice that picks among
//! them, and the instruction set they use ([`path`], forced lower by `CONTROLMAP_CPU`).
//!
//! Nothing here imports the model-loading modules; they import this.

mod attention;
mod bf16;
mod float;
mod forward;
mod int8;
mod path;
mod precision;
mod simd;
mod tiles;

pub(crate) use forward::FastBert;
pub use path::{KernelPath, kernel_path};
pub use precision::{Precision, cpu_threads, set_cpu_threads};
