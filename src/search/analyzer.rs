//! The `dangol` text analyser: Korean + English product text for tantivy.
//!
//! Korean has no spaces inside compounds ("플라워향수", "다크초콜릿") and glues particles to
//! nouns ("향수를"), so whole-word tokens alone miss most queries, and no dictionary-based
//! morphological analyser is usable offline (lindera's embedded ko-dic downloads at build time).
//! Instead, the analyser:
//!
//! 1. splits text into words on anything that is not a letter or digit, then splits each word at
//!    script boundaries (Hangul / other letters / digits): "BB크림" → "bb", "크림"; "향수50ml" →
//!    "향수", "50", "ml";
//! 2. lower-cases and English-stems non-Hangul words ("Shoes" → "shoe", "running" → "run");
//! 3. for a Hangul word, strips one trailing particle or `하다` ending ("향수를" → "향수",
//!    "촉촉한" → "촉촉"), emits the stripped word when it has ≥ 3 syllables, plus every
//!    syllable bigram of the *original* word, at consecutive positions. A one-syllable word is
//!    emitted as itself. Indexing the original word's bigrams keeps a stripping mistake harmless
//!    ("청포도" is stripped to "청포", yet "포도" still matches it);
//! 4. emits a "bridge" bigram across a single space between two Hangul words ("선물 세트" also
//!    yields "물세"), so the compound query "선물세트" finds the spaced form.
//!
//! Queries are analysed by [`query_words`]: the same splitting, stripping and stemming, but each
//! Hangul word yields the bigrams of its *stripped* form, which [`super::query`] requires together.
//!
//! Suffix stripping is deliberately conservative: a suffix is only removed when at least two
//! syllables remain ("사과", "포도", "오이" stay whole) and when Korean grammar allows it after
//! the preceding syllable: "을/이/은/과/으로" only after a final consonant, "를/가/는/와/로"
//! only after a vowel, so "초코파이", "사과", "가을" are never cut. "-용" ("여성용", "차량용")
//! is not stripped: its bigrams already contain "여성", and "여성용" as a query should mean that.

use tantivy::Index;
use tantivy::tokenizer::{Language, RawTokenizer, Stemmer, TextAnalyzer, Token, TokenStream, Tokenizer};

/// Name under which [`register`] installs the analyser; use it in `TextOptions`.
pub const NAME: &str = "dangol";

/// Stripped Hangul words shorter than this keep their suffix (see module docs).
const MIN_STEM_SYLLABLES: usize = 2;

/// Registers [`analyzer`] on `index` under [`NAME`].
pub fn register(index: &Index) {
    index.tokenizers().register(NAME, analyzer());
}

/// The analyser used for indexing, with default [`Options`].
pub fn analyzer() -> TextAnalyzer {
    analyzer_with(Options::default())
}

/// The analyser with explicit [`Options`] (used to measure what each feature buys).
pub fn analyzer_with(options: Options) -> TextAnalyzer {
    // The English stemmer only rewrites ASCII suffixes, so Hangul and digit tokens pass unchanged
    // (asserted in tests); this keeps us on tantivy's own `Stemmer`.
    TextAnalyzer::builder(DangolTokenizer { options })
        .filter(Stemmer::new(Language::English))
        .build()
}

/// Feature switches; the defaults are what [`analyzer`] and [`super::query::build_query`] use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Options {
    /// Strip trailing particles and `하다` endings from Hangul words.
    pub strip_suffixes: bool,
    /// Emit a bigram across a single space between two Hangul words.
    pub bridge_bigrams: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            strip_suffixes: true,
            bridge_bigrams: true,
        }
    }
}

/// Script class of a word; words never mix classes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Script {
    Hangul,
    /// Latin or any other non-Hangul letters.
    Letters,
    Digits,
}

/// A maximal run of same-script letters or digits in the source text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Word<'a> {
    pub text: &'a str,
    /// Byte offset of `text` in the source.
    pub offset: usize,
    pub script: Script,
    /// Separated from the previous word by whitespace only (not punctuation, not nothing).
    pub after_space: bool,
}

/// Splits `text` into [`Word`]s on non-alphanumerics and at script boundaries.
pub fn words(text: &str) -> Vec<Word<'_>> {
    let mut words = Vec::new();
    let mut run: Option<(usize, Script, bool)> = None;
    // Since the previous word ended: did any separator follow, and were all of them whitespace?
    let (mut gap, mut gap_is_space) = (false, true);
    for (i, c) in text.char_indices() {
        let script = script_of(c);
        if let Some((from, current, after_space)) = run
            && script != Some(current)
        {
            words.push(Word {
                text: &text[from..i],
                offset: from,
                script: current,
                after_space,
            });
            run = None;
            (gap, gap_is_space) = (false, true);
        }
        match script {
            Some(s) if run.is_none() => run = Some((i, s, gap && gap_is_space && !words.is_empty())),
            Some(_) => {}
            None => (gap, gap_is_space) = (true, gap_is_space && c.is_whitespace()),
        }
    }
    if let Some((from, script, after_space)) = run {
        words.push(Word {
            text: &text[from..],
            offset: from,
            script,
            after_space,
        });
    }
    words
}

fn script_of(c: char) -> Option<Script> {
    if is_hangul(c) {
        Some(Script::Hangul)
    } else if c.is_numeric() {
        Some(Script::Digits)
    } else if c.is_alphabetic() {
        Some(Script::Letters)
    } else {
        None
    }
}

fn is_hangul(c: char) -> bool {
    matches!(c, '\u{AC00}'..='\u{D7A3}' | '\u{1100}'..='\u{11FF}' | '\u{3130}'..='\u{318F}')
}

/// Which preceding syllable a suffix may follow.
#[derive(Clone, Copy)]
enum After {
    Any,
    /// Syllable with a final consonant (받침): 을, 이, 은, 과, 으로.
    Consonant,
    /// Open syllable: 를, 가, 는, 와.
    Vowel,
    /// Open syllable or final ㄹ: 로.
    VowelOrRieul,
}

/// Particles and `하다` endings, longest first so "에서" wins over "서"-less "에".
const SUFFIXES: &[(&str, After)] = &[
    ("합니다", After::Any),
    ("에서는", After::Any),
    ("에서", After::Any),
    ("에게", After::Any),
    ("에는", After::Any),
    ("으로", After::Consonant),
    ("까지", After::Any),
    ("부터", After::Any),
    ("처럼", After::Any),
    ("보다", After::Any),
    ("이나", After::Consonant),
    ("이랑", After::Consonant),
    ("하고", After::Any),
    ("하는", After::Any),
    ("해요", After::Any),
    ("하게", After::Any),
    ("을", After::Consonant),
    ("를", After::Vowel),
    ("이", After::Consonant),
    ("가", After::Vowel),
    ("은", After::Consonant),
    ("는", After::Vowel),
    ("의", After::Any),
    ("에", After::Any),
    ("께", After::Any),
    ("로", After::VowelOrRieul),
    ("와", After::Vowel),
    ("과", After::Consonant),
    ("도", After::Any),
    ("만", After::Any),
    ("나", After::Vowel),
    ("랑", After::Vowel),
    ("한", After::Any),
];

/// Final-consonant index (0 = none, 8 = ㄹ) of a precomposed Hangul syllable.
fn final_consonant(syllable: char) -> Option<u32> {
    let code = u32::from(syllable).checked_sub(0xAC00)?;
    (code < 11172).then_some(code % 28)
}

impl After {
    fn allows(self, previous: char) -> bool {
        let Some(jong) = final_consonant(previous) else {
            return false;
        };
        match self {
            After::Any => true,
            After::Consonant => jong != 0,
            After::Vowel => jong == 0,
            After::VowelOrRieul => jong == 0 || jong == 8,
        }
    }
}

/// `word` without its trailing particle or ending, or `word` itself (see module docs).
pub fn strip_suffix(word: &str) -> &str {
    for &(suffix, after) in SUFFIXES {
        if let Some(stem) = word.strip_suffix(suffix)
            && stem.chars().count() >= MIN_STEM_SYLLABLES
            && stem.chars().next_back().is_some_and(|last| after.allows(last))
        {
            return stem;
        }
    }
    word
}

/// Byte ranges (relative to `word`) of its syllable bigrams; a one-syllable word is its own gram.
fn bigram_ranges(word: &str) -> Vec<(usize, usize)> {
    let bounds: Vec<usize> = word.char_indices().map(|(i, _)| i).chain([word.len()]).collect();
    if bounds.len() <= 2 {
        return vec![(0, word.len())];
    }
    bounds.windows(3).map(|w| (w[0], w[2])).collect()
}

/// The tokenizer behind [`analyzer`]; exposed for composing other analysers.
#[derive(Clone, Debug, Default)]
pub struct DangolTokenizer {
    pub options: Options,
}

impl Tokenizer for DangolTokenizer {
    type TokenStream<'a> = VecTokenStream;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> VecTokenStream {
        let mut out = Emitter::default();
        let words = words(text);
        for (i, word) in words.iter().enumerate() {
            match word.script {
                Script::Hangul => {
                    let previous = i.checked_sub(1).map(|p| &words[p]);
                    out.hangul(word, previous, self.options);
                }
                Script::Letters => out.push(word.text.to_lowercase(), word.offset, word.text.len()),
                Script::Digits => out.push(word.text.to_owned(), word.offset, word.text.len()),
            }
        }
        VecTokenStream {
            tokens: out.tokens.into_iter(),
            current: Token::default(),
        }
    }
}

/// Collects tokens and hands out positions.
#[derive(Default)]
struct Emitter {
    tokens: Vec<Token>,
    position: usize,
}

impl Emitter {
    /// Pushes a token at the current position, then advances to the next one.
    fn push(&mut self, text: String, from: usize, len: usize) {
        self.push_spanning(text, from, len, 1);
        self.position += 1;
    }

    /// Pushes a token at the current position covering `span` positions, without advancing.
    fn push_spanning(&mut self, text: String, from: usize, len: usize, span: usize) {
        self.tokens.push(Token {
            offset_from: from,
            offset_to: from + len,
            position: self.position,
            text,
            position_length: span,
        });
    }

    fn hangul(&mut self, word: &Word<'_>, previous: Option<&Word<'_>>, options: Options) {
        let stem = if options.strip_suffixes {
            strip_suffix(word.text)
        } else {
            word.text
        };
        if let Some(prev) = previous
            && options.bridge_bigrams
            && word.after_space
            && prev.script == Script::Hangul
            && strip_suffix(prev.text) == prev.text
        {
            self.bridge(prev, word);
        }
        let grams = bigram_ranges(word.text);
        if stem.chars().count() > 2 {
            self.push_spanning(stem.to_owned(), word.offset, stem.len(), grams.len());
        }
        for (from, to) in grams {
            self.push(word.text[from..to].to_owned(), word.offset + from, to - from);
        }
    }

    /// Bigram of the last syllable of `prev` and the first of `next`, e.g. "물세" in "선물 세트".
    fn bridge(&mut self, prev: &Word<'_>, next: &Word<'_>) {
        let (Some(last), Some(first)) = (prev.text.chars().next_back(), next.text.chars().next()) else {
            return;
        };
        let from = prev.offset + prev.text.len() - last.len_utf8();
        let to = next.offset + first.len_utf8();
        self.push(format!("{last}{first}"), from, to - from);
    }
}

/// A token stream over precomputed tokens.
pub struct VecTokenStream {
    tokens: std::vec::IntoIter<Token>,
    current: Token,
}

impl TokenStream for VecTokenStream {
    fn advance(&mut self) -> bool {
        self.tokens.next().map(|token| self.current = token).is_some()
    }

    fn token(&self) -> &Token {
        &self.current
    }

    fn token_mut(&mut self) -> &mut Token {
        &mut self.current
    }
}

/// What one query word must match, in index terms.
///
/// A "word" here is a run of letters and digits without separators, so "50ml" and "BB크림"
/// each stay one word whose parts are all required.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct QueryWord {
    /// Terms that must all occur (in one field): stemmed Latin words, digits, Hangul words of
    /// ≤ 2 syllables, or the bigrams of a longer (stripped) Hangul word.
    pub required: Vec<String>,
    /// Stripped Hangul words of ≥ 3 syllables, which rank exact words above compounds
    /// ("초콜릿" above "다크초콜릿") but are not required.
    pub bonus: Vec<String>,
}

/// Analyses query text into [`QueryWord`]s, consistently with [`analyzer`].
pub fn query_words(text: &str) -> Vec<QueryWord> {
    query_words_with(text, Options::default())
}

/// [`query_words`] with explicit [`Options`]; they must match the indexing analyser's.
pub fn query_words_with(text: &str, options: Options) -> Vec<QueryWord> {
    let mut stemmer = TextAnalyzer::builder(RawTokenizer::default())
        .filter(Stemmer::new(Language::English))
        .build();
    let mut out: Vec<QueryWord> = Vec::new();
    let mut end_of_previous = None;
    for word in words(text) {
        if end_of_previous != Some(word.offset) {
            out.push(QueryWord::default());
        }
        end_of_previous = Some(word.offset + word.text.len());
        let Some(current) = out.last_mut() else { continue };
        match word.script {
            Script::Hangul => {
                let stem = if options.strip_suffixes {
                    strip_suffix(word.text)
                } else {
                    word.text
                };
                let grams = bigram_ranges(stem);
                if grams.len() > 1 {
                    current
                        .required
                        .extend(grams.iter().map(|&(from, to)| stem[from..to].to_owned()));
                    current.bonus.push(stem.to_owned());
                } else {
                    current.required.push(stem.to_owned());
                }
            }
            Script::Letters => current
                .required
                .push(stem_latin(&mut stemmer, &word.text.to_lowercase())),
            Script::Digits => current.required.push(word.text.to_owned()),
        }
    }
    out
}

fn stem_latin(stemmer: &mut TextAnalyzer, word: &str) -> String {
    let mut stream = stemmer.token_stream(word);
    stream
        .next()
        .map_or_else(|| word.to_owned(), |token| token.text.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens(text: &str) -> Vec<(String, usize)> {
        let mut analyzer = analyzer();
        let mut stream = analyzer.token_stream(text);
        let mut out = Vec::new();
        stream.process(&mut |t| out.push((t.text.clone(), t.position)));
        out
    }

    fn texts(text: &str) -> Vec<String> {
        tokens(text).into_iter().map(|(t, _)| t).collect()
    }

    #[test]
    fn splits_at_script_boundaries() {
        let words: Vec<_> = words("향수50ml BB크림, Running-Shoe").iter().map(|w| w.text).collect();
        assert_eq!(words, ["향수", "50", "ml", "BB", "크림", "Running", "Shoe"]);
    }

    #[test]
    fn records_whitespace_gaps() {
        let gaps: Vec<_> = words("선물 세트,초콜릿").iter().map(|w| w.after_space).collect();
        assert_eq!(gaps, [false, true, false]);
    }

    #[test]
    fn stems_and_lowercases_latin_only() {
        assert_eq!(texts("Running Shoes"), ["run", "shoe"]);
        assert_eq!(texts("향수50ml"), ["향수", "50", "ml"]);
    }

    #[test]
    fn hangul_emits_stem_and_bigrams_at_consecutive_positions() {
        let expected = [("플라워향수", 0), ("플라", 0), ("라워", 1), ("워향", 2), ("향수", 3)];
        let expected: Vec<_> = expected.iter().map(|&(t, p)| (t.to_owned(), p)).collect();
        assert_eq!(tokens("플라워향수"), expected);
        assert_eq!(
            tokens("차 향수"),
            [("차".to_owned(), 0), ("차향".to_owned(), 1), ("향수".to_owned(), 2)]
        );
    }

    #[test]
    fn strips_particles_by_grammar() {
        assert_eq!(strip_suffix("향수를"), "향수");
        assert_eq!(strip_suffix("초콜릿을"), "초콜릿");
        assert_eq!(strip_suffix("수분크림으로"), "수분크림");
        assert_eq!(strip_suffix("촉촉한"), "촉촉");
        assert_eq!(strip_suffix("사과"), "사과", "one syllable would remain");
        assert_eq!(
            strip_suffix("초코파이"),
            "초코파이",
            "이 needs a final consonant before it"
        );
        assert_eq!(strip_suffix("가을"), "가을");
        assert_eq!(strip_suffix("여성용"), "여성용", "-용 is kept on purpose");
    }

    #[test]
    fn particle_words_keep_original_bigrams() {
        assert_eq!(texts("향수를"), ["향수", "수를"]);
        assert_eq!(
            texts("청포도"),
            ["청포", "포도"],
            "stripped to 2 syllables: no whole-word token"
        );
    }

    #[test]
    fn bridges_spaced_hangul_words_only() {
        assert!(texts("선물 세트").contains(&"물세".to_owned()));
        assert!(!texts("선물,세트").contains(&"물세".to_owned()));
        assert!(
            !texts("향수를 선물").contains(&"를선".to_owned()),
            "no bridge after a particle"
        );
    }

    #[test]
    fn query_words_use_stripped_bigrams() {
        let words = query_words("향수를 초콜릿 Shoes 50ml");
        assert_eq!(
            words[0],
            QueryWord {
                required: vec!["향수".into()],
                bonus: vec![]
            }
        );
        assert_eq!(
            words[1],
            QueryWord {
                required: vec!["초콜".into(), "콜릿".into()],
                bonus: vec!["초콜릿".into()]
            }
        );
        assert_eq!(words[2].required, ["shoe"]);
        assert_eq!(words[3].required, ["50", "ml"], "glued parts form one word");
    }
}
