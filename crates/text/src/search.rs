//! The full-text search index over messages and conversation subjects (tantivy, on disk under
//! the server's data folder). Text goes through the shared analyzer before tantivy sees it:
//! lemmas (届きません finds 届かない) with kanji readings (へんぴん finds 返品), character bigrams
//! for words the dictionary lacks, and exact tokens for e-mail addresses and order numbers; the
//! fields hold those terms separated by spaces, so tantivy only splits on whitespace. Every
//! query part must match (as a lemma, as all of its bigrams, or exactly); quoted parts are
//! phrases. The text itself is not kept (the store has it): [`snippet`] marks the matched
//! words in it, everything else escaped.
//! Each commit carries a watermark (the newest indexed time) so that a restarted node catches
//! up from the store.

use std::collections::HashSet;
use std::path::Path;
use std::sync::Mutex;

use tantivy::collector::TopDocs;
use tantivy::directory::MmapDirectory;
use tantivy::query::{BooleanQuery, BoostQuery, Occur, PhraseQuery, Query, RangeQuery, TermQuery};
use tantivy::schema::{
    Field, IndexRecordOption, NumericOptions, Schema, TextFieldIndexing, TextOptions, Value, STORED,
};
use tantivy::tokenizer::{TextAnalyzer, WhitespaceTokenizer};
use tantivy::{Index, IndexReader, IndexWriter, ReloadPolicy, TantivyDocument, Term};

use crate::normalize::{fold, term};
use crate::Analyzer;

/// Changes whenever the schema or the analysis changes: an older index is rebuilt.
const SCHEMA_VERSION: u32 = 4;
/// Memory for the writer's buffer.
const WRITER_BYTES: usize = 50_000_000;
/// Characters of context before the first mark in a snippet, and of snippet in all.
const SNIPPET_BEFORE: usize = 30;
const SNIPPET_CHARS: usize = 140;

#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    #[error("search index: {0}")]
    Index(#[from] tantivy::TantivyError),
    #[error("search index folder: {0}")]
    Folder(String),
}

type Result<T> = std::result::Result<T, SearchError>;

/// What kind of thing a document is.
pub mod kind {
    pub const MESSAGE: &str = "message";
    /// A conversation's subject (e-mail).
    pub const SUBJECT: &str = "subject";
    /// A contact: name, e-mail, phone and ids in other systems.
    pub const CONTACT: &str = "contact";
}

/// One document to index; `key` is unique (a message id, `subject:` + a conversation id).
#[derive(Debug, Clone)]
pub struct Document<'a> {
    pub key: &'a str,
    pub kind: &'a str,
    pub workspace_id: &'a str,
    pub conversation_id: &'a str,
    /// The customer: indexed so that erasing a contact can remove their documents at once.
    pub contact_id: &'a str,
    /// A private note: agents only.
    pub private: bool,
    pub created_at: i64,
    pub text: &'a str,
    /// Kept with it and given back with a hit (JSON: the message's seq and sender).
    pub detail: String,
}

/// A query: its text and what it is limited to.
#[derive(Debug, Clone, Default)]
pub struct Request<'a> {
    pub workspace_id: &'a str,
    pub text: &'a str,
    /// Only these kinds; empty: all.
    pub kinds: &'a [&'a str],
    pub include_private: bool,
    /// Created in `[from, to)` (Unix ms).
    pub from: Option<i64>,
    pub to: Option<i64>,
    pub limit: usize,
}

/// A document that matched, best first.
#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    pub key: String,
    pub kind: String,
    pub conversation_id: String,
    pub private: bool,
    pub created_at: i64,
    pub score: f32,
    pub detail: String,
}

/// The hits of a query, and the terms a snippet of them marks.
#[derive(Debug, Clone, Default)]
pub struct Found {
    pub hits: Vec<Hit>,
    pub marks: HashSet<String>,
}

struct Fields {
    key: Field,
    kind: Field,
    workspace: Field,
    conversation: Field,
    contact: Field,
    private: Field,
    created_at: Field,
    words: Field,
    grams: Field,
    exact: Field,
    detail: Field,
}

const TOKENIZER: &str = "terms";

fn schema() -> (Schema, Fields) {
    let mut builder = Schema::builder();
    // Words keep frequencies and positions (ranking, phrases); bigrams and exact tokens only
    // which documents have them: they decide matches, the words rank.
    let terms = |record: IndexRecordOption| {
        TextOptions::default().set_indexing_options(
            TextFieldIndexing::default()
                .set_tokenizer(TOKENIZER)
                .set_index_option(record)
                .set_fieldnorms(record != IndexRecordOption::Basic),
        )
    };
    let raw = |stored: bool| {
        let options = TextOptions::default().set_indexing_options(
            TextFieldIndexing::default()
                .set_tokenizer("raw")
                .set_index_option(IndexRecordOption::Basic)
                .set_fieldnorms(false),
        );
        if stored {
            options.set_stored()
        } else {
            options
        }
    };
    let fields = Fields {
        key: builder.add_text_field("key", raw(true)),
        kind: builder.add_text_field("kind", raw(true)),
        workspace: builder.add_text_field("workspace", raw(false)),
        conversation: builder.add_text_field("conversation", raw(true)),
        contact: builder.add_text_field("contact", raw(false)),
        private: builder.add_u64_field(
            "private",
            NumericOptions::default().set_indexed().set_stored(),
        ),
        created_at: builder.add_i64_field(
            "created_at",
            NumericOptions::default()
                .set_indexed()
                .set_stored()
                .set_fast(),
        ),
        words: builder.add_text_field("words", terms(IndexRecordOption::WithFreqsAndPositions)),
        grams: builder.add_text_field("grams", terms(IndexRecordOption::Basic)),
        exact: builder.add_text_field("exact", terms(IndexRecordOption::Basic)),
        detail: builder.add_text_field("detail", STORED),
    };
    (builder.build(), fields)
}

/// E-mail addresses, order numbers and the like: runs of ASCII letters, digits and `@._+-`
/// with a digit or an `@` in them, folded (full width, case), trailing punctuation dropped.
pub fn exact_tokens(text: &str) -> Vec<String> {
    let folded = fold(text);
    folded
        .split(|c: char| !(c.is_ascii_alphanumeric() || "@._+-".contains(c)))
        .map(|t| t.trim_matches(|c: char| ".-_+".contains(c)))
        .filter(|t| t.len() >= 3 && t.chars().any(|c| c.is_ascii_digit() || c == '@'))
        .map(str::to_owned)
        .collect()
}

/// A query split into phrases (in quotes), exact tokens and free words.
#[derive(Debug, Default, PartialEq)]
struct Parsed {
    phrases: Vec<String>,
    exact: Vec<String>,
    free: Vec<String>,
}

fn parse(query: &str) -> Parsed {
    let mut parsed = Parsed::default();
    for (i, part) in query.replace(['“', '”'], "\"").split('"').enumerate() {
        if part.trim().is_empty() {
            continue;
        }
        if i % 2 == 1 {
            parsed.phrases.push(part.trim().to_owned());
            continue;
        }
        for chunk in part.split_whitespace() {
            let exact = exact_tokens(chunk);
            if exact.len() == 1
                && exact[0].len() + 1
                    >= fold(chunk)
                        .trim_matches(|c: char| !c.is_alphanumeric())
                        .len()
            {
                parsed.exact.extend(exact);
            } else {
                parsed.free.push(chunk.to_owned());
            }
        }
    }
    parsed
}

/// Whose documents an erasure removes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Owner {
    Contact,
    Conversation,
}

pub struct SearchIndex {
    reader: IndexReader,
    writer: Mutex<IndexWriter>,
    fields: Fields,
}

/// The terms a document's text is indexed under.
fn doc_terms(analyzer: &Analyzer, text: &str) -> (String, String, String) {
    let mut words = analyzer.words(text, &crate::Synonyms::default());
    words.extend(analyzer.kanji_readings(text));
    // The text's bigrams and its reading's.
    let mut grams = analyzer.bigrams(text);
    grams.extend(analyzer.bigrams(&analyzer.reading(text)));
    (
        words.join(" "),
        grams.join(" "),
        exact_tokens(text).join(" "),
    )
}

impl SearchIndex {
    fn with_index(index: Index) -> Result<Self> {
        let (_, fields) = schema();
        index.tokenizers().register(
            TOKENIZER,
            TextAnalyzer::from(WhitespaceTokenizer::default()),
        );
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()?;
        let writer = index.writer_with_num_threads(1, WRITER_BYTES)?;
        Ok(Self {
            reader,
            writer: Mutex::new(writer),
            fields,
        })
    }

    /// An index in memory (benchmarks, tests).
    pub fn in_memory() -> Result<Self> {
        Self::with_index(Index::create_in_ram(schema().0))
    }

    /// The index in `dir`, and the watermark of its last commit; an index that is missing, of
    /// an older schema or unreadable is started afresh (watermark `None`: rebuild it).
    pub fn open(dir: &Path) -> Result<(Self, Option<i64>)> {
        let folder = |err: std::io::Error| SearchError::Folder(format!("{}: {err}", dir.display()));
        std::fs::create_dir_all(dir).map_err(folder)?;
        let opened = MmapDirectory::open(dir)
            .map_err(|e| SearchError::Folder(e.to_string()))
            .and_then(|d| Ok(Index::open_or_create(d, schema().0)?));
        let watermark = |index: &Index| -> Option<i64> {
            let payload = index.load_metas().ok()?.payload?;
            let (version, at) = payload.split_once(':')?;
            (version.parse::<u32>().ok()? == SCHEMA_VERSION).then(|| at.parse().ok())?
        };
        if let Ok(index) = opened {
            if let Some(at) = watermark(&index) {
                return Ok((Self::with_index(index)?, Some(at)));
            }
        }
        // Start over: nothing in it can be trusted.
        std::fs::remove_dir_all(dir).map_err(folder)?;
        std::fs::create_dir_all(dir).map_err(folder)?;
        let directory = MmapDirectory::open(dir).map_err(|e| SearchError::Folder(e.to_string()))?;
        Ok((
            Self::with_index(Index::open_or_create(directory, schema().0)?)?,
            None,
        ))
    }

    fn writer(&self) -> std::sync::MutexGuard<'_, IndexWriter> {
        self.writer.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Adds documents, replacing any with the same key (visible after [`SearchIndex::commit`]).
    pub fn upsert(&self, analyzer: &Analyzer, documents: &[Document<'_>]) -> Result<()> {
        let f = &self.fields;
        // Analysis first, outside the writer's lock: several threads may add at once.
        let analysed: Vec<_> = documents
            .iter()
            .map(|d| (d, doc_terms(analyzer, d.text)))
            .collect();
        let writer = self.writer();
        for (d, (words, grams, exact)) in analysed {
            writer.delete_term(Term::from_field_text(f.key, d.key));
            let mut doc = TantivyDocument::default();
            doc.add_text(f.key, d.key);
            doc.add_text(f.kind, d.kind);
            doc.add_text(f.workspace, d.workspace_id);
            doc.add_text(f.conversation, d.conversation_id);
            doc.add_text(f.contact, d.contact_id);
            doc.add_u64(f.private, u64::from(d.private));
            doc.add_i64(f.created_at, d.created_at);
            doc.add_text(f.words, words);
            doc.add_text(f.grams, grams);
            doc.add_text(f.exact, exact);
            doc.add_text(f.detail, &d.detail);
            writer.add_document(doc)?;
        }
        Ok(())
    }

    /// Removes one document.
    pub fn delete(&self, key: &str) {
        self.writer()
            .delete_term(Term::from_field_text(self.fields.key, key));
    }

    /// Removes every document of a contact or a conversation and rewrites the parts of the
    /// index that held them, so that their terms are gone from its files too (an erasure, a
    /// retention run); committed with `watermark`.
    pub fn erase(&self, owner: Owner, id: &str, watermark: i64) -> Result<()> {
        let field = match owner {
            Owner::Contact => self.fields.contact,
            Owner::Conversation => self.fields.conversation,
        };
        self.writer().delete_term(Term::from_field_text(field, id));
        self.commit(watermark)?;
        let mut writer = self.writer();
        let holding: Vec<_> = writer
            .index()
            .searchable_segment_metas()?
            .iter()
            .filter(|meta| meta.num_deleted_docs() > 0)
            .map(|meta| meta.id())
            .collect();
        if !holding.is_empty() {
            writer.merge(&holding).wait()?;
        }
        self.reader.reload()?;
        writer.garbage_collect_files().wait()?;
        Ok(())
    }

    /// Whether some part of the index still holds `token` (an e-mail address, an order number)
    /// as a term, deleted documents included: the check that an erasure left nothing.
    pub fn dictionary_holds(&self, token: &str) -> Result<bool> {
        let searcher = self.reader.searcher();
        for term in exact_tokens(token) {
            let term = Term::from_field_text(self.fields.exact, &term);
            for segment in searcher.segment_readers() {
                if segment
                    .inverted_index(self.fields.exact)?
                    .get_term_info(&term)
                    .map_err(tantivy::TantivyError::from)?
                    .is_some()
                {
                    return Ok(true);
                }
            }
        }
        Ok(false)
    }

    /// Makes the changes searchable and durable, recording `watermark` (the newest time
    /// indexed, Unix ms).
    pub fn commit(&self, watermark: i64) -> Result<()> {
        {
            let mut writer = self.writer();
            let mut prepared = writer.prepare_commit()?;
            prepared.set_payload(&format!("{SCHEMA_VERSION}:{watermark}"));
            prepared.commit()?;
        }
        self.reader.reload()?;
        Ok(())
    }

    /// How many documents are searchable.
    pub fn documents(&self) -> u64 {
        self.reader.searcher().num_docs()
    }

    /// Bytes the index's parts take: term dictionaries, postings, positions, stored fields,
    /// fast fields and norms.
    pub fn space(&self) -> Vec<(&'static str, u64)> {
        let mut parts = [0u64; 6];
        for segment in self.reader.searcher().segment_readers() {
            let Ok(usage) = segment.space_usage() else {
                continue;
            };
            for (i, bytes) in [
                usage.termdict().total(),
                usage.postings().total(),
                usage.positions().total(),
                usage.store().total(),
                usage.fast_fields().total(),
                usage.fieldnorms().total(),
            ]
            .into_iter()
            .enumerate()
            {
                parts[i] += bytes.get_bytes();
            }
        }
        ["terms", "postings", "positions", "stored", "fast", "norms"]
            .into_iter()
            .zip(parts)
            .collect()
    }

    fn text_term(&self, field: Field, text: &str) -> Box<dyn Query> {
        Box::new(TermQuery::new(
            Term::from_field_text(field, text),
            IndexRecordOption::WithFreqs,
        ))
    }

    /// One free word: its lemma, or every one of its bigrams (words the dictionary splits
    /// differently; the bigrams of a text's reading too, for kana typed for kanji).
    fn word_query(&self, word: &str, grams: &[String]) -> Box<dyn Query> {
        let mut either: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        if !word.is_empty() {
            either.push((
                Occur::Should,
                Box::new(BoostQuery::new(
                    self.text_term(self.fields.words, word),
                    2.0,
                )),
            ));
        }
        match grams.len() {
            0 => {}
            1 => either.push((Occur::Should, self.text_term(self.fields.grams, &grams[0]))),
            _ => either.push((
                Occur::Should,
                Box::new(BooleanQuery::new(
                    grams
                        .iter()
                        .map(|g| (Occur::Must, self.text_term(self.fields.grams, g)))
                        .collect(),
                )),
            )),
        }
        Box::new(BooleanQuery::new(either))
    }

    /// The query, and the terms a snippet marks.
    fn build(
        &self,
        analyzer: &Analyzer,
        request: &Request<'_>,
    ) -> (Option<Box<dyn Query>>, HashSet<String>) {
        let f = &self.fields;
        let parsed = parse(request.text);
        let mut marks = HashSet::new();
        let mut must: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        for token in &parsed.exact {
            marks.insert(token.clone());
            must.push((Occur::Must, self.text_term(f.exact, token)));
        }
        for chunk in &parsed.free {
            // Each of its words (as a lemma or as its bigrams), or the chunk as written (in the
            // text or in its reading: kana typed for kanji).
            let words = analyzer.words(chunk, &crate::Synonyms::default());
            let kana = term(&fold(chunk));
            if is_kana(&kana) {
                // Kana typed for kanji: the snippet marks the words that read so.
                marks.insert(kana);
            }
            let mut all: Vec<(Occur, Box<dyn Query>)> = Vec::new();
            for word in words {
                let grams = analyzer.bigrams(&word);
                marks.insert(word.clone());
                all.push((Occur::Must, self.word_query(&word, &grams)));
            }
            let mut either: Vec<(Occur, Box<dyn Query>)> = Vec::new();
            if !all.is_empty() {
                either.push((Occur::Should, Box::new(BooleanQuery::new(all))));
            }
            let grams = analyzer.bigrams(chunk);
            if !grams.is_empty() {
                either.push((Occur::Should, self.word_query("", &grams)));
            }
            if !either.is_empty() {
                must.push((Occur::Must, Box::new(BooleanQuery::new(either))));
            }
        }
        for phrase in &parsed.phrases {
            let words = analyzer.words(phrase, &crate::Synonyms::default());
            marks.extend(words.iter().cloned());
            let query: Box<dyn Query> = match words.len() {
                0 => continue,
                1 => self.word_query(&words[0], &analyzer.bigrams(&words[0])),
                _ => Box::new(PhraseQuery::new(
                    words
                        .iter()
                        .map(|w| Term::from_field_text(f.words, w))
                        .collect(),
                )),
            };
            must.push((Occur::Must, query));
        }
        if must.is_empty() {
            return (None, marks);
        }
        must.push((
            Occur::Must,
            self.text_term(f.workspace, request.workspace_id),
        ));
        if !request.include_private {
            must.push((
                Occur::Must,
                Box::new(TermQuery::new(
                    Term::from_field_u64(f.private, 0),
                    IndexRecordOption::Basic,
                )),
            ));
        }
        if !request.kinds.is_empty() {
            let kinds = request
                .kinds
                .iter()
                .map(|k| (Occur::Should, self.text_term(f.kind, k)))
                .collect();
            must.push((Occur::Must, Box::new(BooleanQuery::new(kinds))));
        }
        if request.from.is_some() || request.to.is_some() {
            use std::ops::Bound;
            let bound = |at: Option<i64>, included: bool| match at {
                Some(at) if included => Bound::Included(Term::from_field_i64(f.created_at, at)),
                Some(at) => Bound::Excluded(Term::from_field_i64(f.created_at, at)),
                None => Bound::Unbounded,
            };
            must.push((
                Occur::Must,
                Box::new(RangeQuery::new(
                    bound(request.from, true),
                    bound(request.to, false),
                )),
            ));
        }
        (Some(Box::new(BooleanQuery::new(must))), marks)
    }

    /// The best `request.limit` documents for the query.
    pub fn search(&self, analyzer: &Analyzer, request: &Request<'_>) -> Result<Found> {
        let (Some(query), marks) = self.build(analyzer, request) else {
            return Ok(Found::default());
        };
        let searcher = self.reader.searcher();
        let top = searcher.search(&query, &TopDocs::with_limit(request.limit.max(1)))?;
        let f = &self.fields;
        let mut hits = Vec::with_capacity(top.len());
        for (score, address) in top {
            let doc: TantivyDocument = searcher.doc(address)?;
            let text = |field: Field| {
                doc.get_first(field)
                    .and_then(|v| v.as_str())
                    .unwrap_or_default()
                    .to_owned()
            };
            hits.push(Hit {
                key: text(f.key),
                kind: text(f.kind),
                conversation_id: text(f.conversation),
                private: doc.get_first(f.private).and_then(|v| v.as_u64()) == Some(1),
                created_at: doc
                    .get_first(f.created_at)
                    .and_then(|v| v.as_i64())
                    .unwrap_or_default(),
                score,
                detail: text(f.detail),
            });
        }
        Ok(Found { hits, marks })
    }
}

/// `text` escaped for HTML.
pub fn escaped(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    escape(text, &mut out);
    out
}

/// Characters of text read from a word on, to match a mark typed in kana.
const READING_CONTEXT: usize = 16;

/// Hiragana only (and long-vowel marks), two characters or more: a term typed in kana.
fn is_kana(text: &str) -> bool {
    text.chars().count() >= 2 && text.chars().all(|c| matches!(c, 'ぁ'..='ゖ' | 'ー'))
}

/// Escapes text for HTML onto `out`.
fn escape(text: &str, out: &mut String) {
    for c in text.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
}

/// The text around the first of `marks` (analyzer terms or exact tokens), escaped, each match
/// in `<mark>`.
pub fn snippet(analyzer: &Analyzer, text: &str, marks: &HashSet<String>) -> String {
    let kana_marks: Vec<&String> = marks.iter().filter(|m| is_kana(m)).collect();
    // A word written in kanji where the text, read from there, reads as a mark typed in kana
    // (返品 for へんぴん, 届か for とどかない; read in context: 届か alone reads とどけか).
    let read_as_marked = |range: &std::ops::Range<usize>| {
        if kana_marks.is_empty() || is_kana(&term(&text[range.clone()])) {
            return false;
        }
        let rest: String = text[range.start..].chars().take(READING_CONTEXT).collect();
        let reading = analyzer.reading(&rest);
        kana_marks
            .iter()
            .any(|m| reading.starts_with(String::as_str(m)))
    };
    let mut ranges: Vec<std::ops::Range<usize>> = analyzer
        .word_spans(text)
        .into_iter()
        .filter(|(word, range)| {
            marks.contains(word) || marks.contains(&term(word)) || read_as_marked(range)
        })
        .map(|(_, range)| range)
        .collect();
    let lower = text.to_lowercase();
    if lower.len() == text.len() {
        for token in marks
            .iter()
            .filter(|m| m.is_ascii() && (m.contains('@') || m.chars().any(|c| c.is_ascii_digit())))
        {
            let mut from = 0;
            while let Some(at) = lower[from..].find(token.as_str()) {
                ranges.push(from + at..from + at + token.len());
                from += at + token.len();
            }
        }
    }
    ranges.sort_by_key(|r| r.start);
    let first = ranges.first().map_or(0, |r| r.start);
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let first_char = chars.iter().position(|(at, _)| *at >= first).unwrap_or(0);
    let start_char = first_char.saturating_sub(SNIPPET_BEFORE);
    let end_char = (start_char + SNIPPET_CHARS).min(chars.len());
    let start = chars.get(start_char).map_or(text.len(), |(at, _)| *at);
    let end = chars.get(end_char).map_or(text.len(), |(at, _)| *at);
    let mut out = String::new();
    if start > 0 {
        out.push('…');
    }
    let mut at = start;
    for range in ranges.iter().filter(|r| r.start >= start && r.end <= end) {
        if range.start < at {
            continue;
        }
        escape(&text[at..range.start], &mut out);
        out.push_str("<mark>");
        escape(&text[range.clone()], &mut out);
        out.push_str("</mark>");
        at = range.end;
    }
    escape(&text[at..end], &mut out);
    if end < text.len() {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc<'a>(key: &'a str, text: &'a str) -> Document<'a> {
        Document {
            key,
            kind: kind::MESSAGE,
            workspace_id: "w1",
            conversation_id: key,
            contact_id: "p1",
            private: false,
            created_at: 1_000,
            text,
            detail: String::new(),
        }
    }

    fn keys(index: &SearchIndex, analyzer: &Analyzer, q: &str) -> Vec<String> {
        index
            .search(
                analyzer,
                &Request {
                    workspace_id: "w1",
                    text: q,
                    include_private: true,
                    limit: 10,
                    ..Request::default()
                },
            )
            .unwrap()
            .hits
            .into_iter()
            .map(|h| h.key)
            .collect()
    }

    #[test]
    fn an_erased_contact_is_gone_from_the_index_files() {
        let analyzer = Analyzer::new().unwrap();
        let dir = std::env::temp_dir().join(format!("mdg-erase-{}", std::process::id()));
        let (index, _) = SearchIndex::open(&dir).unwrap();
        let erased = Document {
            contact_id: "p2",
            ..doc("erased", "連絡先は hanako.erase@example.jp です")
        };
        index
            .upsert(&analyzer, &[doc("kept", "連絡先は kept@example.jp です")])
            .unwrap();
        index.commit(1).unwrap();
        index.upsert(&analyzer, &[erased]).unwrap();
        index.commit(2).unwrap();
        let address = "hanako.erase@example.jp";
        assert!(index.dictionary_holds(address).unwrap());
        index.erase(Owner::Contact, "p2", 3).unwrap();
        assert!(keys(&index, &analyzer, address).is_empty());
        assert_eq!(keys(&index, &analyzer, "kept@example.jp"), ["kept"]);
        assert!(!index.dictionary_holds(address).unwrap(), "still held");
        assert!(index.dictionary_holds("kept@example.jp").unwrap());
        index.erase(Owner::Conversation, "kept", 4).unwrap();
        assert!(!index.dictionary_holds("kept@example.jp").unwrap());
        drop(index);
        let (reopened, watermark) = SearchIndex::open(&dir).unwrap();
        assert_eq!((reopened.documents(), watermark), (0, Some(4)));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn japanese_queries_find_inflections_variants_numbers_and_phrases() {
        let analyzer = Analyzer::new().unwrap();
        let index = SearchIndex::in_memory().unwrap();
        index
            .upsert(
                &analyzer,
                &[
                    doc(
                        "kettle",
                        "去年の春に買ったケトルが壊れて、荷物もまだ届かないです",
                    ),
                    doc("cancel", "ｷｬﾝｾﾙをお願いします。注文番号はA-10293です"),
                    doc("mail", "連絡先は taro.yamada@example.jp です"),
                    doc("return", "返品の手続きを教えてください"),
                    doc("other", "営業時間を教えてください"),
                ],
            )
            .unwrap();
        index.commit(1_000).unwrap();
        assert_eq!(index.documents(), 5);
        assert_eq!(keys(&index, &analyzer, "届きません"), ["kettle"], "lemma");
        assert_eq!(keys(&index, &analyzer, "キャンセル"), ["cancel"], "width");
        assert_eq!(keys(&index, &analyzer, "きゃんせる"), ["cancel"], "kana");
        assert_eq!(keys(&index, &analyzer, "へんぴん"), ["return"], "reading");
        assert_eq!(
            keys(&index, &analyzer, "とどかない"),
            ["kettle"],
            "kana for kanji"
        );
        assert_eq!(
            keys(&index, &analyzer, "a-10293"),
            ["cancel"],
            "order number"
        );
        assert!(keys(&index, &analyzer, "A-10294").is_empty());
        assert_eq!(
            keys(&index, &analyzer, "TARO.YAMADA@EXAMPLE.JP"),
            ["mail"],
            "e-mail"
        );
        assert_eq!(keys(&index, &analyzer, "ケトル 壊れた"), ["kettle"]);
        assert!(
            keys(&index, &analyzer, "ケトル 返品").is_empty(),
            "every word"
        );
        assert_eq!(keys(&index, &analyzer, "\"ケトルが壊れた\""), ["kettle"]);
        assert!(
            keys(&index, &analyzer, "\"壊れたケトル\"").is_empty(),
            "in order"
        );
        index.delete("kettle");
        index.commit(2_000).unwrap();
        assert!(keys(&index, &analyzer, "ケトル").is_empty());
    }

    #[test]
    fn snippets_mark_matches_and_escape_the_rest() {
        let analyzer = Analyzer::new().unwrap();
        let marks: HashSet<String> = ["届く".to_owned(), "a-10293".to_owned()].into();
        let text = "<b>注文A-10293</b>の荷物が届かない";
        assert_eq!(
            snippet(&analyzer, text, &marks),
            "&lt;b&gt;注文<mark>A-10293</mark>&lt;/b&gt;の荷物が<mark>届か</mark>ない"
        );
        let long = format!("{}届かない{}", "あ".repeat(100), "い".repeat(200));
        let cut = snippet(&analyzer, &long, &marks);
        assert!(cut.starts_with('…') && cut.ends_with('…'), "{cut}");
        assert!(cut.contains("<mark>届か</mark>"));
        // Kana typed for kanji marks the kanji.
        let kana: HashSet<String> = ["へんぴん".to_owned(), "とどかない".to_owned()].into();
        assert_eq!(
            snippet(&analyzer, "返品の荷物が届かない", &kana),
            "<mark>返品</mark>の荷物が<mark>届か</mark>ない"
        );
    }

    #[test]
    fn exact_tokens_are_addresses_and_numbers() {
        assert_eq!(
            exact_tokens("注文番号：Ａ－１０２９３、mail: Taro@Example.jp."),
            ["a-10293", "taro@example.jp"]
        );
        assert!(exact_tokens("こんにちは abc").is_empty());
    }
}
