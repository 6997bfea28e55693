//! Offline relevance evaluation: index a product test set in RAM with a given analyser, run the
//! judged queries, and report precision / recall so analyser choices are measured, not guessed.

use std::collections::HashSet;
use std::error::Error;
use std::fmt;
use std::path::Path;

use serde::Deserialize;
use tantivy::collector::TopDocs;
use tantivy::query::{Query, QueryParser};
use tantivy::schema::{Field, IndexRecordOption, STORED, STRING, Schema, TextFieldIndexing, TextOptions, Value};
use tantivy::tokenizer::TextAnalyzer;
use tantivy::{Index, TantivyDocument, doc};

use super::query::{MinMatch, QueryOptions, build_query_with};

/// Number of hits judged per query.
pub const TOP_K: usize = 20;

/// Searchable product fields and their default boosts (a boost of 0 leaves a field unsearched).
pub const FIELD_BOOSTS: [(&str, f32); 5] = [
    ("name", 3.0),
    ("category", 1.5),
    ("brand", 2.0),
    ("tags", 2.0),
    ("description", 0.5),
];

/// One row of `products.csv`.
#[derive(Clone, Debug, Deserialize)]
pub struct Product {
    pub id: String,
    pub name: String,
    pub category: String,
    pub brand: String,
    pub tags: String,
    pub description: String,
}

impl Product {
    fn field(&self, name: &str) -> &str {
        match name {
            "name" => &self.name,
            "category" => &self.category,
            "brand" => &self.brand,
            "tags" => &self.tags,
            _ => &self.description,
        }
    }
}

/// One entry of `queries.json`: the query and every product a shop owner expects it to find.
#[derive(Clone, Debug, Deserialize)]
pub struct Judged {
    pub q: String,
    pub relevant: Vec<String>,
    #[serde(default)]
    pub note: String,
}

/// Products plus judged queries.
#[derive(Clone, Debug)]
pub struct TestSet {
    pub products: Vec<Product>,
    pub queries: Vec<Judged>,
}

impl TestSet {
    /// Reads `products.csv` and `queries.json` from `dir`.
    pub fn load(dir: &Path) -> Result<TestSet, Box<dyn Error>> {
        let products = csv::Reader::from_path(dir.join("products.csv"))?
            .deserialize()
            .collect::<Result<Vec<Product>, _>>()?;
        let queries = serde_json::from_reader(std::fs::File::open(dir.join("queries.json"))?)?;
        Ok(TestSet { products, queries })
    }
}

/// How query text becomes a tantivy query.
#[derive(Clone, Copy, Debug)]
pub enum Strategy {
    /// tantivy's `QueryParser` with field boosts; `conjunction` makes words AND-ed.
    Parser { conjunction: bool },
    /// [`super::query::build_query_with`].
    Dangol(QueryOptions),
    /// As `Dangol`, but a query with no hits is retried with [`MinMatch::Half`].
    DangolRelaxing(QueryOptions),
}

/// Per-query outcome.
#[derive(Clone, Debug)]
pub struct QueryReport {
    pub q: String,
    pub precision: f64,
    pub recall: f64,
    pub recall_at_10: f64,
    pub f1: f64,
    /// Relevant products not in the top [`TOP_K`].
    pub missed: Vec<String>,
    /// Retrieved products not judged relevant.
    pub wrong: Vec<String>,
}

/// Macro-averaged outcome of one setup.
#[derive(Clone, Debug)]
pub struct Report {
    pub label: String,
    pub queries: Vec<QueryReport>,
    pub recall: f64,
    pub precision: f64,
    pub f1: f64,
    pub recall_at_10: f64,
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "| {:<44} | {:>6.3} | {:>9.3} | {:>6.3} | {:>6.3} |",
            self.label, self.recall, self.precision, self.f1, self.recall_at_10
        )
    }
}

/// Indexes `set` with `analyzer` (registered as `analyzer_name`), runs every judged query with
/// `strategy` over the fields of `boosts` (same order as [`FIELD_BOOSTS`]) and scores the top
/// [`TOP_K`] hits.
pub fn evaluate(
    analyzer_name: &str,
    analyzer: TextAnalyzer,
    strategy: Strategy,
    boosts: [f32; 5],
    set: &TestSet,
) -> tantivy::Result<Report> {
    let test = TestIndex::build(analyzer_name, analyzer, &set.products, boosts)?;
    let mut queries = Vec::with_capacity(set.queries.len());
    for judged in &set.queries {
        let mut found = test.search(strategy, &judged.q)?;
        if let (true, Strategy::DangolRelaxing(options)) = (found.is_empty(), strategy) {
            let relaxed = QueryOptions {
                min_match: MinMatch::Half,
                ..options
            };
            found = test.search(Strategy::Dangol(relaxed), &judged.q)?;
        }
        queries.push(score(judged, &found));
    }
    Ok(summarise(analyzer_name.to_owned(), queries))
}

/// Scores `search` (the ids of its top hits for a query) on every judged query of `set`.
pub fn evaluate_with<E>(
    label: &str,
    set: &TestSet,
    mut search: impl FnMut(&str) -> Result<Vec<String>, E>,
) -> Result<Report, E> {
    let mut queries = Vec::with_capacity(set.queries.len());
    for judged in &set.queries {
        queries.push(score(judged, &search(&judged.q)?));
    }
    Ok(summarise(label.to_owned(), queries))
}

/// The in-RAM index of a test set, with its searchable fields.
struct TestIndex {
    index: Index,
    id: Field,
    fields: Vec<(Field, f32)>,
}

impl TestIndex {
    /// Indexes every field of [`FIELD_BOOSTS`]; only those with a positive boost are searched.
    fn build(name: &str, analyzer: TextAnalyzer, products: &[Product], boosts: [f32; 5]) -> tantivy::Result<Self> {
        let mut schema = Schema::builder();
        let id = schema.add_text_field("id", STRING | STORED);
        let indexing = TextFieldIndexing::default()
            .set_tokenizer(name)
            .set_index_option(IndexRecordOption::WithFreqsAndPositions);
        let options = TextOptions::default().set_indexing_options(indexing);
        let all: Vec<Field> = FIELD_BOOSTS
            .iter()
            .map(|&(field, _)| schema.add_text_field(field, options.clone()))
            .collect();
        let index = Index::create_in_ram(schema.build());
        index.tokenizers().register(name, analyzer);
        let mut writer = index.writer_with_num_threads(1, 15_000_000)?;
        for product in products {
            let mut document = doc!(id => product.id.as_str());
            for (&(field_name, _), &field) in FIELD_BOOSTS.iter().zip(&all) {
                document.add_text(field, product.field(field_name));
            }
            writer.add_document(document)?;
        }
        writer.commit()?;
        let fields = all.into_iter().zip(boosts).filter(|&(_, boost)| boost > 0.0).collect();
        Ok(TestIndex { index, id, fields })
    }

    /// Ids of the top [`TOP_K`] products for `text`.
    fn search(&self, strategy: Strategy, text: &str) -> tantivy::Result<Vec<String>> {
        let Some(query) = make_query(&self.index, &self.fields, strategy, text) else {
            return Ok(Vec::new());
        };
        let searcher = self.index.reader()?.searcher();
        let mut found = Vec::new();
        for (_, address) in searcher.search(&query, &TopDocs::with_limit(TOP_K).order_by_score())? {
            let doc: TantivyDocument = searcher.doc(address)?;
            found.extend(doc.get_first(self.id).and_then(|v| v.as_str()).map(str::to_owned));
        }
        Ok(found)
    }
}

fn make_query(index: &Index, fields: &[(Field, f32)], strategy: Strategy, text: &str) -> Option<Box<dyn Query>> {
    match strategy {
        Strategy::Dangol(options) | Strategy::DangolRelaxing(options) => build_query_with(fields, text, &options),
        Strategy::Parser { conjunction } => {
            let mut parser = QueryParser::for_index(index, fields.iter().map(|&(f, _)| f).collect());
            for &(field, boost) in fields {
                parser.set_field_boost(field, boost);
            }
            if conjunction {
                parser.set_conjunction_by_default();
            }
            Some(parser.parse_query_lenient(text).0)
        }
    }
}

fn score(judged: &Judged, found: &[String]) -> QueryReport {
    let relevant: HashSet<&String> = judged.relevant.iter().collect();
    let hits = found.iter().filter(|id| relevant.contains(id)).count();
    let hits_at_10 = found.iter().take(10).filter(|id| relevant.contains(id)).count();
    let precision = ratio(hits, found.len());
    let recall = ratio(hits, relevant.len());
    let f1 = if precision + recall > 0.0 {
        2.0 * precision * recall / (precision + recall)
    } else {
        0.0
    };
    let found_set: HashSet<&String> = found.iter().collect();
    QueryReport {
        q: judged.q.clone(),
        precision,
        recall,
        recall_at_10: ratio(hits_at_10, relevant.len().min(10)),
        f1,
        missed: judged
            .relevant
            .iter()
            .filter(|id| !found_set.contains(id))
            .cloned()
            .collect(),
        wrong: found.iter().filter(|id| !relevant.contains(id)).cloned().collect(),
    }
}

/// `part / whole`, with an empty result list counting as precision 0.
fn ratio(part: usize, whole: usize) -> f64 {
    if whole == 0 { 0.0 } else { part as f64 / whole as f64 }
}

fn summarise(label: String, queries: Vec<QueryReport>) -> Report {
    let mean = |f: fn(&QueryReport) -> f64| queries.iter().map(f).sum::<f64>() / queries.len().max(1) as f64;
    Report {
        label,
        recall: mean(|q| q.recall),
        precision: mean(|q| q.precision),
        f1: mean(|q| q.f1),
        recall_at_10: mean(|q| q.recall_at_10),
        queries,
    }
}
