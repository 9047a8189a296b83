//! One shard's passages and vectors as an Arrow IPC file: one row per passage, the vector in
//! a fixed-size list column, and what is said of each file (its outcome, size, hash, format
//! and metadata) as JSON in the schema's metadata, since a file may have no passages at all.
//! `docs/shard-format.md` documents it for other tools (pyarrow reads it as it is).

use std::{collections::BTreeMap, path::Path, sync::Arc};

use arrow_array::{
    Array, ArrayRef, FixedSizeListArray, Float32Array, RecordBatch, StringArray, UInt8Array,
    UInt32Array, UInt64Array,
    builder::{ListBuilder, StringBuilder},
    cast::AsArray,
    types::{UInt8Type, UInt32Type, UInt64Type},
};
use arrow_schema::{DataType, Field, Schema};
use serde::{Deserialize, Serialize};

use super::read;
use crate::{
    error::{Error, Result, user_error},
    ingest::{chunk::Passage, manifest::DocRecord},
    report::FileOutcome,
    workspace,
};

/// The version of the plan and shard formats; a merge refuses others.
pub const FORMAT_VERSION: u32 = 1;

/// Rows per record batch: a reader never holds more than this many passages' text at once.
const BATCH_ROWS: usize = 4096;

/// Keys of the schema's metadata.
const KEY_VERSION: &str = "controlmap.version";
const KEY_MODEL: &str = "controlmap.model_id";
const KEY_DIM: &str = "controlmap.dim";
const KEY_FILES: &str = "controlmap.files";

/// What the metadata says of one file, in the list's order.
#[derive(Debug, Serialize, Deserialize)]
struct FileEntry {
    outcome: FileOutcome,
    /// For a file that was read: its record without the passages (those are the rows).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    record: Option<DocRecord>,
}

fn arrow_error(e: arrow_schema::ArrowError) -> Error {
    Error::user(format!("Arrow: {e}"))
}

fn schema(dim: usize, metadata: std::collections::HashMap<String, String>) -> Schema {
    let item = Arc::new(Field::new("item", DataType::Float32, false));
    Schema::new_with_metadata(
        vec![
            Field::new("document", DataType::Utf8, false),
            Field::new("passage_id", DataType::UInt64, false),
            Field::new("content_hash", DataType::Utf8, false),
            Field::new("title", DataType::Utf8, false),
            Field::new(
                "headings",
                DataType::List(Arc::new(Field::new("item", DataType::Utf8, true))),
                false,
            ),
            Field::new("page", DataType::UInt32, true),
            Field::new("format", DataType::Utf8, false),
            Field::new("text", DataType::Utf8, false),
            Field::new("start", DataType::UInt64, false),
            Field::new("end", DataType::UInt64, false),
            Field::new("ocr_confidence", DataType::UInt8, true),
            Field::new("vector", DataType::FixedSizeList(item, dim as i32), false),
        ],
        metadata,
    )
}

/// Writes the stream's documents (in the list's order, as their outcomes) to `out`.
pub(super) fn write(out: &Path, model_id: &str, dim: usize, stream: &read::Stream) -> Result<()> {
    let mut files = Vec::with_capacity(stream.outcomes.len());
    let mut rows: Vec<(&Passage, &[f32])> = Vec::new();
    for o in &stream.outcomes {
        let record = stream.docs.get(&o.path).map(|d| {
            for (i, p) in d.record.passages.iter().enumerate() {
                rows.push((p, &d.vectors[i * dim..(i + 1) * dim]));
            }
            DocRecord {
                passages: Vec::new(),
                ..d.record.clone()
            }
        });
        files.push(FileEntry {
            outcome: o.clone(),
            record,
        });
    }
    let metadata = [
        (KEY_VERSION, FORMAT_VERSION.to_string()),
        (KEY_MODEL, model_id.to_string()),
        (KEY_DIM, dim.to_string()),
        (KEY_FILES, serde_json::to_string(&files)?),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    let schema = Arc::new(schema(dim, metadata));
    workspace::write_whole_with(out, |w| {
        let mut writer = arrow_ipc::writer::FileWriter::try_new(w, &schema).map_err(arrow_error)?;
        for chunk in rows.chunks(BATCH_ROWS) {
            writer
                .write(&batch(&schema, dim, chunk)?)
                .map_err(arrow_error)?;
        }
        writer.finish().map_err(arrow_error)?;
        Ok(())
    })
}

fn batch(schema: &Arc<Schema>, dim: usize, rows: &[(&Passage, &[f32])]) -> Result<RecordBatch> {
    let strings = |f: &dyn Fn(&Passage) -> &str| -> ArrayRef {
        Arc::new(StringArray::from_iter_values(
            rows.iter().map(|(p, _)| f(p)),
        ))
    };
    let mut headings = ListBuilder::new(StringBuilder::new());
    for (p, _) in rows {
        for h in &p.headings {
            headings.values().append_value(h);
        }
        headings.append(true);
    }
    let format: Vec<String> = rows.iter().map(|(p, _)| p.format.to_string()).collect();
    let values = Float32Array::from_iter_values(rows.iter().flat_map(|(_, v)| v.iter().copied()));
    let item = Arc::new(Field::new("item", DataType::Float32, false));
    let vectors = FixedSizeListArray::try_new(item, dim as i32, Arc::new(values), None)
        .map_err(arrow_error)?;
    let columns: Vec<ArrayRef> = vec![
        strings(&|p| &p.document),
        Arc::new(UInt64Array::from_iter_values(
            rows.iter().map(|(p, _)| p.id),
        )),
        strings(&|p| &p.content_hash),
        strings(&|p| &p.title),
        Arc::new(headings.finish()),
        Arc::new(UInt32Array::from_iter(rows.iter().map(|(p, _)| p.page))),
        Arc::new(StringArray::from_iter_values(format)),
        strings(&|p| &p.text),
        Arc::new(UInt64Array::from_iter_values(
            rows.iter().map(|(p, _)| p.start as u64),
        )),
        Arc::new(UInt64Array::from_iter_values(
            rows.iter().map(|(p, _)| p.end as u64),
        )),
        Arc::new(UInt8Array::from_iter(
            rows.iter().map(|(p, _)| p.ocr_confidence),
        )),
        Arc::new(vectors),
    ];
    RecordBatch::try_new(schema.clone(), columns).map_err(arrow_error)
}

/// One shard's file, read back.
pub(super) struct Shard {
    pub outcomes: Vec<FileOutcome>,
    pub docs: BTreeMap<String, read::Collected>,
}

/// Reads a shard's file written for `model_id`'s vectors of `dim`.
pub(super) fn read(path: &Path, model_id: &str, dim: usize) -> Result<Shard> {
    let f = fs_err::File::open(path)?;
    let reader = arrow_ipc::reader::FileReader::try_new(std::io::BufReader::new(f), None)
        .map_err(|e| Error::user(format!("{} is not a shard file: {e}", path.display())))?;
    let meta = reader.schema().metadata().clone();
    let get = |k: &str| meta.get(k).map(String::as_str).unwrap_or("");
    if get(KEY_VERSION) != FORMAT_VERSION.to_string() {
        user_error!(
            "{} is not a shard file of this version of controlmap (format {:?})",
            path.display(),
            get(KEY_VERSION)
        );
    }
    if get(KEY_MODEL) != model_id || get(KEY_DIM) != dim.to_string() {
        user_error!(
            "{} was embedded by {} (dimension {}), not {model_id}: run its shard again with this model",
            path.display(),
            get(KEY_MODEL),
            get(KEY_DIM)
        );
    }
    // Every column as this version writes it, so that the reads below cannot meet a type
    // they do not expect (another tool's large strings, a vector of another length).
    let expected = schema(dim, Default::default());
    if reader.schema().fields() != expected.fields() {
        user_error!(
            "{} does not have the columns of a shard file (docs/shard-format.md)",
            path.display()
        );
    }
    let files: Vec<FileEntry> = serde_json::from_str(get(KEY_FILES))?;
    let mut docs: BTreeMap<String, read::Collected> = BTreeMap::new();
    let mut outcomes = Vec::with_capacity(files.len());
    for e in files {
        if let Some(record) = e.record {
            if !record.passages.is_empty() || docs.contains_key(&e.outcome.path) {
                user_error!(
                    "{}: the record of {} is not as a shard's worker writes it",
                    path.display(),
                    e.outcome.path
                );
            }
            docs.insert(
                e.outcome.path.clone(),
                read::Collected {
                    record,
                    vectors: Vec::new(),
                },
            );
        }
        outcomes.push(e.outcome);
    }
    for b in reader {
        let b = b.map_err(arrow_error)?;
        let col = |name: &str| {
            b.column_by_name(name)
                .cloned()
                .ok_or_else(|| Error::user(format!("{}: no column {name}", path.display())))
        };
        let (document, id, hash, title) = (
            col("document")?,
            col("passage_id")?,
            col("content_hash")?,
            col("title")?,
        );
        let (document, hash, title) = (
            document.as_string::<i32>(),
            hash.as_string::<i32>(),
            title.as_string::<i32>(),
        );
        let id = id.as_primitive::<UInt64Type>();
        let headings = col("headings")?;
        let headings = headings.as_list::<i32>();
        let page = col("page")?;
        let page = page.as_primitive::<UInt32Type>();
        let text = col("text")?;
        let text = text.as_string::<i32>();
        let (start, end) = (col("start")?, col("end")?);
        let (start, end) = (
            start.as_primitive::<UInt64Type>(),
            end.as_primitive::<UInt64Type>(),
        );
        let ocr = col("ocr_confidence")?;
        let ocr = ocr.as_primitive::<UInt8Type>();
        let vector = col("vector")?;
        let vector = vector.as_fixed_size_list();
        let values = vector
            .values()
            .as_primitive::<arrow_array::types::Float32Type>();
        for r in 0..b.num_rows() {
            let path_of = document.value(r);
            let Some(doc) = docs.get_mut(path_of) else {
                user_error!(
                    "{}: a passage of {path_of}, a file it does not list",
                    path.display()
                );
            };
            let hs = headings.value(r);
            let hs = hs.as_string::<i32>();
            doc.record.passages.push(Passage {
                id: id.value(r),
                content_hash: hash.value(r).to_string(),
                document: path_of.to_string(),
                title: title.value(r).to_string(),
                headings: (0..hs.len()).map(|i| hs.value(i).to_string()).collect(),
                page: (!page.is_null(r)).then(|| page.value(r)),
                format: doc.record.format,
                text: text.value(r).to_string(),
                start: start.value(r) as usize,
                end: end.value(r) as usize,
                ocr_confidence: (!ocr.is_null(r)).then(|| ocr.value(r)),
            });
            let at = vector.value_offset_at(r);
            doc.vectors
                .extend_from_slice(&values.values()[at..at + dim]);
        }
    }
    Ok(Shard { outcomes, docs })
}
