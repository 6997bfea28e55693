//! One member's life in the demo shop, written as Segment messages.
//!
//! A [`Life`] first plans when the member signs up, how many visits they make and which of
//! them end in an order, all from the persona. It then plays each visit as page views and
//! E-commerce Spec v2 events, and finally hands the messages out in time order.

use chrono::{DateTime, Datelike, Months, Offset, SecondsFormat, TimeZone, Utc};
use serde_json::{Map, Value, json};

use super::catalog::Catalog;
use super::people::{self, Device, Profile};
use super::rng::{self, Dice};
use super::{DemoOptions, Persona, SHOP_URL, persona_for};

const SECOND: i64 = 1_000;
const MINUTE: i64 = 60 * SECOND;
const HOUR: i64 = 60 * MINUTE;
pub(super) const DAY: i64 = 24 * HOUR;

/// Visits of one customer start at least this far apart; a visit lasts well under an hour.
const VISIT_SPACING: i64 = 2 * HOUR;

/// How likely a visit starts in each hour of the day, Korean time: lunch and late evening peak.
const HOUR_WEIGHTS: [u32; 24] = [
    30, 18, 10, 5, 4, 4, 8, 15, 25, 30, 38, 45, 80, 70, 42, 40, 40, 42, 50, 62, 90, 100, 95, 65,
];

/// Where visitors come from; an empty referrer is a direct visit.
const REFERRERS: &[(&str, u32)] = &[
    ("", 30),
    ("https://search.naver.com/", 22),
    ("https://www.instagram.com/", 15),
    ("https://www.google.com/", 10),
    ("https://m.blog.naver.com/", 10),
    ("https://pf.kakao.com/", 10),
    ("https://m.search.daum.net/", 3),
];

const PAYMENT_METHODS: &[(&str, u32)] = &[
    ("card", 40),
    ("kakaopay", 25),
    ("naverpay", 20),
    ("tosspay", 10),
    ("bank_transfer", 5),
];

/// Review texts by rating, one star first.
const REVIEWS: [&[&str]; 5] = [
    &["기대와 많이 달라요.", "배송 중에 파손되어 왔어요."],
    &["생각보다 별로예요.", "사진과 조금 달라요."],
    &["무난해요.", "가격 대비 괜찮아요."],
    &[
        "만족해요. 재구매할게요.",
        "배송이 빨라서 좋았어요.",
        "선물용으로 좋아요.",
    ],
    &[
        "정말 마음에 들어요!",
        "포장이 예뻐서 선물하기 좋아요.",
        "벌써 세 번째 구매예요. 최고예요.",
    ],
];

/// How likely a browsing visit adds a viewed product to the cart on a whim.
const BROWSE_ADD: f64 = 0.10;
/// How likely a browsing visit is meant to fill a cart (and then leave it); a `Browser` more.
const BROWSE_CART: f64 = 0.45;
const BROWSER_CART: f64 = 0.65;
/// How likely a browsing visit with a full cart goes on to the checkout (and then leaves).
const BROWSE_CHECKOUT: f64 = 0.65;
/// How likely a member's order is placed as a guest, from a browser they are not logged in on.
const GUEST_ORDER: f64 = 0.035;
/// How likely a member who signs up inside the window browsed anonymously before.
const ANONYMOUS_HISTORY: f64 = 0.065;

/// Everything the customers of one run share.
pub(super) struct Shop {
    seed: u64,
    pub catalog: Catalog,
    /// The window of the data, in Unix milliseconds, both ends included.
    pub start: i64,
    pub end: i64,
    /// Seoul's offset from UTC in milliseconds (fixed since 1988).
    offset: i64,
    end_year: i32,
    /// Category weights for women and for men.
    affinity: [Vec<u32>; 2],
}

impl Shop {
    pub fn new(opts: &DemoOptions) -> Shop {
        let catalog = Catalog::new(opts.seed);
        let end = opts.end.timestamp_millis();
        let start = opts
            .end
            .checked_sub_months(Months::new(opts.months.max(1)))
            .map_or(end - 365 * DAY, |t| t.timestamp_millis());
        let seoul = chrono_tz::Asia::Seoul.offset_from_utc_datetime(&opts.end.naive_utc());
        let offset = i64::from(seoul.fix().local_minus_utc()) * SECOND;
        let end_year = opts.end.with_timezone(&chrono_tz::Asia::Seoul).year();
        let affinity = [catalog.affinity_weights(true), catalog.affinity_weights(false)];
        Shop {
            seed: opts.seed,
            catalog,
            start,
            end,
            offset,
            end_year,
            affinity,
        }
    }

    /// Generates customer `index` and hands their messages to `sink` in time order. `buffer`
    /// is scratch space, reused from one customer to the next to spare the allocator.
    pub fn customer(&self, index: usize, buffer: &mut Vec<Pending>, sink: &mut dyn FnMut(Value)) {
        let mut life = Life::new(self, index, std::mem::take(buffer));
        life.live();
        *buffer = life.flush(sink);
    }
}

/// A message waiting to be sorted into time order.
pub(super) struct Pending {
    at: i64,
    serial: u32,
    message: Value,
}

/// How a visit begins.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Entry {
    /// Before sign-up: only the anonymous id is known.
    Anonymous,
    /// The visit in which the member signs up.
    SignUp,
    /// The first visit inside the window of someone who signed up before it.
    LogIn,
    /// A visit by a logged-in member.
    Member,
    /// A member buying from a browser they are not logged in on.
    Guest,
}

/// Where a visitor is: the clock, the browser, whether they are logged in, and the page.
struct Visit {
    at: i64,
    device: usize,
    member: bool,
    path: String,
}

/// One order line: a product and a quantity.
type Line = (usize, u32);

struct Life<'a> {
    shop: &'a Shop,
    dice: Dice,
    index: usize,
    persona: Persona,
    user_id: String,
    profile: Profile,
    tags: Vec<&'static str>,
    created_at: i64,
    /// The member's own browsers first, then one for each guest order.
    devices: Vec<Device>,
    own_devices: usize,
    /// One or two favourite categories with weights.
    favourites: Vec<(usize, u32)>,
    messages: Vec<Pending>,
    serial: u32,
    checkouts: u32,
    orders: u32,
    vip: bool,
}

impl<'a> Life<'a> {
    fn new(shop: &'a Shop, index: usize, mut messages: Vec<Pending>) -> Life<'a> {
        messages.clear();
        let mut dice = Dice::new(shop.seed, 1 + index as u64);
        let profile = Profile::new(&mut dice, index, shop.end_year);
        let affinity = &shop.affinity[usize::from(!profile.female)];
        let first = dice.weighted(affinity);
        let mut favourites = vec![(first, 65)];
        if dice.chance(0.6) {
            let mut rest = affinity.clone();
            rest[first] = 0;
            favourites.push((dice.weighted(&rest), 35));
        }
        let mut life = Life {
            shop,
            index,
            persona: persona_for(shop.seed, index),
            user_id: format!("u{index:07}"),
            tags: profile.tags.clone(),
            profile,
            created_at: 0,
            devices: Vec::new(),
            own_devices: 0,
            favourites,
            messages,
            serial: 0,
            checkouts: 0,
            orders: 0,
            vip: false,
            dice,
        };
        life.own_devices = if life.dice.chance(0.3) { 2 } else { 1 };
        for _ in 0..life.own_devices {
            life.new_device(None);
        }
        life
    }

    /// Adds a browser with a fresh anonymous id and returns its number.
    fn new_device(&mut self, user_agent: Option<&'static str>) -> usize {
        let number = self.devices.len();
        let user_agent = user_agent.unwrap_or_else(|| people::user_agent(&mut self.dice));
        let ip = people::ip_address(&mut self.dice);
        self.devices.push(Device {
            anonymous_id: rng::uuid(self.shop.seed ^ 0xa11d, self.index as u64, number as u32),
            context: json!({
                "library": { "name": "dangol-demo", "version": "1" },
                "userAgent": user_agent,
                "ip": ip,
                "locale": "ko-KR",
                "timezone": "Asia/Seoul",
            }),
        });
        number
    }

    /// Plans the member's visits from the persona and plays them.
    fn live(&mut self) {
        let (start, end) = (self.shop.start, self.shop.end);
        let span = end - start;
        let (created_at, last, orders, browses) = match self.persona {
            Persona::Loyal => {
                let created = self.sign_up_time(0.35, start, start + span / 2);
                (created, end, self.dice.count(3, 5), self.dice.count(1, 3))
            }
            Persona::Regular => {
                let created = self.sign_up_time(0.25, start, end - 60 * DAY);
                (created, end, self.repeat_orders(), self.dice.count(0, 1))
            }
            Persona::OneTime => {
                let created = self.sign_up_time(0.2, start, end - 7 * DAY);
                (created, end, 1, self.dice.count(0, 1))
            }
            Persona::Lapsed => {
                let created = self.sign_up_time(0.3, start, start + span / 4);
                let last = end - self.dice.between(165 * DAY, 220 * DAY);
                (created, last, self.repeat_orders(), self.dice.count(0, 1))
            }
            Persona::Browser => {
                let created = self.sign_up_time(0.2, start, end - 2 * DAY);
                (created, end, 0, self.dice.count(2, 3))
            }
            Persona::New => {
                let created = self.rhythm_time(end - 30 * DAY, end - 2 * HOUR);
                let orders = usize::from(self.dice.chance(0.35));
                (created, end, orders, self.dice.count(0, 2))
            }
        };
        self.created_at = created_at;
        let in_window = created_at >= start;
        let from = created_at.max(start);
        let to = last.min(end - HOUR).max(from + HOUR);

        let mut fixed = Vec::new();
        if in_window {
            fixed.push(created_at);
        }
        if self.persona == Persona::Loyal {
            let recent = self.rhythm_time((end - 14 * DAY).max(from), end - HOUR);
            if fixed.iter().all(|&t: &i64| (t - recent).abs() >= VISIT_SPACING) {
                fixed.push(recent);
            }
        }
        let starts = self.visit_starts(orders + browses, from, to, fixed);

        let orders = orders.min(starts.len());
        let mut buys = vec![false; starts.len()];
        let eager = matches!(self.persona, Persona::OneTime | Persona::New);
        if orders > 0 && in_window && eager && self.dice.chance(0.5) {
            buys[0] = true;
        }
        while buys.iter().filter(|&&b| b).count() < orders {
            let i = self.dice.index(buys.len());
            buys[i] = true;
        }

        if in_window && self.dice.chance(ANONYMOUS_HISTORY) {
            let lo = (created_at - 30 * DAY).max(start);
            let count = self.dice.count(1, 2);
            for at in self.visit_starts(count, lo, created_at - VISIT_SPACING, Vec::new()) {
                self.visit(at, Entry::Anonymous, false);
            }
        }

        for (i, (&at, &buy)) in starts.iter().zip(&buys).enumerate() {
            let entry = match i {
                0 if in_window => Entry::SignUp,
                0 => Entry::LogIn,
                _ if buy && self.dice.chance(GUEST_ORDER) => Entry::Guest,
                _ => Entry::Member,
            };
            self.visit(at, entry, buy);
        }
    }

    /// Two orders, sometimes three.
    fn repeat_orders(&mut self) -> usize {
        2 + usize::from(self.dice.chance(0.3))
    }

    /// A sign-up time: before the window with probability `before`, else within `lo..hi`.
    fn sign_up_time(&mut self, before: f64, lo: i64, hi: i64) -> i64 {
        if self.dice.chance(before) {
            self.shop.start - self.dice.between(DAY, 730 * DAY)
        } else {
            self.rhythm_time(lo, hi)
        }
    }

    /// `count` visit start times in `lo..hi`, including `fixed` ones, sorted and spaced apart.
    fn visit_starts(&mut self, count: usize, lo: i64, hi: i64, mut starts: Vec<i64>) -> Vec<i64> {
        let mut tries = 0;
        while starts.len() < count && tries < 30 * count {
            tries += 1;
            let at = self.rhythm_time(lo, hi);
            if starts.iter().all(|&s| (s - at).abs() >= VISIT_SPACING) {
                starts.push(at);
            }
        }
        starts.sort_unstable();
        starts
    }

    /// A time in `lo..hi` that follows the daily rhythm of Korean shoppers.
    fn rhythm_time(&mut self, lo: i64, hi: i64) -> i64 {
        if hi <= lo {
            return lo;
        }
        let offset = self.shop.offset;
        for _ in 0..16 {
            let local = self.dice.between(lo, hi) + offset;
            let midnight = local - local.rem_euclid(DAY) - offset;
            let hour = self.dice.weighted(&HOUR_WEIGHTS) as i64;
            let at = midnight + hour * HOUR + self.dice.between(0, HOUR);
            if (lo..hi).contains(&at) {
                return at;
            }
        }
        self.dice.between(lo, hi)
    }

    /// Plays one visit: a landing page, then browsing or buying.
    fn visit(&mut self, at: i64, entry: Entry, buy: bool) {
        let device = match entry {
            Entry::Anonymous | Entry::SignUp => 0,
            Entry::Guest => self.new_device(Some(people::IN_APP_AGENT)),
            Entry::LogIn | Entry::Member => {
                if self.own_devices > 1 && self.dice.chance(0.3) {
                    1
                } else {
                    0
                }
            }
        };
        let member = entry == Entry::Member;
        let mut v = Visit {
            at,
            device,
            member,
            path: String::new(),
        };
        // Some people come straight to the sign-up page from an ad or a Kakao channel message.
        let direct = entry == Entry::SignUp && self.dice.chance(0.4);
        let mut landed = if direct { None } else { self.land(&mut v) };
        match entry {
            Entry::SignUp => {
                self.sign_up(&mut v);
                landed = None;
                if !buy && self.dice.chance(0.5) {
                    return;
                }
            }
            Entry::LogIn => {
                self.wait(&mut v, 5, 40);
                v.member = true;
                let traits = self.traits();
                self.identify(&v, traits);
            }
            _ => {}
        }
        if buy {
            self.buy(&mut v, landed);
        } else {
            self.browse(&mut v, landed);
        }
    }

    /// The first page of a visit: the home page, a category or a product. Returns the product.
    fn land(&mut self, v: &mut Visit) -> Option<usize> {
        let referrer = self.dice.weighted_pick(REFERRERS);
        match self.dice.below(100) {
            0..35 => {
                v.path = "/".to_string();
                self.page(v, "Home", "데모샵", referrer);
                None
            }
            35..65 => {
                let (name, slug) = self.shop.catalog.category_label(self.favourite_category());
                v.path = format!("/categories/{slug}");
                self.page(v, "Category", &format!("{name} | 데모샵"), referrer);
                None
            }
            _ => {
                let product = self.pick_product(None);
                v.path = format!("/products/{}", self.shop.catalog.products[product].id);
                let title = format!("{} | 데모샵", self.shop.catalog.products[product].name);
                self.page(v, "Product", &title, referrer);
                self.wait(v, 1, 3);
                let properties = self.shop.catalog.products[product].properties(1);
                self.track(v, "Product Viewed", properties);
                Some(product)
            }
        }
    }

    /// The sign-up form, the identify that links the browser to the member, and `Signed Up`.
    fn sign_up(&mut self, v: &mut Visit) {
        let referrer = if v.path.is_empty() {
            self.dice.weighted_pick(REFERRERS).to_string()
        } else {
            self.wait(v, 10, 90);
            format!("{SHOP_URL}{}", v.path)
        };
        v.path = "/signup".to_string();
        self.page(v, "Sign Up", "회원가입 | 데모샵", &referrer);
        self.wait(v, 40, 180);
        v.member = true;
        self.created_at = v.at;
        let traits = self.traits();
        self.identify(v, traits);
        self.wait(v, 1, 2);
        let method = self.profile.sign_up_method;
        self.track(v, "Signed Up", json!({ "method": method }));
    }

    /// Browsing: a few product views, sometimes a cart, sometimes an abandoned checkout.
    fn browse(&mut self, v: &mut Visit, landed: Option<usize>) {
        let mut cart: Vec<Line> = Vec::new();
        let mut current = landed;
        let mut views = self.dice.geometric(0.5, 8) + usize::from(landed.is_none());
        let cart_intent = if self.persona == Persona::Browser {
            BROWSER_CART
        } else {
            BROWSE_CART
        };
        let mut wanted = 0;
        if self.dice.chance(cart_intent) {
            wanted = 1 + usize::from(self.dice.chance(0.3));
            views += 1;
        }
        loop {
            if let Some(product) = current
                && self.shop.catalog.products[product].in_stock
                && !cart.iter().any(|&(p, _)| p == product)
                && ((cart.len() < wanted && self.dice.chance(0.6)) || self.dice.chance(BROWSE_ADD))
            {
                self.add(v, &mut cart, product);
            }
            if views == 0 {
                break;
            }
            views -= 1;
            let product = self.pick_product(current);
            self.view(v, product);
            current = Some(product);
        }
        if cart.is_empty() {
            return;
        }
        if self.dice.chance(0.15) {
            let line = cart.remove(self.dice.index(cart.len()));
            self.remove(v, line);
        }
        if cart.is_empty() {
            return;
        }
        if self.dice.chance(0.3) {
            self.view_cart(v, &cart);
        }
        if self.dice.chance(BROWSE_CHECKOUT) {
            self.checkout(v, &cart, false);
        }
    }

    /// Buying: views until the wanted number of products is in the cart, then the checkout.
    fn buy(&mut self, v: &mut Visit, landed: Option<usize>) {
        let wanted = match self.dice.below(100) {
            0..65 => 1,
            65..90 => 2,
            _ => 3,
        };
        let mut cart: Vec<Line> = Vec::new();
        let mut current = landed;
        let mut views = 0;
        loop {
            if let Some(product) = current
                && self.shop.catalog.products[product].in_stock
                && !cart.iter().any(|&(p, _)| p == product)
                && (views >= 5 || self.dice.chance(0.7))
            {
                self.add(v, &mut cart, product);
            }
            if cart.len() >= wanted || views >= 12 {
                break;
            }
            let product = self.pick_product(current);
            self.view(v, product);
            current = Some(product);
            views += 1;
        }
        if cart.is_empty() {
            // Twelve views of sold-out products: take the first product in stock.
            let product = (0..self.shop.catalog.products.len())
                .find(|&p| self.shop.catalog.products[p].in_stock)
                .expect("the catalogue has products in stock");
            self.view(v, product);
            self.add(v, &mut cart, product);
        }
        if self.dice.chance(0.08) {
            let product = self.pick_product(current);
            if self.shop.catalog.products[product].in_stock && !cart.iter().any(|&(p, _)| p == product) {
                self.view(v, product);
                self.add(v, &mut cart, product);
                let line = cart.pop().expect("just added");
                self.remove(v, line);
            }
        }
        if self.dice.chance(0.3) {
            self.view_cart(v, &cart);
        }
        self.checkout(v, &cart, true);
    }

    fn view(&mut self, v: &mut Visit, product: usize) {
        self.wait(v, 10, 90);
        let p = &self.shop.catalog.products[product];
        v.path = format!("/products/{}", p.id);
        let properties = p.properties(1);
        self.track(v, "Product Viewed", properties);
    }

    fn add(&mut self, v: &mut Visit, cart: &mut Vec<Line>, product: usize) {
        self.wait(v, 5, 40);
        let p = &self.shop.catalog.products[product];
        let quantity = if p.multi_buy && self.dice.chance(0.2) {
            self.dice.count(2, 3) as u32
        } else {
            1
        };
        cart.push((product, quantity));
        let properties = p.properties(quantity);
        self.track(v, "Product Added", properties);
    }

    fn remove(&mut self, v: &mut Visit, (product, quantity): Line) {
        self.wait(v, 5, 40);
        let properties = self.shop.catalog.products[product].properties(quantity);
        self.track(v, "Product Removed", properties);
    }

    fn view_cart(&mut self, v: &mut Visit, cart: &[Line]) {
        self.wait(v, 5, 30);
        v.path = "/cart".to_string();
        let products = self.line_items(cart);
        self.track(v, "Cart Viewed", json!({ "products": products }));
    }

    /// The checkout. An abandoned one may get as far as the payment window; a completed one ends
    /// in `Order Completed`, sometimes with a coupon, and may later be reviewed or refunded.
    fn checkout(&mut self, v: &mut Visit, cart: &[Line], complete: bool) {
        self.checkouts += 1;
        let order_id = format!("O{}-{:07}{:03}", self.seoul_date(v.at), self.index, self.checkouts);
        let subtotal: u64 = cart.iter().map(|&(p, q)| self.line_total(p, q)).sum();
        let products = self.line_items(cart);

        self.wait(v, 10, 60);
        v.path = "/checkout".to_string();
        self.track(
            v,
            "Checkout Started",
            json!({
                "order_id": order_id,
                "value": subtotal,
                "revenue": subtotal,
                "currency": "KRW",
                "products": products,
            }),
        );
        // A Korean checkout is one page: address, coupon and payment, then the payment window.
        let coupon = match (complete, v.member) {
            (false, _) => None,
            (true, true) => self.coupon(subtotal, v.at),
            (true, false) => self.seasonal_coupon(subtotal, v.at),
        };
        let discount = coupon.map_or(0, |c| c.2);
        if let Some((code, name, discount)) = coupon {
            self.wait(v, 20, 60);
            self.track(
                v,
                "Coupon Applied",
                json!({
                    "order_id": order_id,
                    "coupon_id": code,
                    "coupon_name": name,
                    "discount": discount,
                }),
            );
        }
        if !complete && self.dice.chance(0.7) {
            return;
        }
        self.wait(v, 30, 150);
        let payment = self.dice.weighted_pick(PAYMENT_METHODS);
        self.track(
            v,
            "Checkout Step Completed",
            json!({
                "checkout_id": order_id,
                "step": 1,
                "shipping_method": "택배",
                "payment_method": payment,
            }),
        );
        if !complete {
            // The payment window was closed.
            return;
        }

        self.wait(v, 10, 60);
        v.path = "/order/complete".to_string();
        let total = subtotal - discount;
        let mut properties = json!({
            "order_id": order_id,
            "total": total,
            "revenue": subtotal,
            "discount": discount,
            "currency": "KRW",
            "products": products,
        });
        if let Some((code, _, _)) = coupon {
            properties["coupon"] = code.into();
        }
        let guest_email = (!v.member).then(|| self.profile.email.clone());
        if let Some(email) = &guest_email {
            properties["email"] = email.as_str().into();
        }
        self.emit(v, "track", "event", "Order Completed", properties, guest_email);
        self.orders += 1;
        let order_at = v.at;

        if v.member && self.persona == Persona::Loyal && self.orders >= 3 && !self.vip {
            self.vip = true;
            self.tags.push("vip");
            self.wait(v, 1, 5);
            let tags = json!({ "tags": self.tags });
            self.identify(v, tags);
        }
        if v.member {
            self.reviews(v, cart, order_at);
        }
        if self.dice.chance(0.03) {
            self.refund(v, cart, &order_id, total, order_at);
        }
    }

    /// A coupon for a member's order, if they use one.
    fn coupon(&mut self, subtotal: u64, at: i64) -> Option<(&'static str, &'static str, u64)> {
        if self.orders == 0 && self.dice.chance(0.4) {
            return Some(("WELCOME10", "신규 회원 10% 할인", percent(subtotal, 10)));
        }
        if self.vip && self.dice.chance(0.3) {
            return Some(("VIP15", "VIP 15% 할인", percent(subtotal, 15)));
        }
        let birthday_month = self.profile.birthday.month();
        if self.seoul_month(at) == birthday_month && self.dice.chance(0.4) {
            return Some(("BIRTHDAY20", "생일 축하 20% 할인", percent(subtotal, 20).min(20_000)));
        }
        self.seasonal_coupon(subtotal, at)
    }

    /// The season's 5,000 won coupon for orders from 30,000 won, which anyone may use.
    fn seasonal_coupon(&mut self, subtotal: u64, at: i64) -> Option<(&'static str, &'static str, u64)> {
        if subtotal < 30_000 || !self.dice.chance(0.08) {
            return None;
        }
        let (code, name) = match self.seoul_month(at) {
            3..=5 => ("SPRING5000", "봄맞이 5,000원 할인"),
            6..=8 => ("SUMMER5000", "여름 5,000원 할인"),
            9..=11 => ("AUTUMN5000", "가을 5,000원 할인"),
            _ => ("WINTER5000", "겨울 5,000원 할인"),
        };
        Some((code, name, 5_000))
    }

    /// Reviews of some of the bought products, a few days after the order.
    fn reviews(&mut self, v: &Visit, cart: &[Line], order_at: i64) {
        for &(product, _) in cart {
            if !self.dice.chance(0.1) {
                continue;
            }
            let at = self.rhythm_time(order_at + 3 * DAY, order_at + 10 * DAY);
            let p = &self.shop.catalog.products[product];
            let later = Visit {
                at,
                device: v.device,
                member: true,
                path: format!("/products/{}", p.id),
            };
            let rating = 1 + self.dice.weighted(&[3, 4, 10, 28, 55]);
            let body = *self.dice.pick(REVIEWS[rating - 1]);
            let review_id = format!("R{:07}{:03}", self.index, self.serial);
            self.track(
                &later,
                "Product Reviewed",
                json!({
                    "product_id": p.id,
                    "review_id": review_id,
                    "review_body": body,
                    "rating": rating,
                }),
            );
        }
    }

    /// A full refund, or for a multi-line order sometimes one line, a few days later. A guest
    /// order's refund names the buyer's email, like the order did.
    fn refund(&mut self, v: &Visit, cart: &[Line], order_id: &str, total: u64, order_at: i64) {
        let at = self.rhythm_time(order_at + 2 * DAY, order_at + 10 * DAY);
        let later = Visit {
            at,
            device: v.device,
            member: v.member,
            path: "/mypage/orders".to_string(),
        };
        let (lines, amount) = if cart.len() > 1 && self.dice.chance(0.5) {
            let (product, quantity) = cart[self.dice.index(cart.len())];
            let subtotal: u64 = cart.iter().map(|&(p, q)| self.line_total(p, q)).sum();
            // The refunded line carries its share of the order's discount.
            let amount = self.line_total(product, quantity) * total / subtotal;
            (vec![(product, quantity)], amount)
        } else {
            (cart.to_vec(), total)
        };
        let products = self.line_items(&lines);
        let properties = json!({ "order_id": order_id, "total": amount, "currency": "KRW", "products": products });
        let guest_email = (!v.member).then(|| self.profile.email.clone());
        self.emit(&later, "track", "event", "Order Refunded", properties, guest_email);
    }

    /// A category to look at: a favourite most of the time.
    fn favourite_category(&mut self) -> usize {
        if self.dice.chance(0.8) {
            self.dice.weighted_pick(&self.favourites)
        } else {
            self.dice
                .weighted(&self.shop.affinity[usize::from(!self.profile.female)])
        }
    }

    /// The next product to look at, often from the category of the current one, and rarely
    /// the current one again.
    fn pick_product(&mut self, current: Option<usize>) -> usize {
        let category = match current {
            Some(p) if self.dice.chance(0.4) => self.shop.catalog.products[p].top,
            _ => self.favourite_category(),
        };
        let mut product = self.shop.catalog.pick(&mut self.dice, category);
        for _ in 0..3 {
            if Some(product) != current {
                break;
            }
            product = self.shop.catalog.pick(&mut self.dice, category);
        }
        product
    }

    fn line_total(&self, product: usize, quantity: u32) -> u64 {
        u64::from(self.shop.catalog.products[product].unit_price()) * u64::from(quantity)
    }

    fn line_items(&self, cart: &[Line]) -> Value {
        cart.iter()
            .map(|&(product, quantity)| self.shop.catalog.products[product].line_item(quantity))
            .collect()
    }

    /// The member's traits as the shop knows them at sign-up.
    fn traits(&self) -> Value {
        let p = &self.profile;
        json!({
            "email": p.email,
            "name": p.name,
            "phone": p.phone,
            "gender": if p.female { "female" } else { "male" },
            "birthday": p.birthday.to_string(),
            "created_at": timestamp(self.created_at),
            "address": { "city": p.city, "country": "KR" },
            "tags": self.tags,
            "email_consent": p.email_consent,
            "sms_consent": p.sms_consent,
            "kakao_consent": p.kakao_consent,
            "demo_persona": self.persona.as_str(),
        })
    }

    /// Moves the visit's clock on by `lo..hi` seconds.
    fn wait(&mut self, v: &mut Visit, lo: i64, hi: i64) {
        v.at += self.dice.between(lo * SECOND, hi * SECOND);
    }

    fn seoul_date(&self, at: i64) -> String {
        let date = utc(at + self.shop.offset);
        format!("{:02}{:02}{:02}", date.year() % 100, date.month(), date.day())
    }

    fn seoul_month(&self, at: i64) -> u32 {
        utc(at + self.shop.offset).month()
    }

    fn page(&mut self, v: &Visit, name: &str, title: &str, referrer: &str) {
        let properties = json!({
            "path": v.path,
            "url": format!("{SHOP_URL}{}", v.path),
            "title": title,
            "referrer": referrer,
        });
        self.emit(v, "page", "name", name, properties, None);
    }

    fn track(&mut self, v: &Visit, event: &str, properties: Value) {
        self.emit(v, "track", "event", event, properties, None);
    }

    fn identify(&mut self, v: &Visit, traits: Value) {
        self.serial += 1;
        let mut message = self.envelope(v, "identify", None);
        message.insert("traits".into(), traits);
        self.push(v.at, message);
    }

    /// A `track` or `page` message. A guest order also names the buyer's email in the context.
    fn emit(&mut self, v: &Visit, kind: &str, name_key: &str, name: &str, properties: Value, email: Option<String>) {
        self.serial += 1;
        let mut message = self.envelope(v, kind, email);
        message.insert(name_key.into(), name.into());
        message.insert("properties".into(), properties);
        self.push(v.at, message);
    }

    /// The fields every message has: type, ids, timestamp and context.
    fn envelope(&self, v: &Visit, kind: &str, email: Option<String>) -> Map<String, Value> {
        let device = &self.devices[v.device];
        let mut context = device.context.clone();
        context["page"] = json!({ "path": v.path, "url": format!("{SHOP_URL}{}", v.path) });
        if let Some(email) = email {
            context["traits"] = json!({ "email": email });
        }
        let mut message = Map::new();
        message.insert("type".into(), kind.into());
        if v.member {
            message.insert("userId".into(), self.user_id.as_str().into());
        }
        message.insert("anonymousId".into(), device.anonymous_id.as_str().into());
        let id = rng::uuid(self.shop.seed, self.index as u64, self.serial);
        message.insert("messageId".into(), id.into());
        message.insert("timestamp".into(), timestamp(v.at).into());
        message.insert("context".into(), context);
        message
    }

    fn push(&mut self, at: i64, message: Map<String, Value>) {
        self.messages.push(Pending {
            at,
            serial: self.serial,
            message: Value::Object(message),
        });
    }

    /// Hands the messages to the sink in time order, dropping any that fall outside the window
    /// (reviews and refunds due after its end), and returns the emptied buffer.
    fn flush(mut self, sink: &mut dyn FnMut(Value)) -> Vec<Pending> {
        self.messages.sort_unstable_by_key(|m| (m.at, m.serial));
        for pending in self.messages.drain(..) {
            if (self.shop.start..=self.shop.end).contains(&pending.at) {
                sink(pending.message);
            }
        }
        self.messages
    }
}

/// `percent`% of an amount, rounded down to 10 won.
fn percent(amount: u64, percent: u64) -> u64 {
    amount * percent / 100 / 10 * 10
}

/// Unix milliseconds as RFC 3339 UTC with milliseconds: `2025-03-14T05:12:33.123Z`.
pub(super) fn timestamp(ms: i64) -> String {
    utc(ms).to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Unix milliseconds as a date-time (add Seoul's offset first to read its wall clock).
fn utc(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).expect("demo times are near the present")
}
