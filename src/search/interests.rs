//! The customer interest index: one document per customer holding the words of the products and
//! categories they viewed, carted, checked out and bought. A word's frequency in the document is
//! the weight of the touches behind it (a purchase counts four times a view, repeats count
//! logarithmically), so BM25 ranks customers by how strongly they showed interest; the time of the
//! last touch is a fast field, for windows and for favouring recent interest.
//!
//! The commit payload records the event sequence the index has applied, so a start catches up
//! from there and an index ahead of the store (a restored backup) is rebuilt.

use std::collections::{HashMap, HashSet};
use std::ops::Bound;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use tantivy::collector::{Count, TopDocs};
use tantivy::query::{BooleanQuery, Occur, Query, RangeQuery};
use tantivy::schema::{FAST, Field, INDEXED, IndexRecordOption, STORED, Schema, TextFieldIndexing, TextOptions};
use tantivy::tokenizer::{PreTokenizedString, TextAnalyzer, Token};
use tantivy::{Index, IndexReader, IndexWriter, ReloadPolicy, TantivyDocument, Term};

use super::{Error, analyzer, open_index};
use crate::store::ReadTx;
use crate::store::{InterestRow, Touch};

/// Weight of a touch by kind: viewed, carted, checked out, bought.
const KIND_WEIGHT: [f64; 4] = [1.0, 2.0, 3.0, 4.0];
/// The most a single (item, kind) adds to a word's frequency.
const MAX_WEIGHT: u32 = 12;
/// The most frequent a word gets in one customer's document.
const MAX_FREQ: u32 = 24;
/// Interest older than this many days counts half.
const HALF_LIFE_DAYS: f64 = 30.0;
const DAY_MS: f64 = 86_400_000.0;

#[derive(Clone, Copy)]
struct Fields {
    customer: Field,
    interest: Field,
    last_touch: Field,
}

pub struct InterestIndex {
    index: Index,
    reader: IndexReader,
    writer: Mutex<IndexWriter>,
    f: Fields,
}

/// What the index has applied, kept in tantivy's commit payload.
#[derive(serde::Serialize, serde::Deserialize)]
struct Payload {
    seq: u64,
}

fn schema() -> (Schema, Fields) {
    let mut b = Schema::builder();
    let text = TextOptions::default().set_indexing_options(
        TextFieldIndexing::default()
            .set_tokenizer(analyzer::NAME)
            .set_index_option(IndexRecordOption::WithFreqs),
    );
    let customer = b.add_u64_field("customer", INDEXED | FAST | STORED);
    let interest = b.add_text_field("interest", text);
    let last_touch = b.add_i64_field("last_touch", INDEXED | FAST);
    (
        b.build(),
        Fields {
            customer,
            interest,
            last_touch,
        },
    )
}

/// The words of each item, analysed once per batch.
pub struct ItemWords<'r> {
    read: &'r ReadTx,
    analyzer: TextAnalyzer,
    cache: HashMap<String, Arc<Vec<String>>>,
}

impl<'r> ItemWords<'r> {
    pub fn new(read: &'r ReadTx) -> ItemWords<'r> {
        ItemWords {
            read,
            analyzer: analyzer::analyzer(),
            cache: HashMap::new(),
        }
    }

    fn words(&mut self, item: &str) -> Result<Arc<Vec<String>>, Error> {
        if let Some(w) = self.cache.get(item) {
            return Ok(w.clone());
        }
        let text = match item.split_once(':') {
            Some(("p", id)) => match self.read.product(id)? {
                Some(p) => [Some(p.name), p.category, p.brand, Some(p.tags.join(" "))]
                    .into_iter()
                    .flatten()
                    .collect::<Vec<_>>()
                    .join(" "),
                None => String::new(),
            },
            Some(("c", path)) => path.to_string(),
            _ => String::new(),
        };
        let mut words = Vec::new();
        let mut stream = self.analyzer.token_stream(&text);
        while let Some(t) = stream.next() {
            words.push(t.text.clone());
        }
        let words = Arc::new(words);
        self.cache.insert(item.to_string(), words.clone());
        Ok(words)
    }
}

/// How many times a touch's words go into the document.
fn weight(kind: u8, count: u32) -> u32 {
    let k = KIND_WEIGHT.get(usize::from(kind)).copied().unwrap_or(1.0);
    ((k * (1.0 + f64::from(count.max(1)).ln())).round() as u32).clamp(1, MAX_WEIGHT)
}

impl InterestIndex {
    /// Opens the index in `dir`, or makes an empty one there when it is missing or unreadable.
    pub fn open(dir: &Path) -> Result<InterestIndex, Error> {
        let (schema, f) = schema();
        let index = open_index(dir, schema)?;
        let reader = index.reader_builder().reload_policy(ReloadPolicy::Manual).try_into()?;
        let writer = index.writer_with_num_threads(2, 200_000_000)?;
        Ok(InterestIndex {
            index,
            reader,
            writer: Mutex::new(writer),
            f,
        })
    }

    /// The event sequence the index has applied, or None for a new (or foreign) index.
    pub fn applied_seq(&self) -> Result<Option<u64>, Error> {
        let metas = self.index.load_metas()?;
        Ok(metas
            .payload
            .as_deref()
            .and_then(|p| serde_json::from_str::<Payload>(p).ok())
            .map(|p| p.seq))
    }

    pub fn len(&self) -> u64 {
        self.reader.searcher().num_docs()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn document(&self, customer: u64, rows: &[InterestRow], words: &mut ItemWords) -> Result<TantivyDocument, Error> {
        let mut last = i64::MIN;
        let mut items = Vec::with_capacity(rows.len());
        for row in rows {
            last = last.max(row.last);
            items.push((words.words(&row.item)?, weight(row.touch as u8, row.count)));
        }
        // A word's frequency is the sum of its touches' weights, capped where BM25 has long
        // stopped telling the difference (and the document stays small).
        let mut freq: HashMap<&str, u32> = HashMap::new();
        for (item, w) in &items {
            for text in item.iter() {
                let f = freq.entry(text.as_str()).or_default();
                *f = (*f + w).min(MAX_FREQ);
            }
        }
        let mut tokens = Vec::with_capacity(freq.values().sum::<u32>() as usize);
        for (text, f) in freq {
            for _ in 0..f {
                tokens.push(Token {
                    position: tokens.len(),
                    text: text.to_string(),
                    ..Token::default()
                });
            }
        }
        let mut doc = TantivyDocument::default();
        doc.add_u64(self.f.customer, customer);
        doc.add_i64(self.f.last_touch, last);
        doc.add_pre_tokenized_text(
            self.f.interest,
            PreTokenizedString {
                text: String::new(),
                tokens,
            },
        );
        Ok(doc)
    }

    fn commit(&self, writer: &mut IndexWriter, seq: u64) -> Result<(), Error> {
        let mut prepared = writer.prepare_commit()?;
        prepared.set_payload(&serde_json::to_string(&Payload { seq }).expect("serialisable"));
        prepared.commit()?;
        self.reader.reload()?;
        Ok(())
    }

    /// Builds the whole index again from the interests `read` sees. Gives up (returns false,
    /// leaving the old index) when `stop` turns true.
    pub fn rebuild(&self, read: &ReadTx, stop: &AtomicBool) -> Result<bool, Error> {
        let seq = read.last_seq()?;
        let mut writer = self.writer.lock().expect("not poisoned");
        writer.delete_all_documents()?;
        let mut words = ItemWords::new(read);
        let mut current: Option<u64> = None;
        let mut rows: Vec<InterestRow> = Vec::new();
        let mut failed: Option<Error> = None;
        let mut n = 0u64;
        let whole = read.for_each_interest(|customer, kind, item, count, last| {
            if current != Some(customer) {
                if let Some(c) = current.filter(|_| !rows.is_empty()) {
                    match self
                        .document(c, &rows, &mut words)
                        .and_then(|d| Ok(writer.add_document(d)?))
                    {
                        Ok(_) => n += 1,
                        Err(e) => {
                            failed = Some(e);
                            return false;
                        }
                    }
                }
                rows.clear();
                current = Some(customer);
                if n.is_multiple_of(4096) && stop.load(Ordering::Relaxed) {
                    return false;
                }
            }
            if let Some(&touch) = Touch::ALL.get(usize::from(kind)) {
                rows.push(InterestRow {
                    touch,
                    item: item.to_string(),
                    count,
                    last,
                });
            }
            true
        })?;
        if let Some(e) = failed {
            writer.rollback()?;
            return Err(e);
        }
        if !whole {
            writer.rollback()?;
            return Ok(false);
        }
        if let Some(c) = current.filter(|_| !rows.is_empty()) {
            writer.add_document(self.document(c, &rows, &mut words)?)?;
        }
        self.commit(&mut writer, seq)?;
        Ok(true)
    }

    /// Re-reads the interests of `customers` (removing those merged, erased or without any) and
    /// records `read`'s last sequence as applied.
    pub fn update(&self, read: &ReadTx, customers: &HashSet<u64>) -> Result<(), Error> {
        let seq = read.last_seq()?;
        let mut writer = self.writer.lock().expect("not poisoned");
        let mut words = ItemWords::new(read);
        for &c in customers {
            writer.delete_term(Term::from_field_u64(self.f.customer, c));
            let live = read
                .customer(c)?
                .is_some_and(|r| r.merged_into.is_none() && r.erased_at.is_none());
            if !live {
                continue;
            }
            let rows = read.interests_of(c)?;
            if !rows.is_empty() {
                writer.add_document(self.document(c, &rows, &mut words)?)?;
            }
        }
        self.commit(&mut writer, seq)
    }

    /// Customers ranked by interest in `query`: BM25 over the weighted words, times a recency
    /// factor from the last touch (1 now, ½ after `HALF_LIFE_DAYS`, never below ¼), applied to
    /// BM25's best `10 × limit` (at least 200). With `since`, only customers who touched something
    /// since then. Returns (customer, score) best first and how many matched in all.
    pub fn rank(
        &self,
        query: Box<dyn Query>,
        since: Option<i64>,
        now: i64,
        limit: usize,
    ) -> Result<(Vec<(u64, f32)>, usize), Error> {
        let query: Box<dyn Query> = match since {
            Some(start) => Box::new(BooleanQuery::new(vec![
                (Occur::Must, query),
                (
                    Occur::Must,
                    Box::new(RangeQuery::new(
                        Bound::Included(Term::from_field_i64(self.f.last_touch, start)),
                        Bound::Unbounded,
                    )),
                ),
            ])),
            None => query,
        };
        let searcher = self.reader.searcher();
        // BM25's best few, counted in the same pass, then the recency factor re-ranks them (reading
        // the last touch of every match cost a third more at a million customers).
        let pool = (limit * 10).max(200);
        let (hits, total) = searcher.search(&query, &(TopDocs::with_limit(pool).order_by_score(), Count))?;
        // The two fast-field columns of each segment, opened once (opening reads block metadata).
        let mut columns = HashMap::new();
        let mut out = Vec::with_capacity(hits.len());
        for (score, addr) in hits {
            let (customer, last) = match columns.entry(addr.segment_ord) {
                std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
                std::collections::hash_map::Entry::Vacant(v) => {
                    let fast = searcher.segment_reader(addr.segment_ord).fast_fields();
                    let customer = fast.u64("customer")?.first_or_default_col(0);
                    let last = fast.i64("last_touch")?.first_or_default_col(i64::MIN);
                    v.insert((customer, last))
                }
            };
            let age = (now - last.get_val(addr.doc_id)).max(0) as f64 / DAY_MS;
            let factor = 0.5f64.powf(age / HALF_LIFE_DAYS).max(0.25) as f32;
            out.push((customer.get_val(addr.doc_id), score * factor));
        }
        out.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        out.truncate(limit.max(1));
        Ok((out, total))
    }

    /// The field free-text queries go to.
    pub fn field(&self) -> Field {
        self.f.interest
    }
}
