//! The demo shop's catalogue: 300 products in eight categories, built from product lines,
//! flavours (scents, materials, colours, origins) and sizes.

use serde_json::{Value, json};

use super::SHOP_URL;
use super::rng::Dice;

/// A flavour, scent, material, colour or origin that a product line comes in.
struct Flavour {
    ko: &'static str,
    en: &'static str,
    /// The price relative to the line's base price, in percent.
    price_pct: u32,
    /// The subcategory, when it follows the flavour (a rose perfume is a women's perfume).
    sub: Option<usize>,
}

const fn fl(ko: &'static str, en: &'static str, price_pct: u32) -> Flavour {
    Flavour {
        ko,
        en,
        price_pct,
        sub: None,
    }
}

const fn fl_in(ko: &'static str, en: &'static str, price_pct: u32, sub: usize) -> Flavour {
    Flavour {
        ko,
        en,
        price_pct,
        sub: Some(sub),
    }
}

/// A product line, such as an eau de parfum or a drip bag box, with its sizes.
struct Line {
    ko: &'static str,
    en: &'static str,
    sub: usize,
    /// Korean size label, English size label, base price in KRW. Labels may be empty.
    sizes: &'static [(&'static str, &'static str, u32)],
}

const fn line(
    ko: &'static str,
    en: &'static str,
    sub: usize,
    sizes: &'static [(&'static str, &'static str, u32)],
) -> Line {
    Line { ko, en, sub, sizes }
}

/// One top-level category and everything needed to make its products.
struct CategorySpec {
    ko: &'static str,
    en: &'static str,
    /// Used in URLs, tags and SKUs.
    slug: &'static str,
    code: &'static str,
    count: usize,
    /// How often women and men pick it as a favourite, in relative weights.
    female_weight: u32,
    male_weight: u32,
    /// Whether people often buy two or three of one item (chocolate bars, coffee beans).
    multi_buy: bool,
    /// Whether its products are typical gifts.
    gift: bool,
    subs: &'static [(&'static str, &'static str)],
    brands: &'static [&'static str],
    flavours: &'static [Flavour],
    lines: &'static [Line],
    /// Sentence templates with `{f}` (flavour), `{l}` (line) and `{b}` (brand).
    descriptions: &'static [&'static str],
}

const CATEGORIES: &[CategorySpec] = &[
    CategorySpec {
        ko: "향수",
        en: "Perfume",
        slug: "perfume",
        code: "PF",
        count: 45,
        female_weight: 22,
        male_weight: 12,
        multi_buy: false,
        gift: true,
        subs: &[("여성향수", "Women"), ("남성향수", "Men"), ("유니섹스", "Unisex")],
        brands: &["Maison Hana", "Aube Seoul", "Noir Jeju"],
        flavours: &[
            fl_in("플라워", "Flower", 100, 0),
            fl_in("로즈", "Rose", 105, 0),
            fl_in("자스민", "Jasmine", 105, 0),
            fl_in("피오니", "Peony", 100, 0),
            fl_in("바닐라", "Vanilla", 100, 0),
            fl_in("우디", "Woody", 110, 1),
            fl_in("베르가못", "Bergamot", 100, 1),
            fl_in("샌달우드", "Sandalwood", 115, 1),
            fl_in("앰버", "Amber", 110, 1),
            fl_in("시트러스", "Citrus", 95, 2),
            fl_in("머스크", "Musk", 105, 2),
            fl_in("화이트티", "White Tea", 100, 2),
        ],
        lines: &[
            line(
                "오드퍼퓸",
                "Eau de Parfum",
                0,
                &[
                    ("30ml", "30ml", 59_000),
                    ("50ml", "50ml", 89_000),
                    ("100ml", "100ml", 139_000),
                ],
            ),
            line(
                "오드뚜왈렛",
                "Eau de Toilette",
                0,
                &[
                    ("30ml", "30ml", 45_000),
                    ("50ml", "50ml", 65_000),
                    ("100ml", "100ml", 98_000),
                ],
            ),
            line("퍼퓸 미스트", "Perfume Mist", 0, &[("100ml", "100ml", 25_000)]),
            line("롤온 퍼퓸", "Roll-on Perfume", 0, &[("10ml", "10ml", 19_000)]),
            line("고체향수", "Solid Perfume", 0, &[("5g", "5g", 18_000)]),
        ],
        descriptions: &[
            "{f} 노트가 은은하게 오래 남는 {b}의 {l}입니다.",
            "{f} 향으로 하루를 산뜻하게 시작하는 데일리 {l}입니다.",
        ],
    },
    CategorySpec {
        ko: "초콜릿",
        en: "Chocolate",
        slug: "chocolate",
        code: "CH",
        count: 40,
        female_weight: 12,
        male_weight: 14,
        multi_buy: true,
        gift: true,
        subs: &[("선물세트", "Gift Sets"), ("초콜릿바", "Bars"), ("트러플", "Truffles")],
        brands: &["Cacao Seoul", "Dal Chocolatier", "Bean & Bar"],
        flavours: &[
            fl("다크", "Dark", 100),
            fl("밀크", "Milk", 95),
            fl("화이트", "White", 95),
            fl("헤이즐넛", "Hazelnut", 105),
            fl("말차", "Matcha", 110),
            fl("솔티드 카라멜", "Salted Caramel", 105),
            fl("라즈베리", "Raspberry", 105),
            fl("아몬드", "Almond", 100),
            fl("한라봉", "Hallabong", 110),
        ],
        lines: &[
            line(
                "초콜릿 선물세트",
                "Chocolate Gift Set",
                0,
                &[
                    ("9구", "9 pcs", 19_000),
                    ("16구", "16 pcs", 32_000),
                    ("25구", "25 pcs", 48_000),
                ],
            ),
            line(
                "초콜릿 바",
                "Chocolate Bar",
                1,
                &[("80g", "80g", 6_500), ("3개입", "3-Pack", 18_000)],
            ),
            line(
                "트러플",
                "Truffles",
                2,
                &[("6구", "6 pcs", 15_000), ("12구", "12 pcs", 27_000)],
            ),
            line("봉봉 쇼콜라", "Bonbon Chocolat", 2, &[("8구", "8 pcs", 22_000)]),
        ],
        descriptions: &[
            "{f} 초콜릿의 깊은 풍미를 담은 {b}의 수제 {l}입니다.",
            "소중한 사람에게 마음을 전하기 좋은 {f} {l}입니다.",
        ],
    },
    CategorySpec {
        ko: "목걸이",
        en: "Necklaces",
        slug: "necklace",
        code: "NK",
        count: 35,
        female_weight: 14,
        male_weight: 10,
        multi_buy: false,
        gift: true,
        subs: &[("펜던트", "Pendants"), ("체인", "Chains"), ("진주", "Pearls")],
        brands: &["Lune Atelier", "Maru Jewelry", "Bam Studio"],
        flavours: &[
            fl("실버", "Silver", 100),
            fl("로즈골드 도금", "Rose Gold Plated", 110),
            fl("골드 도금", "Gold Plated", 110),
            fl("써지컬 스틸", "Surgical Steel", 70),
            fl("14K 골드", "14K Gold", 420),
            fl("18K 골드", "18K Gold", 600),
        ],
        lines: &[
            line("하트 목걸이", "Heart Necklace", 0, &[("", "", 39_000)]),
            line("클로버 목걸이", "Clover Necklace", 0, &[("", "", 42_000)]),
            line("이니셜 목걸이", "Initial Necklace", 0, &[("", "", 35_000)]),
            line("큐빅 원석 목걸이", "Cubic Stone Necklace", 0, &[("", "", 45_000)]),
            line("스네이크 체인 목걸이", "Snake Chain Necklace", 1, &[("", "", 29_000)]),
            line("볼 체인 목걸이", "Ball Chain Necklace", 1, &[("", "", 25_000)]),
            line("레이어드 목걸이", "Layered Necklace", 1, &[("", "", 49_000)]),
            line("진주 목걸이", "Pearl Necklace", 2, &[("", "", 59_000)]),
        ],
        descriptions: &[
            "데일리로 착용하기 좋은 {f} 소재의 {l}입니다.",
            "{b}에서 하나하나 손으로 다듬은 {f} {l}입니다.",
        ],
    },
    CategorySpec {
        ko: "스킨케어",
        en: "Skincare",
        slug: "skincare",
        code: "SK",
        count: 45,
        female_weight: 22,
        male_weight: 10,
        multi_buy: true,
        gift: false,
        subs: &[
            ("토너", "Toners"),
            ("세럼", "Serums"),
            ("크림", "Creams"),
            ("선케어", "Sun Care"),
            ("클렌징", "Cleansing"),
            ("마스크팩", "Masks"),
        ],
        brands: &["Jeju Lab", "Soft Dew", "Clean Moi"],
        flavours: &[
            fl("히알루론산", "Hyaluronic Acid", 100),
            fl("시카", "Cica", 100),
            fl("비타민C", "Vitamin C", 110),
            fl("어성초", "Heartleaf", 95),
            fl("녹차", "Green Tea", 95),
            fl("세라마이드", "Ceramide", 105),
            fl("레티놀", "Retinol", 120),
            fl("판테놀", "Panthenol", 100),
            fl("쌀", "Rice", 90),
        ],
        lines: &[
            line(
                "토너",
                "Toner",
                0,
                &[("200ml", "200ml", 22_000), ("500ml", "500ml", 35_000)],
            ),
            line(
                "세럼",
                "Serum",
                1,
                &[("30ml", "30ml", 32_000), ("50ml", "50ml", 45_000)],
            ),
            line("앰플", "Ampoule", 1, &[("30ml", "30ml", 38_000)]),
            line("수분크림", "Moisture Cream", 2, &[("50ml", "50ml", 28_000)]),
            line("선크림", "Sunscreen", 3, &[("50ml", "50ml", 19_000)]),
            line("클렌징폼", "Cleansing Foam", 4, &[("150ml", "150ml", 14_000)]),
            line("시트 마스크", "Sheet Mask", 5, &[("10매", "10 Sheets", 15_000)]),
        ],
        descriptions: &[
            "{f} 성분이 피부에 편안한 보습을 주는 {l}입니다.",
            "민감한 피부도 부담 없이 쓰는 {b}의 {f} {l}입니다.",
        ],
    },
    CategorySpec {
        ko: "커피",
        en: "Coffee",
        slug: "coffee",
        code: "CF",
        count: 35,
        female_weight: 8,
        male_weight: 22,
        multi_buy: true,
        gift: false,
        subs: &[
            ("원두", "Whole Beans"),
            ("드립백", "Drip Bags"),
            ("콜드브루", "Cold Brew"),
        ],
        brands: &["Hanok Roasters", "Mori Coffee", "Seongsu Beans"],
        flavours: &[
            fl("에티오피아 예가체프", "Ethiopia Yirgacheffe", 110),
            fl("콜롬비아 수프리모", "Colombia Supremo", 100),
            fl("과테말라 안티구아", "Guatemala Antigua", 105),
            fl("브라질 산토스", "Brazil Santos", 90),
            fl("케냐 AA", "Kenya AA", 115),
            fl("하우스 블렌드", "House Blend", 90),
            fl("디카페인", "Decaf", 105),
        ],
        lines: &[
            line(
                "원두",
                "Whole Beans",
                0,
                &[
                    ("200g", "200g", 14_000),
                    ("500g", "500g", 29_000),
                    ("1kg", "1kg", 52_000),
                ],
            ),
            line("콜드브루 원두", "Cold Brew Beans", 0, &[("1kg", "1kg", 49_000)]),
            line(
                "드립백",
                "Drip Bags",
                1,
                &[("10개입", "10-Pack", 12_000), ("30개입", "30-Pack", 32_000)],
            ),
            line(
                "콜드브루 원액",
                "Cold Brew Concentrate",
                2,
                &[("500ml", "500ml", 15_000), ("1L", "1L", 26_000)],
            ),
        ],
        descriptions: &[
            "{b}에서 매주 로스팅하는 {f} {l}입니다.",
            "산미와 단맛의 균형이 좋은 {f} {l}입니다.",
        ],
    },
    CategorySpec {
        ko: "의류",
        en: "Apparel",
        slug: "apparel",
        code: "AP",
        count: 45,
        female_weight: 12,
        male_weight: 18,
        multi_buy: false,
        gift: false,
        subs: &[
            ("상의", "Tops"),
            ("하의", "Bottoms"),
            ("아우터", "Outerwear"),
            ("원피스", "Dresses"),
        ],
        brands: &["Daily Mood", "Ondo", "Seoul Basics"],
        flavours: &[
            fl("블랙", "Black", 100),
            fl("화이트", "White", 100),
            fl("네이비", "Navy", 100),
            fl("베이지", "Beige", 100),
            fl("그레이", "Grey", 100),
            fl("오트밀", "Oatmeal", 100),
            fl("차콜", "Charcoal", 100),
            fl("스카이블루", "Sky Blue", 100),
        ],
        lines: &[
            line("오버핏 반팔 티셔츠", "Oversized T-Shirt", 0, &[("", "", 29_000)]),
            line("맨투맨", "Sweatshirt", 0, &[("", "", 39_000)]),
            line("코튼 셔츠", "Cotton Shirt", 0, &[("", "", 45_000)]),
            line("와이드 슬랙스", "Wide Slacks", 1, &[("", "", 49_000)]),
            line("데님 팬츠", "Denim Pants", 1, &[("", "", 55_000)]),
            line("후드 집업", "Hooded Zip-up", 2, &[("", "", 59_000)]),
            line("니트 가디건", "Knit Cardigan", 2, &[("", "", 69_000)]),
            line("트렌치 코트", "Trench Coat", 2, &[("", "", 149_000)]),
            line("린넨 원피스", "Linen Dress", 3, &[("", "", 79_000)]),
        ],
        descriptions: &[
            "어디에나 잘 어울리는 {f} 컬러의 {l}입니다.",
            "부드러운 촉감으로 편하게 입는 {b}의 {f} {l}입니다.",
        ],
    },
    CategorySpec {
        ko: "캔들",
        en: "Candles",
        slug: "candle",
        code: "CD",
        count: 30,
        female_weight: 7,
        male_weight: 6,
        multi_buy: false,
        gift: true,
        subs: &[
            ("소이캔들", "Soy Candles"),
            ("디퓨저", "Diffusers"),
            ("왁스타블렛", "Wax Tablets"),
        ],
        brands: &["Bit Candle", "Moonlight Studio"],
        flavours: &[
            fl("라벤더", "Lavender", 100),
            fl("블랙체리", "Black Cherry", 100),
            fl("우드세이지", "Wood Sage", 105),
            fl("화이트 머스크", "White Musk", 100),
            fl("무화과", "Fig", 100),
            fl("베르가못", "Bergamot", 100),
            fl("시더우드", "Cedarwood", 105),
            fl("프리지아", "Freesia", 100),
        ],
        lines: &[
            line(
                "소이 캔들",
                "Soy Candle",
                0,
                &[("200g", "200g", 24_000), ("400g", "400g", 39_000)],
            ),
            line("리드 디퓨저", "Reed Diffuser", 1, &[("200ml", "200ml", 29_000)]),
            line("왁스 타블렛", "Wax Tablet", 2, &[("", "", 9_900)]),
        ],
        descriptions: &[
            "{f} 향이 공간을 포근하게 채워 주는 {l}입니다.",
            "{b}에서 직접 조향한 {f} {l}입니다.",
        ],
    },
    CategorySpec {
        ko: "차",
        en: "Tea",
        slug: "tea",
        code: "TE",
        count: 25,
        female_weight: 5,
        male_weight: 8,
        multi_buy: true,
        gift: true,
        subs: &[("티백", "Tea Bags"), ("잎차", "Loose Leaf"), ("선물세트", "Gift Sets")],
        brands: &["Jeju Tea Garden", "Dawon"],
        flavours: &[
            fl("제주 녹차", "Jeju Green Tea", 100),
            fl("얼그레이", "Earl Grey", 100),
            fl("캐모마일", "Chamomile", 95),
            fl("페퍼민트", "Peppermint", 95),
            fl("루이보스", "Rooibos", 100),
            fl("히비스커스", "Hibiscus", 100),
            fl("보이차", "Pu-erh", 120),
            fl("유자 녹차", "Yuja Green Tea", 105),
        ],
        lines: &[
            line(
                "티백",
                "Tea Bags",
                0,
                &[("20개입", "20 Bags", 12_000), ("50개입", "50 Bags", 25_000)],
            ),
            line(
                "잎차",
                "Loose Leaf Tea",
                1,
                &[("50g", "50g", 15_000), ("100g", "100g", 27_000)],
            ),
            line("티 선물세트", "Tea Gift Set", 2, &[("", "", 35_000)]),
        ],
        descriptions: &[
            "따뜻하게 우려 마시기 좋은 {f} {l}입니다.",
            "{b}에서 엄선한 찻잎으로 만든 {f} {l}입니다.",
        ],
    },
];

/// One product of the demo catalogue.
pub(super) struct Product {
    pub id: String,
    pub name: String,
    pub name_en: String,
    pub sku: String,
    /// `"향수/여성향수"`: top level and subcategory in Korean.
    pub category: String,
    pub category_en: String,
    pub brand: &'static str,
    pub price: u32,
    pub sale_price: Option<u32>,
    pub in_stock: bool,
    pub url: String,
    pub image_url: String,
    pub description: String,
    pub tags: Vec<String>,
    /// How often people buy two or three at once.
    pub multi_buy: bool,
    /// The index of the top-level category.
    pub top: usize,
    /// Prebuilt Segment properties for one item, cloned for each event.
    properties: Value,
    line_item: Value,
}

impl Product {
    /// What a customer pays for one: the sale price while on sale.
    pub fn unit_price(&self) -> u32 {
        self.sale_price.unwrap_or(self.price)
    }

    /// The Segment properties of `quantity` of this product, as in `Product Viewed`.
    pub fn properties(&self, quantity: u32) -> Value {
        with_quantity(&self.properties, quantity)
    }

    /// The product as a line of an order's `products` list.
    pub fn line_item(&self, quantity: u32) -> Value {
        with_quantity(&self.line_item, quantity)
    }

    /// The catalogue entry as the admin API's bulk product upsert takes it.
    pub fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "name": self.name,
            "name_en": self.name_en,
            "sku": self.sku,
            "category": self.category,
            "category_en": self.category_en,
            "brand": self.brand,
            "price": self.price,
            "sale_price": self.sale_price,
            "currency": "KRW",
            "image_url": self.image_url,
            "url": self.url,
            "in_stock": self.in_stock,
            "description": self.description,
            "tags": self.tags,
        })
    }
}

/// The products of one top-level category and their popularity.
struct Shelf {
    products: Vec<usize>,
    /// Running totals of popularity weights, for weighted picks by binary search.
    cumulative: Vec<u64>,
}

/// The whole catalogue with the indexes the generator draws from.
pub(super) struct Catalog {
    pub products: Vec<Product>,
    shelves: Vec<Shelf>,
}

/// The random stream of the catalogue; customers use streams from 1 on.
const CATALOG_STREAM: u64 = 0;

impl Catalog {
    /// Builds the catalogue for a seed. The same seed always gives the same products.
    pub fn new(seed: u64) -> Catalog {
        let mut dice = Dice::new(seed, CATALOG_STREAM);
        let mut products = Vec::with_capacity(300);
        let mut shelves = Vec::with_capacity(CATEGORIES.len());
        for (top, spec) in CATEGORIES.iter().enumerate() {
            let mut combos = Vec::new();
            for (l, line) in spec.lines.iter().enumerate() {
                for s in 0..line.sizes.len() {
                    for f in 0..spec.flavours.len() {
                        combos.push((l, s, f));
                    }
                }
            }
            dice.shuffle(&mut combos);
            combos.truncate(spec.count);
            combos.sort_unstable();

            // Popularity follows a Zipf-like curve over a random ranking.
            let mut ranks: Vec<u64> = (0..combos.len() as u64).collect();
            dice.shuffle(&mut ranks);
            let mut shelf = Shelf {
                products: Vec::new(),
                cumulative: Vec::new(),
            };
            let mut total = 0;
            for (&(l, s, f), &rank) in combos.iter().zip(&ranks) {
                let number = products.len() + 1;
                let product = make_product(&mut dice, (top, spec), (l, s, f), number, rank);
                total += 6_000 / (rank + 2);
                shelf.products.push(products.len());
                shelf.cumulative.push(total);
                products.push(product);
            }
            shelves.push(shelf);
        }
        Catalog { products, shelves }
    }

    /// The top-level category's Korean name and URL slug.
    pub fn category_label(&self, category: usize) -> (&'static str, &'static str) {
        (CATEGORIES[category].ko, CATEGORIES[category].slug)
    }

    /// How much a woman or a man tends to favour each category.
    pub fn affinity_weights(&self, female: bool) -> Vec<u32> {
        CATEGORIES
            .iter()
            .map(|c| if female { c.female_weight } else { c.male_weight })
            .collect()
    }

    /// A product of a category, popular ones more often.
    pub fn pick(&self, dice: &mut Dice, category: usize) -> usize {
        let shelf = &self.shelves[category];
        let total = *shelf.cumulative.last().expect("every category has products");
        let roll = dice.below(total);
        let at = shelf.cumulative.partition_point(|&c| c <= roll);
        shelf.products[at]
    }
}

/// Rounds a price the way a Korean shop would: to 500 won for cheap items, else to 1,000 won,
/// sometimes ending in 900.
fn shop_price(dice: &mut Dice, raw: u32) -> u32 {
    let step = if raw < 20_000 { 500 } else { 1_000 };
    let rounded = ((raw + step / 2) / step * step).max(step);
    if rounded >= 10_000 && dice.chance(0.35) {
        rounded - 100
    } else {
        rounded
    }
}

fn make_product(
    dice: &mut Dice,
    (top, spec): (usize, &CategorySpec),
    (l, s, f): (usize, usize, usize),
    number: usize,
    rank: u64,
) -> Product {
    let line = &spec.lines[l];
    let (size_ko, size_en, base) = line.sizes[s];
    let flavour = &spec.flavours[f];
    let sub = flavour.sub.unwrap_or(line.sub);
    let brand = *dice.pick(spec.brands);

    let name = join(&[flavour.ko, line.ko, size_ko]);
    let name_en = join(&[flavour.en, line.en, size_en]);
    let jitter = 92 + dice.below(17) as u32;
    let price = shop_price(dice, base * flavour.price_pct / 100 * jitter / 100);
    let sale_price = dice
        .chance(0.2)
        .then(|| price * (100 - 5 * dice.count(2, 6) as u32) / 100 / 100 * 100);
    let in_stock = !dice.chance(0.05);

    let id = format!("P{number:04}");
    let description = dice
        .pick(spec.descriptions)
        .replace("{f}", flavour.ko)
        .replace("{l}", line.ko)
        .replace("{b}", brand);
    let mut tags = vec![spec.slug.to_string(), flavour.en.to_lowercase().replace(' ', "-")];
    if spec.gift {
        tags.push("gift".into());
    }
    if rank < 3 {
        tags.push("bestseller".into());
    }
    if dice.chance(0.1) {
        tags.push("new".into());
    }
    if sale_price.is_some() {
        tags.push("sale".into());
    }
    let mut product = Product {
        sku: format!("{}-{:02}{:02}-{}", spec.code, l + 1, f + 1, s + 1),
        category: format!("{}/{}", spec.ko, spec.subs[sub].0),
        category_en: format!("{}/{}", spec.en, spec.subs[sub].1),
        brand,
        price,
        sale_price,
        in_stock,
        url: format!("{SHOP_URL}/products/{id}"),
        image_url: format!("{SHOP_URL}/images/products/{id}.jpg"),
        description,
        tags,
        multi_buy: spec.multi_buy,
        top,
        name,
        name_en,
        id,
        properties: Value::Null,
        line_item: Value::Null,
    };
    let unit_price = product.unit_price();
    product.properties = json!({
        "product_id": product.id,
        "sku": product.sku,
        "name": product.name,
        "category": product.category,
        "brand": product.brand,
        "price": unit_price,
        "quantity": 1,
        "url": product.url,
        "image_url": product.image_url,
        "currency": "KRW",
    });
    product.line_item = json!({
        "product_id": product.id,
        "sku": product.sku,
        "name": product.name,
        "category": product.category,
        "price": unit_price,
        "quantity": 1,
    });
    product
}

fn with_quantity(template: &Value, quantity: u32) -> Value {
    let mut value = template.clone();
    if quantity != 1 {
        value["quantity"] = quantity.into();
    }
    value
}

/// Joins the non-empty parts of a name with spaces.
fn join(parts: &[&str]) -> String {
    parts
        .iter()
        .filter(|p| !p.is_empty())
        .copied()
        .collect::<Vec<_>>()
        .join(" ")
}
