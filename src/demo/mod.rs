//! The demo shop: a product catalogue and a year of Segment messages from a small Korean online
//! shop (perfume, chocolate, necklaces, skincare, coffee, apparel, candles, tea).
//!
//! This module owns only the made-up data. It is pure and synchronous: no store, no clock, no
//! I/O, and it uses no other module of the crate. The same [`DemoOptions`] always give the same
//! products and the same messages, on every platform, because every draw comes from ChaCha8
//! through integer arithmetic of our own.
//! Callers: the `--demo` start-up path, which upserts [`products`] and feeds every message of
//! [`generate`] through the same ingest as `POST /v1/batch`, and tests of later analysis, which
//! use [`persona_of`] to know what each customer was meant to look like.
//!
//! Each member gets a persona ([`Persona`]) that shapes their visits and orders. Messages follow
//! the Segment HTTP Tracking API and the E-commerce Spec v2; times follow the daily rhythm of
//! Korean shoppers (lunch and late evening) in Asia/Seoul.

mod catalog;
mod customer;
pub mod live;
mod people;
mod rng;

use chrono::{DateTime, Utc};
use serde_json::Value;

use customer::Shop;

/// The shop's base URL; products live at `{SHOP_URL}/products/{id}`.
pub const SHOP_URL: &str = "https://shop.example";

/// What to generate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoOptions {
    /// Seeds the catalogue and every customer.
    pub seed: u64,
    /// How many members to make (at most 2^30). Customer `i` is the same whatever this is.
    pub customers: usize,
    /// No message is later than this.
    pub end: DateTime<Utc>,
    /// How many months before `end` the messages spread over (0 counts as 1).
    pub months: u32,
}

impl DemoOptions {
    /// `customers` members over the 12 months before `end`, with seed 42.
    pub fn new(customers: usize, end: DateTime<Utc>) -> Self {
        DemoOptions {
            seed: 42,
            customers,
            end,
            months: 12,
        }
    }
}

/// The behaviour the generator gave a member.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Persona {
    /// Many visits, three to five orders spread over the year, a visit in the last two weeks.
    Loyal,
    /// A few visits and two or three orders.
    Regular,
    /// Exactly one order.
    OneTime,
    /// Two or three orders early on, no order in the last 165 days and no message in the last
    /// 155 (a late review or refund at most).
    Lapsed,
    /// Views and carts, sometimes an abandoned checkout, but never an order.
    Browser,
    /// Signed up within the last 30 days; one order at most.
    New,
}

impl Persona {
    /// Every persona, in declaration order.
    pub const ALL: [Persona; 6] = [
        Persona::Loyal,
        Persona::Regular,
        Persona::OneTime,
        Persona::Lapsed,
        Persona::Browser,
        Persona::New,
    ];

    /// The name used in the `demo_persona` trait: `"loyal"`, `"one_time"`, …
    pub fn as_str(self) -> &'static str {
        match self {
            Persona::Loyal => "loyal",
            Persona::Regular => "regular",
            Persona::OneTime => "one_time",
            Persona::Lapsed => "lapsed",
            Persona::Browser => "browser",
            Persona::New => "new",
        }
    }

    /// How many in a hundred members get this persona.
    fn percent(self) -> u64 {
        match self {
            Persona::Loyal => 8,
            Persona::Regular => 20,
            Persona::OneTime => 25,
            Persona::Lapsed => 15,
            Persona::Browser => 25,
            Persona::New => 7,
        }
    }
}

/// The catalogue: 300 products as JSON objects with `id` (`"P0001"`), `name` (Korean),
/// `name_en`, `sku`, `category` (`"향수/여성향수"`), `category_en` (`"Perfume/Women"`), `brand`,
/// `price` and `sale_price` (KRW integers; `sale_price` null unless on sale), `currency`,
/// `image_url`, `url`, `in_stock`, `description` (Korean) and `tags`.
pub fn products(opts: &DemoOptions) -> Vec<Value> {
    catalog::Catalog::new(opts.seed)
        .products
        .iter()
        .map(|p| p.to_json())
        .collect()
}

/// Streams the Segment messages of `opts.customers` members to `sink`, each one an object as a
/// Segment client would post it as an item of `/v1/batch`. The messages of one member come
/// together and in time order; members come in index order. Memory use does not grow with the
/// number of members.
pub fn generate(opts: &DemoOptions, sink: &mut dyn FnMut(Value)) {
    let shop = Shop::new(opts);
    let mut buffer = Vec::new();
    for index in 0..opts.customers {
        shop.customer(index, &mut buffer, sink);
    }
}

/// The persona of the member with userId `u{index:07}`.
pub fn persona_of(opts: &DemoOptions, index: usize) -> Persona {
    persona_for(opts.seed, index)
}

/// The persona of a member, from a hash of the seed and the index alone.
fn persona_for(seed: u64, index: usize) -> Persona {
    let roll = rng::mix64(seed ^ rng::mix64(index as u64 ^ 0x7065_7273_6f6e_6100)) % 100;
    let mut below = 0;
    for persona in Persona::ALL {
        below += persona.percent();
        if roll < below {
            return persona;
        }
    }
    Persona::New
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, HashMap, HashSet};

    use chrono::TimeZone;
    use serde_json::Value;

    use super::customer::{DAY, Shop};
    use super::*;

    fn options(customers: usize) -> DemoOptions {
        DemoOptions::new(customers, Utc.with_ymd_and_hms(2025, 6, 30, 15, 0, 0).unwrap())
    }

    /// The messages of each customer, by index.
    fn by_customer(opts: &DemoOptions) -> Vec<Vec<Value>> {
        let shop = Shop::new(opts);
        let mut buffer = Vec::new();
        (0..opts.customers)
            .map(|index| {
                let mut messages = Vec::new();
                shop.customer(index, &mut buffer, &mut |m| messages.push(m));
                messages
            })
            .collect()
    }

    fn millis(message: &Value) -> i64 {
        let text = message["timestamp"].as_str().expect("timestamp is a string");
        DateTime::parse_from_rfc3339(text)
            .expect("timestamp is RFC 3339")
            .timestamp_millis()
    }

    fn event(message: &Value) -> &str {
        message["event"].as_str().unwrap_or("")
    }

    fn orders(messages: &[Value]) -> Vec<&Value> {
        messages.iter().filter(|m| event(m) == "Order Completed").collect()
    }

    fn int(value: &Value) -> i64 {
        value.as_i64().unwrap_or_else(|| panic!("{value} is not an integer"))
    }

    #[test]
    fn same_options_give_identical_messages() {
        let opts = options(150);
        let (mut first, mut second) = (Vec::new(), Vec::new());
        generate(&opts, &mut |m| first.push(m));
        generate(&opts, &mut |m| second.push(m));
        assert!(first.len() > 150 * 5);
        assert_eq!(first, second);
        assert_eq!(products(&opts), products(&opts));

        let mut other = Vec::new();
        generate(
            &DemoOptions {
                seed: 7,
                ..opts.clone()
            },
            &mut |m| other.push(m),
        );
        assert_ne!(first, other, "another seed gives other data");
    }

    #[test]
    fn a_customer_does_not_depend_on_how_many_there_are() {
        let small = by_customer(&options(20));
        let large = by_customer(&options(40));
        assert_eq!(small[..], large[..20]);
    }

    #[test]
    fn every_message_is_a_well_formed_segment_message() {
        let opts = options(400);
        let shop = Shop::new(&opts);
        let mut ids = HashSet::new();
        for (index, messages) in by_customer(&opts).iter().enumerate() {
            let user_id = format!("u{index:07}");
            let mut previous = i64::MIN;
            for m in messages {
                let kind = m["type"].as_str().expect("type");
                assert!(matches!(kind, "identify" | "track" | "page"), "{m}");
                let text = m["timestamp"].as_str().unwrap();
                assert!(text.ends_with('Z') && text.len() == 24, "{text}");
                let at = millis(m);
                assert!((shop.start..=shop.end).contains(&at), "{text} is outside the window");
                assert!(at >= previous, "customer {index} goes back in time at {text}");
                previous = at;
                assert!(ids.insert(m["messageId"].as_str().expect("messageId").to_string()));
                assert!(m["anonymousId"].is_string() || m["userId"].is_string());
                if let Some(user) = m["userId"].as_str() {
                    assert_eq!(user, user_id);
                }
                assert_eq!(m["context"]["library"]["name"], "dangol-demo");
                assert_eq!(m["context"]["timezone"], "Asia/Seoul");
                match kind {
                    "track" => assert!(m["event"].is_string() && m["properties"].is_object()),
                    "page" => assert!(m["name"].is_string() && m["properties"]["url"].is_string()),
                    _ => assert!(m["traits"].is_object() && m["userId"].is_string()),
                }
            }
        }
    }

    #[test]
    fn personas_behave_as_described() {
        let opts = options(1_000);
        let shop = Shop::new(&opts);
        let (mut browsers, mut carting_browsers) = (0, 0);
        for (index, messages) in by_customer(&opts).iter().enumerate() {
            let persona = persona_of(&opts, index);
            let orders = orders(messages);
            let last = messages.iter().map(millis).max().expect("every member has messages");
            match persona {
                Persona::Loyal => {
                    assert!(orders.len() >= 3, "loyal {index} has {} orders", orders.len());
                    assert!(last >= shop.end - 14 * DAY, "loyal {index} is not recent");
                }
                Persona::Regular => assert!((2..=3).contains(&orders.len()), "regular {index}"),
                Persona::OneTime => assert_eq!(orders.len(), 1, "one-time {index}"),
                Persona::Lapsed => {
                    assert!((2..=3).contains(&orders.len()), "lapsed {index}");
                    assert!(last < shop.end - 150 * DAY, "lapsed {index} was active lately");
                }
                Persona::Browser => {
                    assert!(orders.is_empty(), "browser {index} ordered");
                    assert!(messages.iter().any(|m| event(m) == "Product Viewed"));
                    browsers += 1;
                    carting_browsers += usize::from(messages.iter().any(|m| event(m) == "Product Added"));
                }
                Persona::New => assert!(orders.len() <= 1, "new {index}"),
            }
            let identify = messages.iter().find(|m| m["type"] == "identify").expect("identify");
            assert_eq!(identify["traits"]["demo_persona"], persona.as_str());
            if persona == Persona::New {
                let created = &identify["traits"]["created_at"];
                let created = DateTime::parse_from_rfc3339(created.as_str().unwrap()).unwrap();
                assert!(created.timestamp_millis() >= shop.end - 30 * DAY);
            }
        }
        assert!(
            carting_browsers * 2 > browsers,
            "{carting_browsers} of {browsers} browsers fill a cart"
        );
    }

    #[test]
    fn order_totals_add_up() {
        let opts = options(600);
        let catalog: HashMap<String, Value> = products(&opts)
            .into_iter()
            .map(|p| (p["id"].as_str().unwrap().to_string(), p))
            .collect();
        let mut order_ids = HashSet::new();
        let mut coupons = 0;
        for messages in by_customer(&opts) {
            let applied: HashMap<&Value, &Value> = messages
                .iter()
                .filter(|m| event(m) == "Coupon Applied")
                .map(|m| (&m["properties"]["order_id"], &m["properties"]["discount"]))
                .collect();
            for order in orders(&messages) {
                let p = &order["properties"];
                assert!(order_ids.insert(p["order_id"].as_str().unwrap().to_string()));
                assert_eq!(p["currency"], "KRW");
                let mut subtotal = 0;
                for line in p["products"].as_array().unwrap() {
                    let product = &catalog[line["product_id"].as_str().unwrap()];
                    let unit = if product["sale_price"].is_null() {
                        &product["price"]
                    } else {
                        &product["sale_price"]
                    };
                    assert_eq!(&line["price"], unit);
                    assert_eq!(line["name"], product["name"]);
                    assert!(product["in_stock"].as_bool().unwrap());
                    subtotal += int(&line["price"]) * int(&line["quantity"]);
                }
                let discount = int(&p["discount"]);
                assert!((0..subtotal).contains(&discount));
                assert_eq!(int(&p["total"]), subtotal - discount);
                assert_eq!(int(&p["revenue"]), subtotal);
                assert_eq!(p["coupon"].is_string(), discount > 0);
                if discount > 0 {
                    coupons += 1;
                    assert_eq!(applied[&p["order_id"]], &p["discount"]);
                }
            }
            for refund in messages.iter().filter(|m| event(m) == "Order Refunded") {
                let id = &refund["properties"]["order_id"];
                let order = orders(&messages)
                    .into_iter()
                    .find(|o| &o["properties"]["order_id"] == id);
                let order = order.expect("a refund follows its order");
                assert!(int(&refund["properties"]["total"]) <= int(&order["properties"]["total"]));
                assert!(millis(refund) > millis(order));
            }
        }
        assert!(order_ids.len() > 600, "{} orders", order_ids.len());
        assert!(coupons > order_ids.len() / 10, "{coupons} orders with a coupon");
    }

    #[test]
    fn visits_are_short_and_far_apart() {
        let opts = options(500);
        let later = ["Product Reviewed", "Order Refunded"];
        for (index, messages) in by_customer(&opts).iter().enumerate() {
            let times: Vec<i64> = messages
                .iter()
                .filter(|m| !later.contains(&event(m)))
                .map(millis)
                .collect();
            for pair in times.windows(2) {
                let gap = pair[1] - pair[0];
                assert!(
                    gap <= 5 * 60_000 || gap >= 60 * 60_000,
                    "customer {index} waits {gap} ms"
                );
            }
        }
    }

    #[test]
    fn short_windows_and_empty_runs_work() {
        let mut count = 0;
        generate(&options(0), &mut |_| count += 1);
        assert_eq!(count, 0);

        for months in [0, 1, 2] {
            let opts = DemoOptions { months, ..options(300) };
            let shop = Shop::new(&opts);
            for messages in by_customer(&opts) {
                assert!(!messages.is_empty());
                assert!(messages.iter().all(|m| (shop.start..=shop.end).contains(&millis(m))));
            }
        }
    }

    #[test]
    fn identities_link_up() {
        let opts = options(800);
        let (mut guests, mut early) = (0, 0);
        let customers = by_customer(&opts);
        for (index, messages) in customers.iter().enumerate() {
            let identify = messages.iter().find(|m| m["type"] == "identify").unwrap();
            let email = identify["traits"]["email"].as_str().unwrap();
            let linked: HashSet<&Value> = messages
                .iter()
                .filter(|m| m["userId"].is_string())
                .map(|m| &m["anonymousId"])
                .collect();
            let first_identify = millis(identify);
            let mut anonymous_before = false;
            for m in messages.iter().filter(|m| m["userId"].is_null()) {
                if linked.contains(&m["anonymousId"]) {
                    // Browsing on a browser the member logs in on later: the landing page of
                    // the sign-up visit, or whole visits days before it.
                    assert!(millis(m) <= first_identify, "customer {index}");
                    anonymous_before |= millis(m) < first_identify - 60 * 60_000;
                } else {
                    // A guest order: only the email ties it to the member.
                    if event(m) == "Order Completed" {
                        guests += 1;
                        assert_eq!(m["properties"]["email"], email, "customer {index}");
                        assert_eq!(m["context"]["traits"]["email"], email);
                    }
                }
            }
            early += usize::from(anonymous_before);
        }
        let all_orders: usize = customers.iter().map(|m| orders(m).len()).sum();
        let guest_share = guests as f64 / all_orders as f64;
        println!("{guests} of {all_orders} orders by guests, {early} of 800 browsed before sign-up");
        assert!(
            (0.01..=0.06).contains(&guest_share),
            "{guest_share} of orders by guests"
        );
        assert!((16..=72).contains(&early), "{early} browsed anonymously before sign-up");
    }

    #[test]
    fn the_catalogue_is_plausible() {
        let all = products(&options(0));
        assert_eq!(all.len(), 300);
        let mut names = HashSet::new();
        let mut tops = BTreeMap::new();
        for p in &all {
            let id = p["id"].as_str().unwrap();
            assert!(id.starts_with('P') && id.len() == 5);
            assert!(
                names.insert(p["name"].as_str().unwrap().to_string()),
                "{} twice",
                p["name"]
            );
            let category = p["category"].as_str().unwrap();
            let (top, sub) = category.split_once('/').expect("a two-level category");
            assert!(!sub.is_empty() && p["category_en"].as_str().unwrap().contains('/'));
            *tops.entry(top.to_string()).or_insert(0) += 1;
            let price = int(&p["price"]);
            assert!((5_000..=500_000).contains(&price), "{price}");
            if let Some(sale) = p["sale_price"].as_i64() {
                assert!(sale < price && sale > price / 2);
            }
            assert_eq!(p["url"], format!("{SHOP_URL}/products/{id}"));
            assert_eq!(p["currency"], "KRW");
            assert!(p["description"].as_str().unwrap().ends_with("입니다."));
            assert!(!p["tags"].as_array().unwrap().is_empty());
        }
        let expected = ["향수", "초콜릿", "목걸이", "스킨케어", "커피", "의류", "캔들", "차"];
        assert_eq!(tops.len(), expected.len());
        assert!(expected.iter().all(|t| tops[*t] >= 25));
        let on_sale = all.iter().filter(|p| !p["sale_price"].is_null()).count();
        let sold_out = all.iter().filter(|p| p["in_stock"] == false).count();
        assert!((35..=90).contains(&on_sale), "{on_sale} on sale");
        assert!((4..=30).contains(&sold_out), "{sold_out} sold out");
    }

    #[test]
    fn members_look_like_korean_shoppers() {
        let opts = options(1_000);
        let mut emails = HashSet::new();
        let (mut korean, mut email_consent, mut seoul) = (0, 0, 0);
        for messages in by_customer(&opts) {
            let traits = &messages.iter().find(|m| m["type"] == "identify").unwrap()["traits"];
            let email = traits["email"].as_str().unwrap();
            assert!(email.is_ascii() && email.contains("@") && email.ends_with(".example"));
            assert!(emails.insert(email.to_string()), "{email} twice");
            let phone = traits["phone"].as_str().unwrap();
            assert!(phone.len() == 13 && phone.starts_with("010-") && &phone[8..9] == "-");
            let name = traits["name"].as_str().unwrap();
            korean += usize::from(!name.is_ascii());
            email_consent += usize::from(traits["email_consent"] == true);
            seoul += usize::from(traits["address"]["city"] == "서울");
            assert_eq!(traits["address"]["country"], "KR");
            assert!(traits["birthday"].as_str().unwrap().len() == 10);
        }
        assert!((850..=950).contains(&korean), "{korean} Korean names");
        assert!((530..=670).contains(&email_consent), "{email_consent} consent to email");
        assert!((220..=370).contains(&seoul), "{seoul} in Seoul");
    }

    #[test]
    fn two_thousand_customers_make_a_plausible_shop() {
        let opts = options(2_000);
        let shop = Shop::new(&opts);
        let mut personas: BTreeMap<&str, usize> = BTreeMap::new();
        let mut volume: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
        let mut kinds: BTreeMap<String, usize> = BTreeMap::new();
        let mut hours = [0usize; 24];
        let mut sessions_with_add = 0;
        let mut total = 0;
        for (index, messages) in by_customer(&opts).iter().enumerate() {
            let persona = persona_of(&opts, index).as_str();
            *personas.entry(persona).or_default() += 1;
            let entry = volume.entry(persona).or_default();
            entry.0 += messages.len();
            entry.1 += orders(messages).len();
            total += messages.len();
            for m in messages {
                let kind = match event(m) {
                    "" => m["type"].as_str().unwrap().to_string(),
                    name => name.to_string(),
                };
                *kinds.entry(kind).or_default() += 1;
                if m["type"] == "page" {
                    let hour = (millis(m) + 9 * 3_600_000).rem_euclid(DAY) / 3_600_000;
                    hours[hour as usize] += 1;
                }
            }
            let mut carted = false;
            for m in messages {
                match (m["type"].as_str(), event(m)) {
                    (Some("page"), _) => carted = false,
                    (_, "Product Added") if !carted => {
                        carted = true;
                        sessions_with_add += 1;
                    }
                    _ => {}
                }
            }
        }
        let count = |name: &str| kinds.get(name).copied().unwrap_or(0) as f64;
        let per_customer = total as f64 / 2_000.0;
        let view_to_add = count("Product Added") / count("Product Viewed");
        let add_to_checkout = count("Checkout Started") / sessions_with_add as f64;
        let checkout_to_order = count("Order Completed") / count("Checkout Started");
        let refunds = count("Order Refunded") / count("Order Completed");
        println!("personas: {personas:?}");
        for (persona, (messages, orders)) in &volume {
            let n = personas[persona] as f64;
            let (messages, orders) = (*messages as f64 / n, *orders as f64 / n);
            println!("{persona}: {messages:.1} messages, {orders:.2} orders per customer");
        }
        println!("messages: {total} ({per_customer:.1} per customer)");
        println!("kinds: {kinds:#?}");
        println!("pages by hour (KST): {hours:?}");
        println!(
            "view→add {view_to_add:.2}, add→checkout {add_to_checkout:.2}, \
             checkout→order {checkout_to_order:.2}, refunds {refunds:.3}"
        );

        let average = |p: Persona| volume[p.as_str()].0 as f64 / personas[p.as_str()] as f64;
        assert!(average(Persona::Loyal) > 2.5 * average(Persona::OneTime));
        assert!(average(Persona::Browser) < per_customer);
        let share = |p: Persona| personas[p.as_str()] as f64 / 2_000.0;
        for persona in Persona::ALL {
            let expected = persona.percent() as f64 / 100.0;
            assert!(
                (share(persona) - expected).abs() < 0.03,
                "{persona:?}: {}",
                share(persona)
            );
        }
        assert!(
            (12.0..=24.0).contains(&per_customer),
            "{per_customer} messages per customer"
        );
        // Every step of the funnel loses people. The rates are higher than a real shop's,
        // because only members are simulated and each of them comes with a purpose.
        assert!((0.3..=0.6).contains(&view_to_add), "view→add {view_to_add}");
        assert!(
            (0.6..=0.95).contains(&add_to_checkout),
            "add→checkout {add_to_checkout}"
        );
        assert!(
            (0.6..=0.9).contains(&checkout_to_order),
            "checkout→order {checkout_to_order}"
        );
        assert!((0.01..=0.06).contains(&refunds), "refunds {refunds}");
        assert!(count("Signed Up") > 1_200.0 && count("Product Reviewed") > 100.0);
        assert!(
            hours[21] > 3 * hours[4] && hours[12] > 2 * hours[9],
            "daily rhythm {hours:?}"
        );
        assert!(shop.end - shop.start > 360 * DAY);
    }
}
