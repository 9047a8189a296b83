//! How the packed matmul kernels (float32, int8, bf16) split `out = x · W` into
//! register tiles of [`TR`] rows × [`TC`] columns and spread them over rayon's pool.

use rayon::prelude::*;

/// Rows per register tile.
pub(crate) const TR: usize = 6;
/// Columns per tile (four AVX-512 registers of f32; the AVX2 kernels walk it 16 at a time).
pub(crate) const TC: usize = 64;

/// One tile to compute: its first row and column, its column block, how many of its rows and
/// columns are real (the rest is padding), and where its output starts.
pub(crate) struct Tile {
    pub r0: usize,
    pub c0: usize,
    pub block: usize,
    pub rows: usize,
    pub cols: usize,
    pub out: *mut f32,
}

struct OutPtr(*mut f32);
// SAFETY: tiles write disjoint parts of the output (see `for_each_tile`).
unsafe impl Sync for OutPtr {}
unsafe impl Send for OutPtr {}

/// Sizes `out` to `rows × dout` (zeroed) and calls `tile` once for every tile of it, in
/// parallel: tasks of 8 row tiles, each walking every one of the `blocks` column blocks, so
/// one block of weights is reused across its rows while it is in cache. Each call may write
/// only its own tile of `out` (rows < `rows`, columns < `dout`, row stride `dout`).
pub(crate) fn for_each_tile(
    rows: usize,
    dout: usize,
    blocks: usize,
    out: &mut Vec<f32>,
    tile: impl Fn(Tile) + Sync,
) {
    out.clear();
    out.resize(rows * dout, 0.0);
    let out_ptr = OutPtr(out.as_mut_ptr());
    let tiles = rows.div_ceil(TR);
    let per_task = 8;
    (0..tiles.div_ceil(per_task))
        .into_par_iter()
        .for_each(|task| {
            let out_ptr = &out_ptr;
            for block in 0..blocks {
                for t in task * per_task..((task + 1) * per_task).min(tiles) {
                    let (r0, c0) = (t * TR, block * TC);
                    tile(Tile {
                        r0,
                        c0,
                        block,
                        rows: rows.saturating_sub(r0).min(TR),
                        cols: dout.saturating_sub(c0).min(TC),
                        // SAFETY (of the offset): r0 < rows and c0 < dout padded to TC; the
                        // pointer is only dereferenced by the kernel within the tile.
                        out: out_ptr.0.wrapping_add(r0 * dout + c0),
                    });
                }
            }
        });
}

/// A layer's weights (`din × dout`, row-major), bias and `rows × din` inputs for the kernels'
/// tests: deterministic, mixed-sign, not round numbers.
#[cfg(test)]
pub(crate) fn test_layer(rows: usize, din: usize, dout: usize) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
    let w = (0..din * dout)
        .map(|i| ((i * 37 % 101) as f32 - 50.0) / 50.0)
        .collect();
    let b = (0..dout).map(|i| i as f32 * 0.01).collect();
    let x = (0..rows * din)
        .map(|i| ((i * 53 % 97) as f32 - 48.0) / 20.0)
        .collect();
    (w, b, x)
}
