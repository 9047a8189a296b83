//! Passages in a tantivy index: BM25 over text, title and heading, with stored fields for
//! showing a hit.

use std::{borrow::Borrow, collections::HashSet, path::Path};

use tantivy::{
    DocId, Index, IndexReader, IndexWriter, ReloadPolicy, Score, SegmentReader, TantivyDocument,
    Term,
    collector::{Collector, SegmentCollector, TopDocs},
    columnar::Column,
    doc,
    query::{AllQuery, BooleanQuery, Occur, Query, QueryParser, TermQuery},
    schema::{
        FAST, FacetOptions, Field, INDEXED, IndexRecordOption, STORED, STRING, Schema, TEXT, Value,
    },
    snippet::SnippetGenerator,
};

use crate::{IdSet, Result};

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

/// Restricts a search; every given filter must hold.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filters {
    /// A folder of the policy tree (`governance` or `governance/ai`): passages at or below it.
    pub folder: Option<String>,
    /// A format name as stored (`pdf`, `markdown`, …).
    pub format: Option<String>,
    /// One document's path.
    pub document: Option<String>,
}

impl Filters {
    pub fn is_empty(&self) -> bool {
        self.folder.is_none() && self.format.is_none() && self.document.is_none()
    }
}

/// A short extract of a passage with the byte ranges of the query's words in it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Snippet {
    pub text: String,
    pub highlights: Vec<(usize, usize)>,
}

/// The folder facet of a document path: `a/b/c.md` is in `/a/b`.
fn folder_facet(document: &str) -> tantivy::schema::Facet {
    let parts: Vec<&str> = document.split('/').collect();
    tantivy::schema::Facet::from_path(&parts[..parts.len().saturating_sub(1)])
}

struct Fields {
    id: Field,
    folder: Field,
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
        folder: b.add_facet_field("folder", FacetOptions::default()),
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
        let index = match Index::open_or_create(
            tantivy::directory::MmapDirectory::open(dir).map_err(tantivy::TantivyError::from)?,
            schema,
        ) {
            Err(tantivy::TantivyError::SchemaError(_)) => {
                return Err(crate::Error::IncompatibleIndex {
                    path: dir.to_path_buf(),
                });
            }
            other => other?,
        };
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

    /// Opens the index in `dir` for reading only: nothing in `dir` is created or written, so a
    /// workspace the user cannot write can be searched.
    pub fn open_read_only(dir: &Path) -> Result<Self> {
        let directory =
            crate::read_only::ReadOnlyDirectory::open(dir).map_err(tantivy::TantivyError::from)?;
        let index = Index::open(directory)?;
        let (schema, fields) = schema();
        if index.schema() != schema {
            return Err(crate::Error::IncompatibleIndex {
                path: dir.to_path_buf(),
            });
        }
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

    /// Deletes whatever index is in `dir` and creates an empty one: the index can always be
    /// rebuilt from the policy folder.
    pub fn recreate(dir: &Path) -> Result<Self> {
        if dir.exists() {
            fs_err::remove_dir_all(dir)?;
        }
        Self::create_or_open(dir)
    }

    fn writer(&self) -> Result<IndexWriter> {
        // Two cores: one indexing thread per core, 50 MB arena each.
        Ok(self.index.writer_with_num_threads(2, 100_000_000)?)
    }

    /// Replaces every passage with `passages`, in one commit: a crash before the commit
    /// leaves the previous contents. `passages` may be a slice or an iterator that makes
    /// each passage as it is added, so a large folder is never copied whole.
    pub fn replace_all<I>(&mut self, passages: I) -> Result<()>
    where
        I: IntoIterator,
        I::Item: Borrow<Passage>,
    {
        let mut w = self.writer()?;
        w.delete_all_documents()?;
        self.add_all(&w, passages)?;
        w.commit()?;
        self.reader.reload()?;
        Ok(())
    }

    /// Removes every passage of `remove` (document paths) and adds `add`, in one commit.
    /// A changed document is listed in `remove` and its new passages in `add`.
    pub fn update<I>(&mut self, remove: &[String], add: I) -> Result<()>
    where
        I: IntoIterator,
        I::Item: Borrow<Passage>,
    {
        let mut w = self.writer()?;
        for d in remove {
            w.delete_term(Term::from_field_text(self.fields.document, d));
        }
        self.add_all(&w, add)?;
        w.commit()?;
        self.reader.reload()?;
        Ok(())
    }

    fn add_all<I>(&self, w: &IndexWriter, passages: I) -> Result<()>
    where
        I: IntoIterator,
        I::Item: Borrow<Passage>,
    {
        let f = &self.fields;
        for p in passages {
            let p = p.borrow();
            let mut d = doc!(
                f.id => p.id,
                f.folder => folder_facet(&p.document),
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
        Ok(())
    }

    /// The document paths in the index.
    pub fn documents(&self) -> Result<HashSet<String>> {
        let searcher = self.reader.searcher();
        let mut out = HashSet::new();
        for seg in searcher.segment_readers() {
            let store = seg.get_store_reader(1)?;
            for doc in store.iter::<TantivyDocument>(seg.alive_bitset()) {
                if let Some(d) = doc?
                    .get_first(self.fields.document)
                    .and_then(|v| v.as_str())
                {
                    out.insert(d.to_string());
                }
            }
        }
        Ok(out)
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

    fn filter_clauses(&self, filters: &Filters) -> Vec<(Occur, Box<dyn Query>)> {
        let f = &self.fields;
        let term = |t: Term| -> (Occur, Box<dyn Query>) {
            (
                Occur::Must,
                Box::new(TermQuery::new(t, IndexRecordOption::Basic)),
            )
        };
        let mut out = Vec::new();
        if let Some(folder) = &filters.folder {
            let parts: Vec<&str> = folder.split('/').filter(|p| !p.is_empty()).collect();
            out.push(term(Term::from_facet(
                f.folder,
                &tantivy::schema::Facet::from_path(parts),
            )));
        }
        if let Some(format) = &filters.format {
            out.push(term(Term::from_field_text(f.format, format)));
        }
        if let Some(document) = &filters.document {
            out.push(term(Term::from_field_text(f.document, document)));
        }
        out
    }

    /// BM25 search over text, heading and title, within `filters`. Query syntax errors are
    /// forgiven (the query is read leniently), since users type free text.
    pub fn search(&self, query: &str, filters: &Filters, limit: usize) -> Result<Vec<TextHit>> {
        let q = self.parse(query);
        let mut clauses = self.filter_clauses(filters);
        clauses.push((Occur::Must, q));
        let q = BooleanQuery::new(clauses);
        let searcher = self.reader.searcher();
        let top = searcher.search(&q, &TopDocs::with_limit(limit.max(1)).order_by_score())?;
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

    fn parse(&self, query: &str) -> Box<dyn Query> {
        let f = &self.fields;
        let mut qp = QueryParser::for_index(&self.index, vec![f.text, f.heading, f.title]);
        qp.set_field_boost(f.heading, 0.5);
        qp.set_field_boost(f.title, 0.3);
        qp.parse_query_lenient(query).0
    }

    /// The ids of every passage within `filters`, or `None` when there are no filters.
    pub fn ids_matching(&self, filters: &Filters) -> Result<Option<IdSet>> {
        if filters.is_empty() {
            return Ok(None);
        }
        let mut clauses = self.filter_clauses(filters);
        clauses.push((Occur::Must, Box::new(AllQuery)));
        let searcher = self.reader.searcher();
        Ok(Some(
            searcher.search(&BooleanQuery::new(clauses), &PassageIds)?,
        ))
    }

    /// An extract of `text` around the words of `query`, with their byte ranges.
    pub fn snippet(&self, query: &str, text: &str, max_chars: usize) -> Result<Snippet> {
        let q = self.parse(query);
        let searcher = self.reader.searcher();
        let mut g = SnippetGenerator::create(&searcher, &*q, self.fields.text)?;
        g.set_max_num_chars(max_chars);
        let s = g.snippet(text);
        if s.fragment().is_empty() {
            // No query word in the text: its beginning, cut at a word boundary.
            let mut end = text.len().min(max_chars);
            while !text.is_char_boundary(end) {
                end -= 1;
            }
            if end < text.len() {
                end = text[..end].rfind(' ').unwrap_or(end);
            }
            return Ok(Snippet {
                text: text[..end].to_string(),
                highlights: Vec::new(),
            });
        }
        Ok(Snippet {
            text: s.fragment().to_string(),
            highlights: s.highlighted().iter().map(|r| (r.start, r.end)).collect(),
        })
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

/// Collects the passage ids of the matching documents, reading the `passage_id` fast field
/// once per segment: a folder filter over a million passages is a few milliseconds.
struct PassageIds;

struct SegmentPassageIds {
    column: Column<u64>,
    ids: Vec<u64>,
}

impl Collector for PassageIds {
    type Fruit = IdSet;
    type Child = SegmentPassageIds;

    fn for_segment(&self, _: u32, segment: &SegmentReader) -> tantivy::Result<SegmentPassageIds> {
        Ok(SegmentPassageIds {
            column: segment.fast_fields().u64("passage_id")?,
            ids: Vec::new(),
        })
    }

    fn requires_scoring(&self) -> bool {
        false
    }

    fn merge_fruits(&self, parts: Vec<Vec<u64>>) -> tantivy::Result<IdSet> {
        let mut out =
            IdSet::with_capacity_and_hasher(parts.iter().map(Vec::len).sum(), Default::default());
        out.extend(parts.into_iter().flatten());
        Ok(out)
    }
}

impl SegmentCollector for SegmentPassageIds {
    type Fruit = Vec<u64>;

    fn collect(&mut self, doc: DocId, _: Score) {
        if let Some(id) = self.column.first(doc) {
            self.ids.push(id);
        }
    }

    fn harvest(self) -> Vec<u64> {
        self.ids
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
        let hits = ix.search("model drift", &Filters::default(), 10).unwrap();
        assert_eq!(
            hits[0].passage,
            passage(
                1,
                "Monitoring",
                "Model drift is monitored weekly against thresholds."
            )
        );
        let hits = ix
            .search("supplier\" AND (", &Filters::default(), 10)
            .unwrap();
        assert!(
            hits.iter().all(|h| h.passage.id != 3),
            "lenient parse of a broken query"
        );
        assert_eq!(ix.get(2).unwrap().unwrap().page, Some(2));
        assert_eq!(ix.get(3).unwrap().unwrap().page, None);
        assert!(ix.get(99).unwrap().is_none());
    }

    #[test]
    fn an_index_of_another_schema_is_a_clear_error_and_can_be_recreated() {
        let d = tempfile::tempdir().unwrap();
        let mut b = Schema::builder();
        b.add_text_field("something_else", TEXT);
        Index::create_in_dir(d.path(), b.build()).unwrap();
        let err = TextIndex::create_or_open(d.path())
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("controlmap run"), "{err}");
        let mut ix = TextIndex::recreate(d.path()).unwrap();
        ix.replace_all(&[passage(1, "A", "text")]).unwrap();
        assert_eq!(ix.len(), 1);
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
        assert_eq!(
            ix.search("second", &Filters::default(), 5).unwrap().len(),
            1
        );
    }
}

#[cfg(test)]
mod filter_tests {
    use super::*;

    fn p(id: u64, document: &str, format: &str, text: &str) -> Passage {
        Passage {
            id,
            document: document.into(),
            title: String::new(),
            heading: String::new(),
            page: None,
            format: format.into(),
            text: text.into(),
        }
    }

    fn index() -> (tempfile::TempDir, TextIndex) {
        let d = tempfile::tempdir().unwrap();
        let mut ix = TextIndex::create_or_open(d.path()).unwrap();
        ix.replace_all(&[
            p(
                1,
                "governance/ai-policy.md",
                "markdown",
                "The AI policy covers model risk.",
            ),
            p(
                2,
                "governance/sub/risk.pdf",
                "pdf",
                "Model risk is assessed yearly.",
            ),
            p(
                3,
                "operations/monitoring.md",
                "markdown",
                "Model drift and risk are monitored.",
            ),
        ])
        .unwrap();
        (d, ix)
    }

    fn ids(hits: &[TextHit]) -> Vec<u64> {
        let mut v: Vec<u64> = hits.iter().map(|h| h.passage.id).collect();
        v.sort();
        v
    }

    #[test]
    fn folder_filter_includes_subfolders() {
        let (_d, ix) = index();
        let f = Filters {
            folder: Some("governance".into()),
            ..Default::default()
        };
        assert_eq!(ids(&ix.search("risk", &f, 10).unwrap()), vec![1, 2]);
        let f = Filters {
            folder: Some("governance/sub".into()),
            ..Default::default()
        };
        assert_eq!(ids(&ix.search("risk", &f, 10).unwrap()), vec![2]);
        assert_eq!(
            ix.ids_matching(&f).unwrap(),
            Some([2].into_iter().collect::<IdSet>())
        );
        assert_eq!(ix.ids_matching(&Filters::default()).unwrap(), None);
    }

    #[test]
    fn format_and_document_filters() {
        let (_d, ix) = index();
        let f = Filters {
            format: Some("markdown".into()),
            ..Default::default()
        };
        assert_eq!(ids(&ix.search("risk", &f, 10).unwrap()), vec![1, 3]);
        let f = Filters {
            document: Some("operations/monitoring.md".into()),
            ..Default::default()
        };
        assert_eq!(ids(&ix.search("risk", &f, 10).unwrap()), vec![3]);
    }

    #[test]
    fn update_replaces_one_documents_passages() {
        let (_d, mut ix) = index();
        ix.update(
            &[
                "governance/ai-policy.md".into(),
                "operations/monitoring.md".into(),
            ],
            &[p(
                4,
                "governance/ai-policy.md",
                "markdown",
                "The revised AI policy.",
            )],
        )
        .unwrap();
        assert_eq!(ix.len(), 2);
        assert!(ix.get(1).unwrap().is_none() && ix.get(3).unwrap().is_none());
        assert_eq!(ix.get(4).unwrap().unwrap().text, "The revised AI policy.");
        let docs = ix.documents().unwrap();
        assert_eq!(
            docs,
            HashSet::from([
                "governance/ai-policy.md".to_string(),
                "governance/sub/risk.pdf".to_string()
            ])
        );
    }

    #[test]
    fn snippets_mark_query_words() {
        let (_d, ix) = index();
        let text = "Model drift and risk are monitored.";
        let s = ix.snippet("drift", text, 150).unwrap();
        assert_eq!(s.highlights.len(), 1);
        let (a, b) = s.highlights[0];
        assert_eq!(&s.text[a..b], "drift");
        let s = ix.snippet("unrelated", text, 10).unwrap();
        assert_eq!((s.text.as_str(), s.highlights.len()), ("Model", 0));
    }
}
