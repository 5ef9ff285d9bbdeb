//! Full-text search over the published catalog: a tantivy index with jieba Chinese word
//! segmentation, facets and highlighted snippets.
//!
//! The index is a cache of the master catalog, never a source of truth: the web layer updates a
//! document whenever an entry is published, and the whole index can be rebuilt from storage at
//! any time (`pdp catalog reindex`, and automatically at start when the document count differs
//! from the number of published entries). Chinese has no spaces between words, so text fields are
//! cut into words by jieba in search mode, which also indexes the shorter words inside long ones
//! (人口基本信息 → 人口, 基本, 信息, 人口基本信息), so that a citizen's or officer's short query matches.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Mutex;

use tantivy::collector::{Count, FacetCollector, TopDocs};
use tantivy::query::{BooleanQuery, Occur, Query, QueryParser, TermQuery};
use tantivy::schema::{
    FAST, FacetOptions, Field, INDEXED, IndexRecordOption, STORED, STRING, Schema, TextFieldIndexing, TextOptions,
    Value,
};
use tantivy::snippet::SnippetGenerator;
use tantivy::tokenizer::{LowerCaser, TextAnalyzer};
use tantivy::{Index, IndexReader, IndexWriter, ReloadPolicy, TantivyDocument, Term, doc};

/// The facets a search can count and filter by, in display order.
pub const FACETS: &[&str] = &["provider", "region", "class", "share", "open", "grade", "frequency"];

/// What is indexed for one published entry. Facet values are stable codes (an organisation id,
/// `conditional`, `l3`…); the web layer turns them into labels.
#[derive(Debug, Clone, Default)]
pub struct SearchDoc {
    pub entry_id: i64,
    pub code: String,
    pub name: String,
    pub summary: String,
    /// Field labels and names, space-separated.
    pub fields: String,
    pub provider: String,
    /// `(facet, value)` pairs, e.g. `("share", "conditional")`.
    pub facets: Vec<(String, String)>,
}

/// A search request. `filters` are `(facet, value)` pairs that must all hold.
#[derive(Debug, Clone, Default)]
pub struct SearchQuery {
    pub text: String,
    pub filters: Vec<(String, String)>,
    pub limit: usize,
    pub offset: usize,
}

/// One result with HTML snippets in which matches are wrapped in `<b>`. The snippets are built
/// by tantivy from the stored text, which it escapes.
#[derive(Debug, Clone)]
pub struct Hit {
    pub entry_id: i64,
    pub code: String,
    pub score: f32,
    pub name_html: String,
    pub summary_html: String,
}

#[derive(Debug, Clone, Default)]
pub struct SearchResults {
    pub total: usize,
    pub hits: Vec<Hit>,
    /// For each facet, each value with its number of matching entries.
    pub facets: BTreeMap<String, Vec<(String, u64)>>,
}

#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    #[error("search index: {0}")]
    Index(#[from] tantivy::TantivyError),
    #[error("search index directory: {0}")]
    Directory(String),
}

pub type Result<T> = std::result::Result<T, SearchError>;

#[derive(Clone, Copy)]
struct Fields {
    entry_id: Field,
    code: Field,
    name: Field,
    summary: Field,
    fields: Field,
    provider: Field,
    facets: Field,
}

/// The catalog index: one writer behind a lock, readers reloaded after each commit.
pub struct CatalogIndex {
    index: Index,
    reader: IndexReader,
    writer: Mutex<IndexWriter>,
    f: Fields,
}

const TOKENIZER: &str = "jieba";

fn schema() -> (Schema, Fields) {
    let mut b = Schema::builder();
    let text = TextOptions::default()
        .set_indexing_options(
            TextFieldIndexing::default()
                .set_tokenizer(TOKENIZER)
                .set_index_option(IndexRecordOption::WithFreqsAndPositions),
        )
        .set_stored();
    let f = Fields {
        entry_id: b.add_u64_field("entry_id", INDEXED | STORED | FAST),
        code: b.add_text_field("code", STRING | STORED),
        name: b.add_text_field("name", text.clone()),
        summary: b.add_text_field("summary", text.clone()),
        fields: b.add_text_field("fields", text.clone()),
        provider: b.add_text_field("provider", text),
        facets: b.add_facet_field("facets", FacetOptions::default()),
    };
    (b.build(), f)
}

fn facet(name: &str, value: &str) -> tantivy::schema::Facet {
    tantivy::schema::Facet::from_path([name, value])
}

impl CatalogIndex {
    /// Opens the index in `dir` (created when missing), or an index in memory when `dir` is
    /// `None` (tests, benchmarks).
    pub fn open(dir: Option<&Path>) -> Result<Self> {
        let (schema, f) = schema();
        let index = match dir {
            Some(d) => {
                std::fs::create_dir_all(d).map_err(|e| SearchError::Directory(format!("{}: {e}", d.display())))?;
                let mmap = tantivy::directory::MmapDirectory::open(d)
                    .map_err(|e| SearchError::Directory(format!("{}: {e}", d.display())))?;
                let index = Index::open_or_create(mmap, schema.clone())?;
                if index.schema() != schema {
                    return Err(SearchError::Directory(format!(
                        "{} holds an index of another layout; remove it and run `pdp catalog reindex`",
                        d.display()
                    )));
                }
                index
            }
            None => Index::create_in_ram(schema),
        };
        let analyzer = TextAnalyzer::builder(tantivy_jieba::JiebaTokenizer::new()).filter(LowerCaser).build();
        index.tokenizers().register(TOKENIZER, analyzer);
        let reader = index.reader_builder().reload_policy(ReloadPolicy::Manual).try_into()?;
        // One writer thread: catalog changes are rare and the machine has few cores.
        let writer = index.writer_with_num_threads(1, 50_000_000)?;
        Ok(Self { index, reader, writer: Mutex::new(writer), f })
    }

    fn to_doc(&self, d: &SearchDoc) -> TantivyDocument {
        let f = self.f;
        let mut doc = doc!(
            f.entry_id => d.entry_id as u64,
            f.code => d.code.clone(),
            f.name => d.name.clone(),
            f.summary => d.summary.clone(),
            f.fields => d.fields.clone(),
            f.provider => d.provider.clone(),
        );
        for (k, v) in &d.facets {
            doc.add_facet(f.facets, facet(k, v));
        }
        doc
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, IndexWriter> {
        // A panic while holding the writer leaves it usable for the next commit or rollback.
        self.writer.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Adds or replaces the documents of these entries and commits.
    pub fn upsert(&self, docs: &[SearchDoc]) -> Result<()> {
        let mut w = self.lock();
        for d in docs {
            w.delete_term(Term::from_field_u64(self.f.entry_id, d.entry_id as u64));
            w.add_document(self.to_doc(d))?;
        }
        w.commit()?;
        drop(w);
        self.reader.reload()?;
        Ok(())
    }

    /// Removes an entry and commits.
    pub fn remove(&self, entry_id: i64) -> Result<()> {
        let mut w = self.lock();
        w.delete_term(Term::from_field_u64(self.f.entry_id, entry_id as u64));
        w.commit()?;
        drop(w);
        self.reader.reload()?;
        Ok(())
    }

    /// Replaces the whole index with `docs`, calling `progress` every 1 000 documents.
    pub fn rebuild(&self, docs: impl IntoIterator<Item = SearchDoc>, mut progress: impl FnMut(usize)) -> Result<usize> {
        let mut w = self.lock();
        w.delete_all_documents()?;
        let mut n = 0;
        for d in docs {
            w.add_document(self.to_doc(&d))?;
            n += 1;
            if n % 1000 == 0 {
                progress(n);
            }
        }
        w.commit()?;
        drop(w);
        self.reader.reload()?;
        progress(n);
        Ok(n)
    }

    /// The parser of search text: every word must match, in the name (weighted most), the
    /// fields, the summary or the provider.
    fn parser(&self) -> QueryParser {
        let f = self.f;
        let mut parser = QueryParser::for_index(&self.index, vec![f.name, f.summary, f.fields, f.provider]);
        parser.set_conjunction_by_default();
        parser.set_field_boost(f.name, 3.0);
        parser.set_field_boost(f.fields, 1.5);
        parser
    }

    /// The entries whose text matches `text` (all words, parsed leniently), best first, at most
    /// `limit`: only their ids, read from the fast field, without snippets or facets, for a caller
    /// that holds the entries itself (the open portal's catalog).
    pub fn rank(&self, text: &str, limit: usize) -> Result<Vec<i64>> {
        let searcher = self.reader.searcher();
        let parser = self.parser();
        let text = text.trim();
        if text.is_empty() {
            return Ok(vec![]);
        }
        let (query, _errors) = parser.parse_query_lenient(text);
        let top = TopDocs::with_limit(limit.max(1)).order_by_score();
        let found: Vec<(f32, tantivy::DocAddress)> = searcher.search(&query, &top)?;
        let columns = searcher
            .segment_readers()
            .iter()
            .map(|s| s.fast_fields().u64("entry_id"))
            .collect::<tantivy::Result<Vec<_>>>()?;
        Ok(found
            .into_iter()
            .filter_map(|(_, a)| columns.get(a.segment_ord as usize)?.first(a.doc_id))
            .map(|id| id as i64)
            .collect())
    }

    /// The number of indexed entries.
    pub fn len(&self) -> u64 {
        self.reader.searcher().num_docs()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Runs a query. Text is parsed leniently (a user's stray quote or colon is not an error),
    /// and all words must match; an empty text lists everything that passes the filters.
    pub fn search(&self, q: &SearchQuery) -> Result<SearchResults> {
        let f = self.f;
        let searcher = self.reader.searcher();
        let parser = self.parser();
        let text = q.text.trim();
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        let text_query = if text.is_empty() {
            None
        } else {
            let (query, _errors) = parser.parse_query_lenient(text);
            clauses.push((Occur::Must, query.box_clone()));
            Some(query)
        };
        for (k, v) in &q.filters {
            let t = Term::from_facet(f.facets, &facet(k, v));
            clauses.push((Occur::Must, Box::new(TermQuery::new(t, IndexRecordOption::Basic))));
        }
        let query: Box<dyn Query> =
            if clauses.is_empty() { Box::new(tantivy::query::AllQuery) } else { Box::new(BooleanQuery::new(clauses)) };
        let mut fc = FacetCollector::for_field("facets");
        for name in FACETS {
            fc.add_facet(format!("/{name}").as_str());
        }
        let limit = q.limit.clamp(1, 1000);
        let top = TopDocs::with_limit(limit).and_offset(q.offset).order_by_score();
        let (top, total, facet_counts) = searcher.search(&query, &(top, Count, fc))?;

        let snippets = match &text_query {
            Some(tq) => Some((
                SnippetGenerator::create(&searcher, tq.as_ref(), f.name)?,
                SnippetGenerator::create(&searcher, tq.as_ref(), f.summary)?,
            )),
            None => None,
        };
        let mut hits = Vec::with_capacity(top.len());
        for (score, addr) in top {
            let doc: TantivyDocument = searcher.doc(addr)?;
            let s = |field| doc.get_first(field).and_then(|v| v.as_str()).unwrap_or_default().to_string();
            let (name_html, summary_html) = match &snippets {
                Some((gn, gs)) => {
                    let n = snippet_html(&gn.snippet_from_doc(&doc));
                    let name_html = if n.is_empty() { escape(&s(f.name)) } else { n };
                    let sm = snippet_html(&gs.snippet_from_doc(&doc));
                    let summary_html = if sm.is_empty() { escape(&s(f.summary)) } else { sm };
                    (name_html, summary_html)
                }
                None => (escape(&s(f.name)), escape(&s(f.summary))),
            };
            hits.push(Hit {
                entry_id: doc.get_first(f.entry_id).and_then(|v| v.as_u64()).unwrap_or_default() as i64,
                code: s(f.code),
                score,
                name_html,
                summary_html,
            });
        }
        let mut facets = BTreeMap::new();
        for name in FACETS {
            let prefix = format!("/{name}");
            let mut values: Vec<(String, u64)> = facet_counts
                .get(prefix.as_str())
                .map(|(facet, count)| {
                    let v = facet.to_path().last().map(|s| s.to_string()).unwrap_or_default();
                    (v, count)
                })
                .collect();
            values.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
            facets.insert(name.to_string(), values);
        }
        Ok(SearchResults { total, hits, facets })
    }
}

/// Renders a snippet with its matches in `<b>`, everything else escaped.
///
/// jieba's search mode emits overlapping tokens (法定代表人 and 代表人), so the highlighted
/// ranges can overlap, which tantivy's own `to_html` does not expect (it panics slicing
/// backwards). The ranges are merged first, and any range not on character boundaries is
/// skipped rather than trusted.
fn snippet_html(snippet: &tantivy::snippet::Snippet) -> String {
    let text = snippet.fragment();
    let mut ranges: Vec<std::ops::Range<usize>> = snippet.highlighted().to_vec();
    ranges.sort_by_key(|r| (r.start, r.end));
    let mut merged: Vec<std::ops::Range<usize>> = Vec::new();
    for r in ranges {
        if r.start >= r.end || r.end > text.len() || !text.is_char_boundary(r.start) || !text.is_char_boundary(r.end) {
            continue;
        }
        match merged.last_mut() {
            Some(last) if r.start <= last.end => last.end = last.end.max(r.end),
            _ => merged.push(r),
        }
    }
    let mut out = String::with_capacity(text.len() + merged.len() * 7);
    let mut at = 0;
    for r in merged {
        out.push_str(&escape(&text[at..r.start]));
        out.push_str("<b>");
        out.push_str(&escape(&text[r.start..r.end]));
        out.push_str("</b>");
        at = r.end;
    }
    out.push_str(&escape(&text[at..]));
    out
}

/// Escapes text for HTML, as tantivy's snippets do.
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(id: i64, name: &str, summary: &str, share: &str) -> SearchDoc {
        SearchDoc {
            entry_id: id,
            code: format!("101000/{id:06}"),
            name: name.into(),
            summary: summary.into(),
            fields: "公民身份号码 姓名".into(),
            provider: "临江市公安局".into(),
            facets: vec![("share".into(), share.into()), ("provider".into(), "3".into())],
        }
    }

    // covers: R-CAT-05 (search over the master catalog with Chinese word segmentation)
    #[test]
    fn chinese_words_facets_and_highlights() {
        let idx = CatalogIndex::open(None).unwrap();
        idx.upsert(&[
            d(1, "人口基本信息", "全市户籍人口和流动人口的基本信息", "conditional"),
            d(2, "企业登记信息", "市场主体设立、变更、注销登记信息", "unconditional"),
            d(3, "<script>不动产</script>登记", "不动产权属登记", "unconditional"),
        ])
        .unwrap();
        assert_eq!(idx.len(), 3);
        // A word inside a longer one is found (jieba search mode).
        let r = idx.search(&SearchQuery { text: "人口".into(), limit: 10, ..Default::default() }).unwrap();
        assert_eq!(r.total, 1);
        assert_eq!(r.hits[0].entry_id, 1);
        assert!(r.hits[0].summary_html.contains("<b>人口</b>"), "{}", r.hits[0].summary_html);
        // Two words must both match.
        let r = idx.search(&SearchQuery { text: "登记 企业".into(), limit: 10, ..Default::default() }).unwrap();
        assert_eq!(r.hits.iter().map(|h| h.entry_id).collect::<Vec<_>>(), [2]);
        // Facet counts and filters.
        let r = idx.search(&SearchQuery { text: "登记".into(), limit: 10, ..Default::default() }).unwrap();
        assert_eq!(r.total, 2);
        assert_eq!(r.facets["share"], [("unconditional".to_string(), 2)]);
        let r = idx
            .search(&SearchQuery {
                text: String::new(),
                filters: vec![("share".into(), "conditional".into())],
                limit: 10,
                offset: 0,
            })
            .unwrap();
        assert_eq!(r.total, 1);
        // Stored text is escaped in snippets.
        let r = idx.search(&SearchQuery { text: "不动产".into(), limit: 10, ..Default::default() }).unwrap();
        assert!(!r.hits[0].name_html.contains("<script>"), "{}", r.hits[0].name_html);
        // Replacing and removing keep one document per entry.
        idx.upsert(&[d(1, "人口基本信息", "更新后的摘要", "conditional")]).unwrap();
        assert_eq!(idx.len(), 3);
        idx.remove(3).unwrap();
        assert_eq!(idx.len(), 2);
        // Stray syntax is not an error.
        assert!(idx.search(&SearchQuery { text: "人口 \"AND:(".into(), limit: 10, ..Default::default() }).is_ok());
        // Ranking gives the same entries as the search, best first, ids only.
        idx.upsert(&[d(4, "登记机关名录", "各类登记机关", "unconditional")]).unwrap();
        let ranked = idx.rank("登记", 10).unwrap();
        let searched = idx.search(&SearchQuery { text: "登记".into(), limit: 10, ..Default::default() }).unwrap();
        assert_eq!(ranked, searched.hits.iter().map(|h| h.entry_id).collect::<Vec<_>>());
        assert_eq!(idx.rank("登记", 1).unwrap().len(), 1);
        assert!(idx.rank("  ", 10).unwrap().is_empty());
    }

    // covers: R-CAT-05 (overlapping jieba tokens in a snippet are highlighted, not a panic;
    // found by the 100k benchmark)
    #[test]
    fn overlapping_tokens_highlight_once() {
        let idx = CatalogIndex::open(None).unwrap();
        idx.upsert(&[d(1, "法定代表人信息", "法定代表人、代表人、许可证编号、法定代表人等信息项", "unconditional")])
            .unwrap();
        for q in ["法定代表人", "代表人 法定", "法定代表人 代表"] {
            let r = idx.search(&SearchQuery { text: q.into(), limit: 10, ..Default::default() }).unwrap();
            assert_eq!(r.total, 1, "{q}");
            let html = &r.hits[0].summary_html;
            assert!(html.starts_with("<b>法定代表"), "{q}: {html}");
            assert!(!html.contains("<b><b>") && html.matches("<b>").count() == html.matches("</b>").count(), "{html}");
        }
    }

    // covers: R-CAT-05
    #[test]
    fn rebuild_on_disk_replaces_everything() {
        let dir = tempfile_dir();
        {
            let idx = CatalogIndex::open(Some(&dir)).unwrap();
            idx.upsert(&[d(1, "甲", "乙", "unconditional")]).unwrap();
            let n = idx.rebuild((10..15).map(|i| d(i, "社保缴费", "社会保险缴费记录", "conditional")), |_| {}).unwrap();
            assert_eq!(n, 5);
        }
        let idx = CatalogIndex::open(Some(&dir)).unwrap();
        assert_eq!(idx.len(), 5, "the index persists");
        std::fs::remove_dir_all(&dir).ok();
    }

    fn tempfile_dir() -> std::path::PathBuf {
        let p = std::env::temp_dir().join(format!("pdp-search-test-{}", std::process::id()));
        std::fs::remove_dir_all(&p).ok();
        p
    }
}
