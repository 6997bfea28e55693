//! The product index: every catalogue product (name, category path, brand, tags, description) and
//! every category level, searchable in Korean and English. It is brought in step with the
//! catalogue by difference: each document carries a hash of the text it was made from, so a
//! start or a catalogue change re-indexes only what changed, and a lost notice costs nothing.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::Mutex;

use sha2::{Digest, Sha256};
use tantivy::collector::{DocSetCollector, TopDocs};
use tantivy::query::AllQuery;
use tantivy::schema::{
    FAST, Field, INDEXED, IndexRecordOption, STORED, STRING, Schema, TextFieldIndexing, TextOptions, Value,
};
use tantivy::{IndexReader, IndexWriter, ReloadPolicy, TantivyDocument, Term};

use super::{Error, analyzer, open_index};
use crate::store::ReadTx;
use crate::store::records::ProductRecord;

/// Field boosts: a word in the name says more than one in the description (measured on the
/// judged test set, `dangol bench search`).
const BOOSTS: [(&str, f32); 5] = super::eval::FIELD_BOOSTS;

#[derive(Clone, Copy)]
struct Fields {
    /// `p:ID` for a product, `c:PATH` for a category level: the interests' own keys.
    key: Field,
    /// The product's name, or the category level's path.
    title: Field,
    hash: Field,
    text: [Field; 5],
}

pub struct ProductIndex {
    reader: IndexReader,
    writer: Mutex<IndexWriter>,
    f: Fields,
    /// What each document was made from, and its title.
    indexed: Mutex<Indexed>,
}

/// The documents in the index: key → (hash of key and text, title), and hash → key. A hit's hash
/// (a fast field) names its document without a read of the stored fields.
#[derive(Default)]
struct Indexed {
    docs: HashMap<String, (u64, String)>,
    by_hash: HashMap<u64, String>,
}

impl Indexed {
    fn insert(&mut self, key: &str, hash: u64, title: &str) {
        if let Some((old, _)) = self.docs.insert(key.to_string(), (hash, title.to_string())) {
            self.by_hash.remove(&old);
        }
        self.by_hash.insert(hash, key.to_string());
    }

    fn remove(&mut self, key: &str) {
        if let Some((hash, _)) = self.docs.remove(key) {
            self.by_hash.remove(&hash);
        }
    }
}

/// A product or category that matched a search.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct ProductHit {
    /// `p:ID` or `c:PATH`.
    pub key: String,
    /// The product's name or the category's path.
    pub title: String,
    pub score: f32,
}

/// What a sync changed.
#[derive(Debug, Default)]
pub struct Synced {
    pub added: usize,
    pub changed: usize,
    pub removed: usize,
    /// Keys whose text changed or went away: the interests of their customers read differently now.
    pub rewritten: Vec<String>,
}

fn schema() -> (Schema, Fields) {
    let mut b = Schema::builder();
    let text = TextOptions::default().set_indexing_options(
        TextFieldIndexing::default()
            .set_tokenizer(analyzer::NAME)
            .set_index_option(IndexRecordOption::WithFreqs),
    );
    let key = b.add_text_field("key", STRING | STORED);
    let title = b.add_text_field("title", STORED);
    let hash = b.add_u64_field("hash", STORED | FAST | INDEXED);
    let text = BOOSTS.map(|(name, _)| b.add_text_field(name, text.clone()));
    (b.build(), Fields { key, title, hash, text })
}

/// One document's content: title and the five texts.
struct Entry {
    title: String,
    texts: [String; 5],
}

impl Entry {
    fn of_product(p: &ProductRecord) -> Entry {
        Entry {
            title: p.name.clone(),
            texts: [
                p.name.clone(),
                p.category.clone().unwrap_or_default(),
                p.brand.clone().unwrap_or_default(),
                p.tags.join(" "),
                p.description.clone().unwrap_or_default(),
            ],
        }
    }

    fn of_category(path: &str) -> Entry {
        Entry {
            title: path.to_string(),
            texts: [
                String::new(),
                path.to_string(),
                String::new(),
                String::new(),
                String::new(),
            ],
        }
    }

    fn hash(&self, key: &str) -> u64 {
        let mut h = Sha256::new();
        for t in [key, &self.title]
            .into_iter()
            .chain(self.texts.iter().map(String::as_str))
        {
            h.update(t.as_bytes());
            h.update([0u8]);
        }
        u64::from_le_bytes(h.finalize()[..8].try_into().expect("8 bytes"))
    }
}

impl ProductIndex {
    /// Opens the index in `dir`, or makes an empty one there when it is missing or unreadable.
    pub fn open(dir: &Path) -> Result<ProductIndex, Error> {
        let (schema, f) = schema();
        let index = open_index(dir, schema)?;
        let reader = index.reader_builder().reload_policy(ReloadPolicy::Manual).try_into()?;
        let writer = index.writer_with_num_threads(1, 50_000_000)?;
        let this = ProductIndex {
            reader,
            writer: Mutex::new(writer),
            f,
            indexed: Mutex::new(Indexed::default()),
        };
        *this.indexed.lock().expect("not poisoned") = this.read_indexed()?;
        Ok(this)
    }

    fn read_indexed(&self) -> Result<Indexed, Error> {
        let searcher = self.reader.searcher();
        let mut out = Indexed::default();
        for addr in searcher.search(&AllQuery, &DocSetCollector)? {
            let doc: TantivyDocument = searcher.doc(addr)?;
            let text = |f: Field| doc.get_first(f).and_then(|v| v.as_str());
            if let (Some(key), Some(title), Some(hash)) = (
                text(self.f.key),
                text(self.f.title),
                doc.get_first(self.f.hash).and_then(|v| v.as_u64()),
            ) {
                out.insert(key, hash, title);
            }
        }
        Ok(out)
    }

    pub fn len(&self) -> usize {
        self.indexed.lock().expect("not poisoned").docs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Brings the index in step with the catalogue as `read` sees it.
    pub fn sync(&self, read: &ReadTx) -> Result<Synced, Error> {
        let mut wanted: HashMap<String, Entry> = HashMap::new();
        let mut after = String::new();
        loop {
            let page = read.products_after(&after, 1000)?;
            let Some(last) = page.last() else { break };
            after = last.id.clone();
            for p in &page {
                for level in p
                    .category
                    .as_deref()
                    .map(crate::catalog::category_levels)
                    .unwrap_or_default()
                {
                    wanted
                        .entry(format!("c:{level}"))
                        .or_insert_with(|| Entry::of_category(&level));
                }
                wanted.insert(format!("p:{}", p.id), Entry::of_product(p));
            }
        }
        let mut indexed = self.indexed.lock().expect("not poisoned");
        let mut writer = self.writer.lock().expect("not poisoned");
        let mut out = Synced::default();
        for (key, entry) in &wanted {
            let hash = entry.hash(key);
            match indexed.docs.get(key) {
                Some(&(h, _)) if h == hash => continue,
                Some(_) => {
                    out.changed += 1;
                    out.rewritten.push(key.clone());
                }
                None => out.added += 1,
            }
            writer.delete_term(Term::from_field_text(self.f.key, key));
            let mut doc = TantivyDocument::default();
            doc.add_text(self.f.key, key);
            doc.add_text(self.f.title, &entry.title);
            doc.add_u64(self.f.hash, hash);
            for (field, text) in self.f.text.iter().zip(&entry.texts) {
                if !text.is_empty() {
                    doc.add_text(*field, text);
                }
            }
            writer.add_document(doc)?;
            indexed.insert(key, hash, &entry.title);
        }
        let gone: Vec<String> = indexed
            .docs
            .keys()
            .filter(|k| !wanted.contains_key(*k))
            .cloned()
            .collect();
        for key in gone {
            writer.delete_term(Term::from_field_text(self.f.key, &key));
            indexed.remove(&key);
            out.removed += 1;
            out.rewritten.push(key);
        }
        if out.added + out.changed + out.removed > 0 {
            writer.commit()?;
            self.reader.reload()?;
        }
        Ok(out)
    }

    /// The products and categories that match `text` in any field, best first.
    pub fn search(&self, text: &str, limit: usize) -> Result<Vec<ProductHit>, Error> {
        self.search_in(&self.f.text, text, limit)
    }

    /// As [`search`](Self::search), over the fields customers' interest documents hold (all but
    /// the description), so that both indexes agree on what "interest in X" is.
    pub fn search_interest_fields(&self, text: &str, limit: usize) -> Result<Vec<ProductHit>, Error> {
        self.search_in(&self.f.text[..4], text, limit)
    }

    fn search_in(&self, fields: &[Field], text: &str, limit: usize) -> Result<Vec<ProductHit>, Error> {
        use super::query::{MinMatch, QueryOptions, build_query_with};
        let fields: Vec<(Field, f32)> = fields.iter().zip(BOOSTS).map(|(f, (_, b))| (*f, b)).collect();
        let searcher = self.reader.searcher();
        let collector = TopDocs::with_limit(limit.max(1)).order_by_score();
        // All words but one must match; when nothing does, half of them (a query with a word the
        // catalogue lacks, "여름 선크림 추천").
        let mut top = Vec::new();
        for min_match in [MinMatch::AllButOne, MinMatch::Half] {
            let options = QueryOptions {
                min_match,
                ..QueryOptions::default()
            };
            let Some(query) = build_query_with(&fields, text, &options) else {
                return Ok(Vec::new());
            };
            top = searcher.search(&query, &collector)?;
            if !top.is_empty() {
                break;
            }
        }
        // A hit's hash (a fast field) names its document: no read of the stored fields.
        let indexed = self.indexed.lock().expect("not poisoned");
        let mut hashes = HashMap::new();
        let mut out = Vec::with_capacity(top.len());
        for (score, addr) in top {
            let column = match hashes.entry(addr.segment_ord) {
                std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
                std::collections::hash_map::Entry::Vacant(v) => {
                    let column = searcher.segment_reader(addr.segment_ord).fast_fields().u64("hash")?;
                    v.insert(column.first_or_default_col(0))
                }
            };
            let hash = column.get_val(addr.doc_id);
            if let Some(key) = indexed.by_hash.get(&hash)
                && let Some((_, title)) = indexed.docs.get(key)
            {
                out.push(ProductHit {
                    key: key.clone(),
                    title: title.clone(),
                    score,
                });
            }
        }
        Ok(out)
    }

    /// The keys (`p:ID`, `c:PATH`) of everything customers' interest in `text` covers.
    pub fn matching_keys(&self, text: &str) -> Result<HashSet<String>, Error> {
        Ok(self
            .search_interest_fields(text, 100_000)?
            .into_iter()
            .map(|h| h.key)
            .collect())
    }
}
