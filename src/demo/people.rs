//! Who the demo shop's members are: names, contact details, cities, consents and devices.

use chrono::NaiveDate;

use super::rng::Dice;

/// Common Korean surnames with their romanisation and rough share per thousand people.
const SURNAMES: &[((&str, &str), u32)] = &[
    (("김", "kim"), 215),
    (("이", "lee"), 147),
    (("박", "park"), 84),
    (("최", "choi"), 47),
    (("정", "jung"), 43),
    (("강", "kang"), 23),
    (("조", "cho"), 21),
    (("윤", "yoon"), 20),
    (("장", "jang"), 20),
    (("임", "lim"), 17),
    (("한", "han"), 15),
    (("오", "oh"), 15),
    (("서", "seo"), 14),
    (("신", "shin"), 14),
    (("권", "kwon"), 14),
    (("황", "hwang"), 13),
    (("안", "ahn"), 13),
    (("송", "song"), 13),
    (("전", "jeon"), 11),
    (("홍", "hong"), 11),
    (("유", "yoo"), 11),
    (("고", "ko"), 9),
    (("문", "moon"), 9),
    (("양", "yang"), 9),
    (("손", "son"), 9),
    (("배", "bae"), 8),
    (("백", "baek"), 8),
    (("허", "heo"), 6),
    (("남", "nam"), 6),
    (("노", "noh"), 5),
];

const FEMALE_NAMES: &[(&str, &str)] = &[
    ("서연", "seoyeon"),
    ("서윤", "seoyun"),
    ("지우", "jiwoo"),
    ("서현", "seohyun"),
    ("민서", "minseo"),
    ("하은", "haeun"),
    ("하윤", "hayun"),
    ("윤서", "yunseo"),
    ("지유", "jiyu"),
    ("채원", "chaewon"),
    ("지민", "jimin"),
    ("수아", "sua"),
    ("지아", "jia"),
    ("다은", "daeun"),
    ("은서", "eunseo"),
    ("예은", "yeeun"),
    ("수빈", "subin"),
    ("소연", "soyeon"),
    ("지원", "jiwon"),
    ("유진", "yujin"),
    ("민지", "minji"),
    ("혜진", "hyejin"),
    ("은지", "eunji"),
    ("수진", "sujin"),
    ("지현", "jihyun"),
    ("미영", "miyoung"),
    ("현정", "hyunjung"),
    ("은영", "eunyoung"),
    ("지영", "jiyoung"),
    ("예린", "yerin"),
];

const MALE_NAMES: &[(&str, &str)] = &[
    ("민준", "minjun"),
    ("서준", "seojun"),
    ("도윤", "doyun"),
    ("예준", "yejun"),
    ("시우", "siwoo"),
    ("하준", "hajun"),
    ("지호", "jiho"),
    ("주원", "juwon"),
    ("지후", "jihoo"),
    ("준우", "junwoo"),
    ("준서", "junseo"),
    ("건우", "gunwoo"),
    ("현우", "hyunwoo"),
    ("우진", "woojin"),
    ("선우", "sunwoo"),
    ("연우", "yeonwoo"),
    ("정우", "jungwoo"),
    ("승우", "seungwoo"),
    ("승현", "seunghyun"),
    ("동현", "donghyun"),
    ("성민", "sungmin"),
    ("지훈", "jihoon"),
    ("재현", "jaehyun"),
    ("태민", "taemin"),
    ("영호", "youngho"),
    ("상훈", "sanghoon"),
    ("진우", "jinwoo"),
    ("민호", "minho"),
    ("준혁", "junhyuk"),
    ("동욱", "dongwook"),
];

const ENGLISH_FEMALE: &[&str] = &[
    "Emma", "Olivia", "Sophia", "Grace", "Emily", "Chloe", "Hannah", "Sarah", "Julia", "Amelia",
];
const ENGLISH_MALE: &[&str] = &[
    "James", "Daniel", "Michael", "David", "Ryan", "Lucas", "Noah", "Ethan", "Samuel", "Thomas",
];
const ENGLISH_SURNAMES: &[&str] = &[
    "Smith", "Johnson", "Brown", "Miller", "Wilson", "Taylor", "Anderson", "Clark", "Lewis", "Walker", "Kim", "Lee",
    "Park", "Choi",
];

/// Mail domains under the reserved `.example` top-level domain, so no demo address can ever
/// receive mail, weighted like a Korean shop's customer base.
const MAIL_DOMAINS: &[(&str, u32)] = &[
    ("naver.example", 45),
    ("gmail.example", 30),
    ("daum.example", 10),
    ("kakao.example", 8),
    ("hanmail.example", 4),
    ("icloud.example", 3),
];

/// Cities weighted roughly by population.
const CITIES: &[(&str, u32)] = &[
    ("서울", 220),
    ("부산", 80),
    ("인천", 60),
    ("대구", 50),
    ("수원", 40),
    ("대전", 30),
    ("광주", 30),
    ("성남", 30),
    ("고양", 30),
    ("용인", 30),
    ("화성", 20),
    ("울산", 20),
    ("창원", 20),
    ("청주", 15),
    ("전주", 15),
    ("천안", 15),
    ("제주", 12),
    ("포항", 10),
    ("김해", 10),
    ("세종", 8),
];

const SIGN_UP_METHODS: &[(&str, u32)] = &[("kakao", 45), ("naver", 25), ("email", 25), ("apple", 5)];

const MOBILE_AGENTS: &[(&str, u32)] = &[
    (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
        30,
    ),
    (
        "Mozilla/5.0 (Linux; Android 14; SM-S918N) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/25.0 Chrome/121.0.0.0 Mobile Safari/537.36",
        25,
    ),
    (
        "Mozilla/5.0 (Linux; Android 14; SM-S921N) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Mobile Safari/537.36",
        20,
    ),
    (
        "Mozilla/5.0 (Linux; Android 13; SM-A536N) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/123.0.0.0 Mobile Safari/537.36 NAVER(inapp; search; 2000; 12.5.1)",
        10,
    ),
    (IN_APP_AGENT, 15),
];

const DESKTOP_AGENTS: &[(&str, u32)] = &[
    (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
        55,
    ),
    (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36 Edg/124.0.0.0",
        15,
    ),
    (
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15",
        30,
    ),
];

/// The KakaoTalk in-app browser: it keeps its own cookies, so a purchase from a link in a chat
/// often happens as a guest.
pub(super) const IN_APP_AGENT: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 KAKAOTALK 10.6.5";

/// A browser a customer uses, with the anonymous id analytics.js keeps in its cookie.
pub(super) struct Device {
    pub anonymous_id: String,
    /// The message context of this browser (library, user agent, IP, locale), without the page.
    pub context: serde_json::Value,
}

/// A browser's user agent: mobile three times in four.
pub(super) fn user_agent(dice: &mut Dice) -> &'static str {
    if dice.chance(0.75) {
        dice.weighted_pick(MOBILE_AGENTS)
    } else {
        dice.weighted_pick(DESKTOP_AGENTS)
    }
}

/// A private or documentation address, never a routable public one.
pub(super) fn ip_address(dice: &mut Dice) -> String {
    if dice.chance(0.1) {
        format!("192.0.2.{}", 1 + dice.below(254))
    } else {
        format!("10.{}.{}.{}", dice.below(256), dice.below(256), 1 + dice.below(254))
    }
}

/// A member's profile: what the shop learns at sign-up.
pub(super) struct Profile {
    pub name: String,
    pub email: String,
    pub phone: String,
    pub female: bool,
    pub birthday: NaiveDate,
    pub city: &'static str,
    pub email_consent: bool,
    pub sms_consent: bool,
    pub kakao_consent: bool,
    pub tags: Vec<&'static str>,
    pub sign_up_method: &'static str,
}

impl Profile {
    /// Makes up a member. `index` makes the email and phone number unique; `year` is the year
    /// the data ends in, to derive birthdays from ages.
    pub fn new(dice: &mut Dice, index: usize, year: i32) -> Profile {
        let female = dice.chance(0.68);
        let (name, local) = if dice.chance(0.1) {
            let first = *dice.pick(if female { ENGLISH_FEMALE } else { ENGLISH_MALE });
            let last = *dice.pick(ENGLISH_SURNAMES);
            let local = match dice.below(3) {
                0 => format!("{}.{}", first, last),
                1 => format!("{}{}", &first[..1], last),
                _ => first.to_string(),
            };
            (format!("{first} {last}"), local.to_lowercase())
        } else {
            let (surname, surname_roman) = dice.weighted_pick(SURNAMES);
            let (given, given_roman) = *dice.pick(if female { FEMALE_NAMES } else { MALE_NAMES });
            let local = match dice.below(3) {
                0 => format!("{given_roman}.{surname_roman}"),
                1 => format!("{surname_roman}{given_roman}"),
                _ => given_roman.to_string(),
            };
            (format!("{surname}{given}"), local)
        };
        // The local part ends in a letter and the index follows it, so addresses are unique.
        let email = format!("{local}{index}@{}", dice.weighted_pick(MAIL_DOMAINS));

        let email_consent = dice.chance(0.6);
        let mut tags = Vec::new();
        if email_consent && dice.chance(0.6) {
            tags.push("newsletter");
        }
        if dice.chance(0.15) {
            tags.push("app_user");
        }
        if dice.chance(0.05) {
            tags.push("referral");
        }
        if dice.chance(0.015) {
            tags.push("wholesale");
        }

        Profile {
            name,
            email,
            phone: phone_number(index),
            female,
            birthday: birthday(dice, year),
            city: dice.weighted_pick(CITIES),
            email_consent,
            sms_consent: dice.chance(0.4),
            kakao_consent: dice.chance(0.5),
            tags,
            sign_up_method: dice.weighted_pick(SIGN_UP_METHODS),
        }
    }
}

/// A unique mobile number for each index below ten million. The subscriber block starts with 0,
/// which Korean carriers do not hand out, so the numbers reach nobody.
fn phone_number(index: usize) -> String {
    // Multiplying by a number coprime to 10^7 permutes the blocks, so neighbours look unrelated.
    let n = (index as u64 % 10_000_000 * 7_654_321 + 1_234_567) % 10_000_000;
    format!("010-0{:03}-{:04}", n / 10_000, n % 10_000)
}

/// A birthday for an adult customer, mostly aged 22 to 39.
fn birthday(dice: &mut Dice, year: i32) -> NaiveDate {
    let age = if dice.chance(0.6) {
        dice.count(22, 39)
    } else {
        dice.count(18, 64)
    };
    let year = year - age as i32;
    loop {
        let month = dice.count(1, 12) as u32;
        let day = dice.count(1, 31) as u32;
        if let Some(date) = NaiveDate::from_ymd_opt(year, month, day) {
            return date;
        }
    }
}
