//! Builds a tantivy query from a marketer's free text, for fields indexed with the `dangol`
//! analyser ([`super::analyzer`]).
//!
//! tantivy's `QueryParser` turns a word that analyses to several tokens into a phrase query,
//! which cannot express what a Korean compound needs: *all* bigrams of the word, in one field,
//! in any order. So each query word becomes, per field, "all bigrams required (+ a bonus for the
//! whole word)", and the fields are combined with a dis-max so one good field wins over several
//! weak ones. Words are then OR-ed with a minimum number that must match: documents matching
//! every word rank first, but one unknown word ("추천", a typo) does not empty the result list.

use tantivy::Term;
use tantivy::query::{BooleanQuery, BoostQuery, DisjunctionMaxQuery, Occur, Query, TermQuery};
use tantivy::schema::{Field, IndexRecordOption};

use super::analyzer::{self, QueryWord};

/// Share of the non-best fields' scores added to a word's best field score.
const TIE_BREAKER: f32 = 0.1;
/// Extra weight of a whole-word bonus term over its bigrams ("초콜릿" vs "다크초콜릿").
const BONUS_BOOST: f32 = 1.5;

/// Conversational filler dropped from queries (never from documents): it matches nothing useful
/// and would otherwise count against the minimum number of matching words.
const CHATTER: &[&str] = &[
    "추천",
    "추천해",
    "추천해주세요",
    "있나요",
    "있어요",
    "찾아요",
    "찾고",
    "주세요",
    "어떤게",
    "어떤",
    "뭐가",
    "좋은",
    "상품",
    "제품",
    "관련",
];

/// How many query words a document must match.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MinMatch {
    All,
    /// All words when there are at most two, else all but one.
    AllButOne,
    /// At least half of the words (rounded up).
    Half,
}

/// Query-building switches; [`build_query`] uses the defaults.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QueryOptions {
    /// Must equal the options of the analyser that indexed the fields.
    pub analyzer: analyzer::Options,
    pub min_match: MinMatch,
    /// Drop [`CHATTER`] words (unless nothing else is left).
    pub drop_chatter: bool,
}

impl Default for QueryOptions {
    fn default() -> Self {
        QueryOptions {
            analyzer: analyzer::Options::default(),
            min_match: MinMatch::AllButOne,
            drop_chatter: true,
        }
    }
}

/// Builds the query for `text` over `fields` (each with its boost); `None` if `text` has no words.
pub fn build_query(fields: &[(Field, f32)], text: &str) -> Option<Box<dyn Query>> {
    build_query_with(fields, text, &QueryOptions::default())
}

/// [`build_query`] with explicit [`QueryOptions`].
pub fn build_query_with(fields: &[(Field, f32)], text: &str, options: &QueryOptions) -> Option<Box<dyn Query>> {
    let mut words = analyzer::query_words_with(text, options.analyzer);
    if options.drop_chatter && words.iter().any(|w| !is_chatter(w)) {
        words.retain(|w| !is_chatter(w));
    }
    words.dedup();
    let mut clauses: Vec<Box<dyn Query>> = words.iter().map(|word| word_query(fields, word)).collect();
    match clauses.len() {
        0 => None,
        1 => clauses.pop(),
        n => {
            let should = clauses.into_iter().map(|q| (Occur::Should, q)).collect();
            Some(Box::new(BooleanQuery::with_minimum_required_clauses(
                should,
                required(n, options.min_match),
            )))
        }
    }
}

fn is_chatter(word: &QueryWord) -> bool {
    match (word.bonus.as_slice(), word.required.as_slice()) {
        ([whole], _) | ([], [whole]) => CHATTER.contains(&whole.as_str()),
        _ => false,
    }
}

fn required(words: usize, min_match: MinMatch) -> usize {
    match min_match {
        MinMatch::All => words,
        MinMatch::AllButOne if words <= 2 => words,
        MinMatch::AllButOne => words - 1,
        MinMatch::Half => words.div_ceil(2),
    }
}

/// One word over all fields: the best-matching field counts, plus a little of the others.
fn word_query(fields: &[(Field, f32)], word: &QueryWord) -> Box<dyn Query> {
    let per_field = fields
        .iter()
        .map(|&(field, boost)| Box::new(BoostQuery::new(field_query(field, word), boost)) as Box<dyn Query>)
        .collect();
    Box::new(DisjunctionMaxQuery::with_tie_breaker(per_field, TIE_BREAKER))
}

/// One word in one field: all its required terms, plus its bonus terms if present.
fn field_query(field: Field, word: &QueryWord) -> Box<dyn Query> {
    if let ([only], []) = (word.required.as_slice(), word.bonus.as_slice()) {
        return term_query(field, only);
    }
    let required = word.required.iter().map(|text| (Occur::Must, term_query(field, text)));
    let bonus = word.bonus.iter().map(|text| {
        (
            Occur::Should,
            Box::new(BoostQuery::new(term_query(field, text), BONUS_BOOST)) as Box<dyn Query>,
        )
    });
    Box::new(BooleanQuery::new(required.chain(bonus).collect()))
}

fn term_query(field: Field, text: &str) -> Box<dyn Query> {
    Box::new(TermQuery::new(
        Term::from_field_text(field, text),
        IndexRecordOption::WithFreqs,
    ))
}

#[cfg(test)]
mod tests {
    use tantivy::collector::TopDocs;
    use tantivy::schema::{STORED, Schema, TextFieldIndexing, TextOptions, Value};
    use tantivy::{Index, TantivyDocument, doc};

    use super::*;

    /// Names of the products matching `query`, best first.
    fn search(products: &[&str], query: &str) -> Vec<String> {
        let mut schema = Schema::builder();
        let indexing = TextFieldIndexing::default()
            .set_tokenizer(analyzer::NAME)
            .set_index_option(IndexRecordOption::WithFreqsAndPositions);
        let name = schema.add_text_field("name", TextOptions::default().set_indexing_options(indexing) | STORED);
        let index = Index::create_in_ram(schema.build());
        analyzer::register(&index);
        let mut writer = index.writer_with_num_threads(1, 15_000_000).unwrap();
        for product in products {
            writer.add_document(doc!(name => *product)).unwrap();
        }
        writer.commit().unwrap();
        let searcher = index.reader().unwrap().searcher();
        let Some(query) = build_query(&[(name, 1.0)], query) else {
            return Vec::new();
        };
        let hits = searcher
            .search(&query, &TopDocs::with_limit(10).order_by_score())
            .unwrap();
        hits.into_iter()
            .map(|(_, address)| {
                let doc: TantivyDocument = searcher.doc(address).unwrap();
                doc.get_first(name).and_then(|v| v.as_str()).unwrap().to_owned()
            })
            .collect()
    }

    const SHOP: &[&str] = &[
        "플라워향수",
        "향수",
        "다크초콜릿 선물세트",
        "초콜릿 선물 세트",
        "Running Shoe",
        "소이 향초",
        "수분크림",
        "향수처럼 은은한 캔들",
    ];

    #[test]
    fn compound_contains_query() {
        assert_eq!(search(SHOP, "향수")[..2], ["향수", "플라워향수"]);
        assert!(search(SHOP, "초콜릿").contains(&"다크초콜릿 선물세트".to_owned()));
    }

    #[test]
    fn particle_is_stripped() {
        assert!(search(SHOP, "향수를").contains(&"향수".to_owned()));
    }

    #[test]
    fn english_is_stemmed() {
        assert_eq!(search(SHOP, "running shoes"), ["Running Shoe"]);
        assert_eq!(search(SHOP, "shoes"), ["Running Shoe"]);
    }

    #[test]
    fn spaced_and_joined_compounds_match_each_other() {
        let joined = search(SHOP, "선물세트");
        assert!(joined.contains(&"초콜릿 선물 세트".to_owned()) && joined.contains(&"다크초콜릿 선물세트".to_owned()));
        assert_eq!(search(SHOP, "선물 세트").len(), 2);
    }

    #[test]
    fn shared_syllables_do_not_match() {
        let perfume = search(SHOP, "향수");
        assert!(!perfume.contains(&"소이 향초".to_owned()) && !perfume.contains(&"수분크림".to_owned()));
        assert!(search(SHOP, "플라워향수") == ["플라워향수"]);
    }

    #[test]
    fn empty_text_builds_nothing() {
        let field = Schema::builder().add_text_field("name", TextOptions::default());
        assert!(build_query(&[(field, 1.0)], " ,. ").is_none());
    }
}
