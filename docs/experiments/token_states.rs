//! The last hidden state of every token of every input line, for `nist_maxsim.py`.
//!
//! Not part of the build: copy it to `models/examples/token_states.rs`, then
//! `cargo build --example token_states -p controlmap-models` (the default model installed by
//! `scripts/fetch-model`). Usage: `token_states LINES.txt OUT.bin` writes float32 rows
//! (little-endian, 384 per token, [CLS] and [SEP] included) and `OUT.bin.lens`, each line's
//! token count.
use std::io::Write;

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use candle_transformers::models::bert::{BertModel, Config};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let (input, output) = (&args[1], &args[2]);
    let dir = controlmap_models::locate_model(&controlmap_models::ModelSearch::from_env(None))?;
    let config: Config = serde_json::from_str(&std::fs::read_to_string(dir.join("config.json"))?)?;
    let mut tokenizer =
        tokenizers::Tokenizer::from_file(dir.join("tokenizer.json")).map_err(|e| e.to_string())?;
    // The file pads every line to 128 tokens; attention must see only the line's own.
    tokenizer.with_padding(None);
    tokenizer.with_truncation(None).map_err(|e| e.to_string())?;
    let device = Device::Cpu;
    let weights = dir.join("model.safetensors");
    // SAFETY: read-only map of a file nothing else writes while this runs.
    let vb = unsafe { VarBuilder::from_mmaped_safetensors(&[&weights], DType::F32, &device)? };
    let model = BertModel::load(vb, &config)?;
    let mut out = std::fs::File::create(output)?;
    let mut lengths = Vec::new();
    for line in std::fs::read_to_string(input)?.lines() {
        let encoding = tokenizer.encode(line, true).map_err(|e| e.to_string())?;
        let ids: Vec<u32> = encoding.get_ids().iter().copied().take(256).collect();
        let ids = Tensor::new(ids.as_slice(), &device)?.unsqueeze(0)?;
        let hidden = model.forward(&ids, &ids.zeros_like()?, Some(&ids.ones_like()?))?;
        for x in hidden.flatten_all()?.to_vec1::<f32>()? {
            out.write_all(&x.to_le_bytes())?;
        }
        lengths.push(ids.dim(1)?.to_string());
    }
    std::fs::write(format!("{output}.lens"), lengths.join("\n"))?;
    Ok(())
}
