//! Parity of the candle embedder with PyTorch sentence-transformers on the real
//! all-MiniLM-L6-v2 (reference vectors in `../shared/reference/`). Needs the model:
//! `scripts/fetch-model` installs it.

use std::path::PathBuf;

use controlmap_models::{BertEmbedder, DeviceChoice, Embedder, ModelSearch, locate_model};
use serde::Deserialize;

#[derive(Deserialize)]
struct Reference {
    items: Vec<Item>,
}

#[derive(Deserialize)]
struct Item {
    text: String,
    n_tokens: usize,
    input_ids_head: Vec<u32>,
    embedding: Vec<f32>,
}

fn reference() -> Reference {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/reference/all-minilm-l6-v2-embeddings.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

fn real_model() -> BertEmbedder {
    let dir = locate_model(&ModelSearch::from_env(None)).unwrap_or_else(|e| panic!("{e}"));
    BertEmbedder::load(&dir, DeviceChoice::Cpu).unwrap()
}

fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let na: f32 = a.iter().map(|x| x * x).sum::<f32>().sqrt();
    let nb: f32 = b.iter().map(|x| x * x).sum::<f32>().sqrt();
    dot / (na * nb)
}

#[test]
fn token_ids_and_embeddings_match_pytorch() {
    let reference = reference();
    let model = real_model();
    assert_eq!(model.max_tokens(), 256);
    assert_eq!(model.dim(), 384);
    let texts: Vec<&str> = reference.items.iter().map(|i| i.text.as_str()).collect();
    let got = model.embed(&texts).unwrap();
    assert!(!reference.items.is_empty());
    for (i, item) in reference.items.iter().enumerate() {
        let ids = model.token_ids(&item.text).unwrap();
        assert_eq!(ids.len(), item.n_tokens, "token count of item {i}");
        assert_eq!(
            &ids[..item.input_ids_head.len()],
            &item.input_ids_head[..],
            "ids of item {i}"
        );
        let c = cosine(got.row(i), &item.embedding);
        assert!(c >= 0.9999, "item {i} ({:.40}…): cosine {c}", item.text);
    }
}
