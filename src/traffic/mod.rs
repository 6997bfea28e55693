//! Web analytics' reading of the events (CONTRACT §8): where a visit came from (`source`: the
//! UTM parameters, the referrer's site — Korean portals, blogs, cafes, shopping, messengers and
//! in-app browsers as data in `static/traffic/sources.toml` —, ad click ids as paid traffic, the
//! shop's own host as no source) and what the visitor used (`agent`: device class, browser, OS,
//! bots left out). Pure: the reports' follower (still to come) calls it for each visit's first
//! event and each page view.

pub mod agent;
pub mod source;

pub use agent::{Agent, Agents, Device};
pub use source::{Channel, Landing, Source, Utm, classify};
