//! The CPU forward pass and its kernels: the fused BERT pass ([`forward`]), its element-wise
//! row passes ([`simd`]), the reduced-precision linear layers ([`int8`], [`bf16`]) and their
//! register tiling ([`tiles`]), and the [`Precision`] choice that picks among them.
//!
//! Nothing here imports the model-loading modules; they import this.

mod bf16;
mod forward;
mod int8;
mod precision;
mod simd;
mod tiles;

pub(crate) use forward::FastBert;
pub use precision::{Precision, cpu_threads, set_cpu_threads};
