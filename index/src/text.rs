//! Passages in a tantivy index: BM25 over text, title and heading, with stored fields for
//! showing a hit.

use std::path::Path;

use tantivy::{
    Index, IndexReader, IndexWriter, ReloadPolicy, TantivyDocument, Term,
    collector::TopDocs,
    doc,
    query::QueryParser,
    schema::{FAST, Field, INDEXED, STORED, STRING, Schema, TEXT, Value},
};

use crate::Result;

/// One passage as the index stores it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Passage {
    pub id: u64,
    /// Path of the source document, relative to the policy folder.
    pub document: String,
    pub title: String,
    /// Headings from the document's top down to the passage, joined with " › ".
    pub heading: String,
    pub page: Option<u32>,
    pub format: String,
    pub text: String,
}

/// A passage found by a full-text query, with its BM25 score.
#[derive(Debug, Clone, PartialEq)]
pub struct TextHit {
    pub score: f32,
    pub passage: Passage,
}

struct Fields {
    id: Field,
    document: Field,
    title: Field,
    heading: Field,
    page: Field,
    format: Field,
    text: Field,
}

fn schema() -> (Schema, Fields) {
    let mut b = Schema::builder();
    let f = Fields {
        id: b.add_u64_field("passage_id", INDEXED | STORED | FAST),
        document: b.add_text_field("document", STRING | STORED),
        title: b.add_text_field("title", TEXT | STORED),
        heading: b.add_text_field("heading", TEXT | STORED),
        page: b.add_u64_field("page", STORED),
        format: b.add_text_field("format", STRING | STORED),
        text: b.add_text_field("text", TEXT | STORED),
    };
    (b.build(), f)
}

/// The full-text side of the passage index.
pub struct TextIndex {
    index: Index,
    reader: IndexReader,
    fields: Fields,
}

impl TextIndex {
    /// Opens the index in `dir`, creating it (and `dir`) when there is none.
    pub fn create_or_open(dir: &Path) -> Result<Self> {
        fs_err::create_dir_all(dir)?;
        let (schema, fields) = schema();
        let index = Index::open_or_create(
            tantivy::directory::MmapDirectory::open(dir).map_err(tantivy::TantivyError::from)?,
            schema,
        )?;
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()?;
        Ok(Self {
            index,
            reader,
            fields,
        })
    }

    fn writer(&self) -> Result<IndexWriter> {
        // Two cores: one indexing thread per core, 50 MB arena each.
        Ok(self.index.writer_with_num_threads(2, 100_000_000)?)
    }

    /// Replaces every passage with `passages`, in one commit: a crash before the commit
    /// leaves the previous contents.
    pub fn replace_all(&mut self, passages: &[Passage]) -> Result<()> {
        let mut w = self.writer()?;
        w.delete_all_documents()?;
        for p in passages {
            let f = &self.fields;
            let mut d = doc!(
                f.id => p.id,
                f.document => p.document.as_str(),
                f.title => p.title.as_str(),
                f.heading => p.heading.as_str(),
                f.format => p.format.as_str(),
                f.text => p.text.as_str(),
            );
            if let Some(page) = p.page {
                d.add_u64(f.page, u64::from(page));
            }
            w.add_document(d)?;
        }
        w.commit()?;
        self.reader.reload()?;
        Ok(())
    }

    /// Number of passages in the last commit.
    pub fn len(&self) -> u64 {
        self.reader.searcher().num_docs()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The passage with `id`, if indexed.
    pub fn get(&self, id: u64) -> Result<Option<Passage>> {
        let searcher = self.reader.searcher();
        let q = tantivy::query::TermQuery::new(
            Term::from_field_u64(self.fields.id, id),
            tantivy::schema::IndexRecordOption::Basic,
        );
        let top = searcher.search(&q, &TopDocs::with_limit(1).order_by_score())?;
        match top.first() {
            Some((_, addr)) => Ok(Some(self.passage(&searcher.doc(*addr)?))),
            None => Ok(None),
        }
    }

    /// BM25 search over text, heading and title. Query syntax errors are forgiven (the
    /// query is read leniently), since users type free text.
    pub fn search(&self, query: &str, limit: usize) -> Result<Vec<TextHit>> {
        let f = &self.fields;
        let mut qp = QueryParser::for_index(&self.index, vec![f.text, f.heading, f.title]);
        qp.set_field_boost(f.heading, 0.5);
        qp.set_field_boost(f.title, 0.3);
        let (q, _errors) = qp.parse_query_lenient(query);
        let searcher = self.reader.searcher();
        let top = searcher.search(&q, &TopDocs::with_limit(limit).order_by_score())?;
        top.into_iter()
            .map(|(score, addr)| {
                let d: TantivyDocument = searcher.doc(addr)?;
                Ok(TextHit {
                    score,
                    passage: self.passage(&d),
                })
            })
            .collect()
    }

    fn passage(&self, d: &TantivyDocument) -> Passage {
        let f = &self.fields;
        let s = |field| {
            d.get_first(field)
                .and_then(|v| v.as_str())
                .unwrap_or_default()
                .to_string()
        };
        Passage {
            id: d
                .get_first(f.id)
                .and_then(|v| v.as_u64())
                .unwrap_or_default(),
            document: s(f.document),
            title: s(f.title),
            heading: s(f.heading),
            page: d
                .get_first(f.page)
                .and_then(|v| v.as_u64())
                .map(|p| p as u32),
            format: s(f.format),
            text: s(f.text),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn passage(id: u64, heading: &str, text: &str) -> Passage {
        Passage {
            id,
            document: format!("doc{id}.md"),
            title: "Policy".into(),
            heading: heading.into(),
            page: id.is_multiple_of(2).then_some(id as u32),
            format: "markdown".into(),
            text: text.into(),
        }
    }

    #[test]
    fn finds_passages_by_words_and_round_trips_fields() {
        let d = tempfile::tempdir().unwrap();
        let mut ix = TextIndex::create_or_open(d.path()).unwrap();
        ix.replace_all(&[
            passage(
                1,
                "Monitoring",
                "Model drift is monitored weekly against thresholds.",
            ),
            passage(
                2,
                "Suppliers",
                "Suppliers of AI components are assessed before contract.",
            ),
            passage(
                3,
                "Travel",
                "Economy class is used for flights under six hours.",
            ),
        ])
        .unwrap();
        assert_eq!(ix.len(), 3);
        let hits = ix.search("model drift", 10).unwrap();
        assert_eq!(
            hits[0].passage,
            passage(
                1,
                "Monitoring",
                "Model drift is monitored weekly against thresholds."
            )
        );
        let hits = ix.search("supplier\" AND (", 10).unwrap();
        assert!(
            hits.iter().all(|h| h.passage.id != 3),
            "lenient parse of a broken query"
        );
        assert_eq!(ix.get(2).unwrap().unwrap().page, Some(2));
        assert_eq!(ix.get(3).unwrap().unwrap().page, None);
        assert!(ix.get(99).unwrap().is_none());
    }

    #[test]
    fn replace_all_drops_old_passages_and_survives_reopen() {
        let d = tempfile::tempdir().unwrap();
        {
            let mut ix = TextIndex::create_or_open(d.path()).unwrap();
            ix.replace_all(&[passage(1, "A", "first version of the text")])
                .unwrap();
            ix.replace_all(&[passage(2, "B", "second version of the text")])
                .unwrap();
        }
        let ix = TextIndex::create_or_open(d.path()).unwrap();
        assert_eq!(ix.len(), 1);
        assert!(ix.get(1).unwrap().is_none());
        assert_eq!(ix.search("second", 5).unwrap().len(), 1);
    }
}
