//! What a user agent says: the device class, the browser and the OS (woothee's dataset), and
//! whether it is a bot or a headless browser (isbot's list, and woothee's crawlers). Reports leave
//! bots out (CONTRACT §8). Parsing costs tens of microseconds, so a shop's few thousand distinct
//! agents are parsed once each (`Agents`).

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Device {
    Desktop,
    Mobile,
    Tablet,
}

impl Device {
    pub fn as_str(self) -> &'static str {
        match self {
            Device::Desktop => "desktop",
            Device::Mobile => "mobile",
            Device::Tablet => "tablet",
        }
    }
}

/// A user agent, read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Agent {
    pub device: Device,
    /// "Chrome", "Safari", "Samsung Internet", "Whale", "KakaoTalk in-app", … ("Unknown").
    pub browser: String,
    /// "Windows", "macOS", "iOS", "Android", … ("Unknown").
    pub os: String,
    pub bot: bool,
}

static BOTS: LazyLock<isbot::Bots> = LazyLock::new(isbot::Bots::default);
static PARSER: LazyLock<woothee::parser::Parser> = LazyLock::new(woothee::parser::Parser::new);

/// Browsers woothee does not name: (token in the agent, name), first match wins. In-app browsers
/// come first: their agents also carry the engine's browser.
const NAMED: [(&str, &str); 10] = [
    ("KAKAOTALK", "KakaoTalk in-app"),
    ("NAVER(inapp", "Naver app"),
    ("Instagram", "Instagram in-app"),
    ("FBAN/", "Facebook in-app"),
    ("FB_IAB/", "Facebook in-app"),
    ("BAND/", "Band in-app"),
    (" Line/", "LINE in-app"),
    ("Whale/", "Whale"),
    ("SamsungBrowser/", "Samsung Internet"),
    ("DaumApps", "Daum app"),
];

fn os_name(family: &str) -> String {
    match family {
        f if f.starts_with("Windows") => "Windows".into(),
        "Mac OSX" => "macOS".into(),
        "iPhone" | "iPad" | "iPod" | "iOS" => "iOS".into(),
        "Android" => "Android".into(),
        "Linux" => "Linux".into(),
        "ChromeOS" => "ChromeOS".into(),
        "UNKNOWN" | "" => "Unknown".into(),
        other => other.to_string(),
    }
}

/// Reads one user agent.
pub fn parse(ua: &str) -> Agent {
    let bot = BOTS.is_bot(ua);
    let Some(w) = PARSER.parse(ua) else {
        return Agent {
            device: Device::Desktop,
            browser: "Unknown".into(),
            os: "Unknown".into(),
            bot,
        };
    };
    let tablet = ua.contains("iPad") || (ua.contains("Android") && !ua.contains("Mobile")) || ua.contains("Tablet");
    let device = match w.category {
        "smartphone" | "mobilephone" if tablet => Device::Tablet,
        "smartphone" | "mobilephone" => Device::Mobile,
        _ => Device::Desktop,
    };
    let browser = NAMED
        .iter()
        .find(|(token, _)| ua.contains(token))
        .map(|(_, name)| name.to_string())
        .unwrap_or_else(|| match w.name {
            "UNKNOWN" | "" => "Unknown".into(),
            "Webview" => "In-app".into(),
            other => other.to_string(),
        });
    Agent {
        device,
        browser,
        os: os_name(w.os),
        bot: bot || w.category == "crawler",
    }
}

/// Agents read once each: the store of a shop's distinct user agents (emptied past 50,000).
#[derive(Default)]
pub struct Agents {
    seen: Mutex<HashMap<String, Arc<Agent>>>,
}

impl Agents {
    const MAX: usize = 50_000;

    pub fn get(&self, ua: &str) -> Arc<Agent> {
        if let Some(a) = self.seen.lock().expect("not poisoned").get(ua) {
            return a.clone();
        }
        let a = Arc::new(parse(ua));
        let mut seen = self.seen.lock().expect("not poisoned");
        if seen.len() >= Self::MAX {
            seen.clear();
        }
        seen.insert(ua.to_string(), a.clone());
        a
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn devices_browsers_and_systems_korean_shoppers_use() {
        for (ua, device, browser, os) in [
            (
                "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
                Device::Desktop,
                "Chrome",
                "Windows",
            ),
            (
                "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 Edg/120.0.0.0",
                Device::Desktop,
                "Edge",
                "Windows",
            ),
            (
                "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Safari/605.1.15",
                Device::Desktop,
                "Safari",
                "macOS",
            ),
            (
                "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1",
                Device::Mobile,
                "Safari",
                "iOS",
            ),
            (
                "Mozilla/5.0 (iPad; CPU OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1",
                Device::Tablet,
                "Safari",
                "iOS",
            ),
            (
                "Mozilla/5.0 (Linux; Android 13; SM-G991N) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/23.0 Chrome/115.0.0.0 Mobile Safari/537.36",
                Device::Mobile,
                "Samsung Internet",
                "Android",
            ),
            (
                "Mozilla/5.0 (Linux; Android 13; SM-X710N) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
                Device::Tablet,
                "Chrome",
                "Android",
            ),
            (
                "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Whale/3.24.223.21 Safari/537.36",
                Device::Desktop,
                "Whale",
                "Windows",
            ),
            (
                "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 KAKAOTALK 10.4.5",
                Device::Mobile,
                "KakaoTalk in-app",
                "iOS",
            ),
            (
                "Mozilla/5.0 (Linux; Android 14; SM-S918N; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/120.0 Mobile Safari/537.36 NAVER(inapp; search; 2000; 12.1.3)",
                Device::Mobile,
                "Naver app",
                "Android",
            ),
        ] {
            let a = parse(ua);
            assert_eq!(
                (a.device, a.browser.as_str(), a.os.as_str(), a.bot),
                (device, browser, os, false),
                "{ua}"
            );
        }
    }

    #[test]
    fn bots_and_headless_browsers_are_bots() {
        for ua in [
            "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
            "Mozilla/5.0 (compatible; Yeti/1.1; +http://naver.me/spd)",
            "Mozilla/5.0 (compatible; Daum/4.1; +http://cs.daum.net/faq/15/4118.html?faqId=28966)",
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/120.0.0.0 Safari/537.36",
            "curl/8.5.0",
            "python-requests/2.31.0",
        ] {
            assert!(parse(ua).bot, "{ua}");
        }
        let agents = Agents::default();
        let a = agents.get("curl/8.5.0");
        assert!(Arc::ptr_eq(&a, &agents.get("curl/8.5.0")), "read once");
    }
}
