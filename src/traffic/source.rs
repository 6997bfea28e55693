//! Where a visit came from (CONTRACT §8): its first event's `utm_source`, else the referrer's site
//! by name (the sites of `static/traffic/sources.toml`) or host, else `Direct`; the shop's own host
//! is not a source. A visit also gets a channel, as GA4's default channel groups put it: paid when
//! the UTM medium says so or the landing URL carries an ad click id (Naver's `NaPm` and `n_*`,
//! Kakao's `kclid`, Google's `gclid`, Microsoft's `msclkid`).

use std::sync::LazyLock;

use serde::{Deserialize, Serialize};

/// The kind of site a source is (GA4's source categories, with a messenger).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    Search,
    Shopping,
    Social,
    Video,
    Messenger,
    Email,
}

/// A visit's channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    Direct,
    OrganicSearch,
    PaidSearch,
    OrganicSocial,
    PaidSocial,
    OrganicShopping,
    PaidShopping,
    OrganicVideo,
    PaidVideo,
    Email,
    Display,
    Affiliates,
    Referral,
    PaidOther,
}

impl Channel {
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Direct => "direct",
            Channel::OrganicSearch => "organic_search",
            Channel::PaidSearch => "paid_search",
            Channel::OrganicSocial => "organic_social",
            Channel::PaidSocial => "paid_social",
            Channel::OrganicShopping => "organic_shopping",
            Channel::PaidShopping => "paid_shopping",
            Channel::OrganicVideo => "organic_video",
            Channel::PaidVideo => "paid_video",
            Channel::Email => "email",
            Channel::Display => "display",
            Channel::Affiliates => "affiliates",
            Channel::Referral => "referral",
            Channel::PaidOther => "paid_other",
        }
    }
}

/// A site of `sources.toml`.
#[derive(Debug, Deserialize)]
pub struct Site {
    pub name: String,
    pub category: Category,
    pub hosts: Vec<String>,
    #[serde(default)]
    pub apps: Vec<String>,
    #[serde(default)]
    pub examples: Vec<String>,
}

#[derive(Deserialize)]
struct File {
    source: Vec<Site>,
}

/// Every known site, as shipped.
pub static SITES: LazyLock<Vec<Site>> = LazyLock::new(|| {
    toml::from_str::<File>(include_str!("../../static/traffic/sources.toml"))
        .expect("static/traffic/sources.toml is valid")
        .source
});

/// How well `pattern` matches `host`: its length when it does (the longest wins).
fn host_match(pattern: &str, host: &str) -> Option<usize> {
    if let Some(name) = pattern.strip_suffix(".*") {
        // google.* : a label `google` followed by a country's domain.
        let labels: Vec<&str> = host.split('.').collect();
        let at = labels.iter().position(|l| *l == name)?;
        return (at + 1 < labels.len() && labels.len() - at <= 3).then_some(pattern.len());
    }
    within(host, pattern).then_some(pattern.len())
}

/// Whether `host` is `domain` or one of its subdomains.
fn within(host: &str, domain: &str) -> bool {
    host.strip_suffix(domain)
        .is_some_and(|rest| rest.is_empty() || rest.ends_with('.'))
}

/// The known site a host belongs to.
pub fn site_of_host(host: &str) -> Option<&'static Site> {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    let mut best: Option<(usize, &Site)> = None;
    for site in SITES.iter() {
        for p in &site.hosts {
            if let Some(score) = host_match(p, &host)
                && best.is_none_or(|(b, _)| score > b)
            {
                best = Some((score, site));
            }
        }
    }
    best.map(|(_, s)| s)
}

/// The known site whose in-app browser this is (KakaoTalk's sends no referrer).
pub fn site_of_app(user_agent: &str) -> Option<&'static Site> {
    SITES
        .iter()
        .find(|s| s.apps.iter().any(|token| user_agent.contains(token.as_str())))
}

/// The UTM parameters of a visit's first event.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Utm {
    pub source: Option<String>,
    pub medium: Option<String>,
    pub campaign: Option<String>,
}

/// What a visit's first event says of where it came from.
#[derive(Debug, Clone, Default)]
pub struct Landing<'a> {
    /// The page's URL (its query may hold UTM parameters and ad click ids).
    pub url: Option<&'a str>,
    pub referrer: Option<&'a str>,
    /// `context.campaign`, as analytics.js and dangol.js send it.
    pub campaign: Utm,
    pub user_agent: Option<&'a str>,
}

/// Where a visit came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    /// `utm_source` as given, a known site's name, a referrer's host, or `Direct`.
    pub name: String,
    pub channel: Channel,
    /// The referrer's host, when it is another site.
    pub referrer: Option<String>,
    pub utm: Utm,
}

/// Ad click ids in a landing URL, and the source each means when nothing else names one.
const CLICK_IDS: [(&str, &str, Category); 12] = [
    ("NaPm", "Naver", Category::Search),
    ("n_media", "Naver", Category::Search),
    ("n_query", "Naver", Category::Search),
    ("n_ad", "Naver", Category::Search),
    ("n_ad_group", "Naver", Category::Search),
    ("n_keyword_id", "Naver", Category::Search),
    ("kclid", "Kakao", Category::Social),
    ("gclid", "Google", Category::Search),
    ("gbraid", "Google", Category::Search),
    ("wbraid", "Google", Category::Search),
    ("gad_source", "Google", Category::Search),
    ("msclkid", "Bing", Category::Search),
];

fn host_of(u: &str) -> Option<String> {
    url::Url::parse(u.trim())
        .ok()
        .and_then(|u| u.host_str().map(|h| h.trim_start_matches("www.").to_ascii_lowercase()))
}

fn is_own(host: &str, own_hosts: &[String]) -> bool {
    own_hosts.iter().any(|o| within(host, o) || within(o, host))
}

/// The channel of a medium the shop wrote into its links (GA4's rules, shortened).
fn channel_of_medium(medium: &str, category: Option<Category>) -> Option<Channel> {
    let m = medium.to_ascii_lowercase();
    let paid = matches!(m.as_str(), "cpc" | "ppc" | "cpv" | "cpa" | "paid" | "retargeting")
        || m.starts_with("paid")
        || m.contains("cpc");
    if paid {
        return Some(match category {
            Some(Category::Search) => Channel::PaidSearch,
            Some(Category::Social | Category::Messenger) => Channel::PaidSocial,
            Some(Category::Shopping) => Channel::PaidShopping,
            Some(Category::Video) => Channel::PaidVideo,
            _ => Channel::PaidOther,
        });
    }
    Some(match m.as_str() {
        "email" | "e-mail" | "e_mail" | "newsletter" => Channel::Email,
        "display" | "banner" | "cpm" | "expandable" | "interstitial" => Channel::Display,
        "affiliate" | "affiliates" => Channel::Affiliates,
        "social" | "sns" | "social-network" | "social-media" | "sm" => Channel::OrganicSocial,
        "organic" => Channel::OrganicSearch,
        "referral" | "link" => Channel::Referral,
        _ => return None,
    })
}

fn organic(category: Category) -> Channel {
    match category {
        Category::Search => Channel::OrganicSearch,
        Category::Shopping => Channel::OrganicShopping,
        Category::Social | Category::Messenger => Channel::OrganicSocial,
        Category::Video => Channel::OrganicVideo,
        Category::Email => Channel::Email,
    }
}

fn paid(category: Category) -> Channel {
    match category {
        Category::Search => Channel::PaidSearch,
        Category::Shopping => Channel::PaidShopping,
        Category::Social | Category::Messenger => Channel::PaidSocial,
        Category::Video => Channel::PaidVideo,
        Category::Email => Channel::Email,
    }
}

/// Where a visit came from, its first event being `l`. `own_hosts`: the shop's hosts (its
/// `shop_url`'s); the page's own host is always one.
pub fn classify(l: &Landing, own_hosts: &[String]) -> Source {
    let page = l.url.and_then(|u| url::Url::parse(u.trim()).ok());
    let query: Vec<(String, String)> = page
        .as_ref()
        .map(|u| u.query_pairs().map(|(k, v)| (k.into_owned(), v.into_owned())).collect())
        .unwrap_or_default();
    let param = |name: &str| {
        query
            .iter()
            .find(|(k, v)| k == name && !v.trim().is_empty())
            .map(|(_, v)| v.trim().to_string())
    };
    let given = |v: &Option<String>| {
        v.as_deref()
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_string)
    };
    let utm = Utm {
        source: given(&l.campaign.source).or_else(|| param("utm_source")),
        medium: given(&l.campaign.medium).or_else(|| param("utm_medium")),
        campaign: given(&l.campaign.campaign).or_else(|| param("utm_campaign")),
    };
    let mut own: Vec<String> = own_hosts
        .iter()
        .map(|h| h.trim_start_matches("www.").to_ascii_lowercase())
        .collect();
    if let Some(h) = page.as_ref().and_then(|u| u.host_str()) {
        own.push(h.trim_start_matches("www.").to_ascii_lowercase());
    }
    let referrer = l.referrer.and_then(host_of).filter(|h| !is_own(h, &own));
    let site = referrer
        .as_deref()
        .and_then(site_of_host)
        .or_else(|| l.user_agent.and_then(site_of_app));
    let click = CLICK_IDS.iter().find(|(p, _, _)| param(p).is_some());
    // The name: the shop's own word first, then the site, the click id's network, the host.
    let utm_site = utm.source.as_deref().and_then(|s| {
        SITES
            .iter()
            .find(|site| site.name.eq_ignore_ascii_case(s) || site.hosts.iter().any(|h| h.split('.').next() == Some(s)))
    });
    let name = utm
        .source
        .clone()
        .or_else(|| site.map(|s| s.name.clone()))
        .or_else(|| click.map(|(_, n, _)| n.to_string()))
        .or_else(|| referrer.clone())
        .unwrap_or_else(|| "Direct".to_string());
    let category = utm_site
        .or(site)
        .map(|s| s.category)
        .or_else(|| click.map(|(_, _, c)| *c));
    let channel = match (&utm.medium, click) {
        (Some(m), _) if channel_of_medium(m, category).is_some() => {
            channel_of_medium(m, category).unwrap_or(Channel::Referral)
        }
        (_, Some(_)) => paid(category.unwrap_or(Category::Search)),
        _ => match (category, &referrer, &utm.source) {
            (Some(c), _, _) => organic(c),
            (None, Some(_), _) | (None, None, Some(_)) => Channel::Referral,
            (None, None, None) => Channel::Direct,
        },
    };
    Source {
        name,
        channel,
        referrer,
        utm,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn from(referrer: &str) -> Source {
        classify(
            &Landing {
                url: Some("https://shop.example/products/1"),
                referrer: Some(referrer),
                ..Landing::default()
            },
            &["shop.example".to_string()],
        )
    }

    #[test]
    fn every_site_s_examples_are_that_site() {
        assert!(SITES.len() >= 25);
        for site in SITES.iter() {
            assert!(!site.examples.is_empty(), "{} has examples", site.name);
            for example in &site.examples {
                let got = match example.strip_prefix("ua:") {
                    Some(ua) => classify(
                        &Landing {
                            url: Some("https://shop.example/"),
                            user_agent: Some(ua),
                            ..Landing::default()
                        },
                        &[],
                    ),
                    None => from(example),
                };
                assert_eq!(got.name, site.name, "{example}");
                assert_eq!(got.channel, organic(site.category), "{example}");
            }
        }
    }

    #[test]
    fn the_longest_host_wins_and_unknown_sites_are_their_host() {
        assert_eq!(from("https://mail.naver.com/read/1").name, "Naver Mail");
        assert_eq!(from("https://m.naver.com/").name, "Naver");
        assert_eq!(from("https://news.google.de/").name, "Google");
        let blog = from("https://www.perfume-review.kr/post/3");
        assert_eq!(
            (blog.name.as_str(), blog.channel),
            ("perfume-review.kr", Channel::Referral)
        );
        assert_eq!(blog.referrer.as_deref(), Some("perfume-review.kr"));
    }

    #[test]
    fn the_shop_s_own_host_is_not_a_source() {
        for own in [
            "https://shop.example/cart",
            "https://www.shop.example/",
            "https://m.shop.example/p/1",
        ] {
            let s = from(own);
            assert_eq!(
                (s.name.as_str(), s.channel, s.referrer),
                ("Direct", Channel::Direct, None),
                "{own}"
            );
        }
        let s = classify(
            &Landing {
                url: Some("https://brand.store/p/1"),
                referrer: Some("https://brand.store/"),
                ..Landing::default()
            },
            &[],
        );
        assert_eq!(s.name, "Direct", "the page's own host, without settings");
    }

    #[test]
    fn utm_comes_first_and_paid_clicks_are_paid() {
        let s = classify(
            &Landing {
                url: Some("https://shop.example/?utm_source=naver&utm_medium=cpc&utm_campaign=winter"),
                referrer: Some("https://search.naver.com/search.naver?query=x"),
                ..Landing::default()
            },
            &[],
        );
        assert_eq!((s.name.as_str(), s.channel), ("naver", Channel::PaidSearch));
        assert_eq!(s.utm.campaign.as_deref(), Some("winter"));
        // context.campaign wins over the URL's.
        let s = classify(
            &Landing {
                url: Some("https://shop.example/?utm_source=a"),
                campaign: Utm {
                    source: Some("newsletter".into()),
                    medium: Some("email".into()),
                    campaign: None,
                },
                ..Landing::default()
            },
            &[],
        );
        assert_eq!((s.name.as_str(), s.channel), ("newsletter", Channel::Email));
        for (url, referrer, name, channel) in [
            (
                "https://shop.example/?NaPm=ct%3Dabc%7Cci%3D0",
                Some("https://search.naver.com/search.naver?query=x"),
                "Naver",
                Channel::PaidSearch,
            ),
            (
                "https://shop.example/?n_media=27758&n_query=candle&n_rank=1",
                None,
                "Naver",
                Channel::PaidSearch,
            ),
            (
                "https://shop.example/?NaPm=ct%3Dabc",
                Some("https://search.shopping.naver.com/search/all"),
                "Naver Shopping",
                Channel::PaidShopping,
            ),
            ("https://shop.example/?kclid=abc", None, "Kakao", Channel::PaidSocial),
            (
                "https://shop.example/?gclid=abc",
                Some("https://www.google.com/"),
                "Google",
                Channel::PaidSearch,
            ),
            ("https://shop.example/?msclkid=abc", None, "Bing", Channel::PaidSearch),
            (
                "https://shop.example/?fbclid=abc",
                Some("https://l.facebook.com/"),
                "Facebook",
                Channel::OrganicSocial,
            ),
        ] {
            let s = classify(
                &Landing {
                    url: Some(url),
                    referrer,
                    ..Landing::default()
                },
                &[],
            );
            assert_eq!((s.name.as_str(), s.channel), (name, channel), "{url}");
        }
    }

    #[test]
    fn no_referrer_is_direct_unless_an_app_says_where() {
        let s = classify(&Landing::default(), &[]);
        assert_eq!((s.name.as_str(), s.channel), ("Direct", Channel::Direct));
        let kakao = "Mozilla/5.0 (Linux; Android 14; SM-S918N; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/120.0 Mobile Safari/537.36;KAKAOTALK 2410430";
        let s = classify(
            &Landing {
                user_agent: Some(kakao),
                ..Landing::default()
            },
            &[],
        );
        assert_eq!((s.name.as_str(), s.channel), ("KakaoTalk", Channel::OrganicSocial));
    }
}
