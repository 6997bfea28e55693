//! Web analytics' reading of the events (CONTRACT §8): where a visit came from (`source`: the
//! UTM parameters, the referrer's site — Korean portals, blogs, cafes, shopping, messengers and
//! in-app browsers as data in `static/traffic/sources.toml` —, ad click ids as paid traffic, the
//! shop's own host as no source), what the visitor used (`agent`: device class, browser, OS,
//! bots left out), and a visitor's events cut into visits (`visit`: the 30-minute rule, bounces,
//! duration, entry and exit pages, orders). Pure: the reports' follower (`crate::reports`) feeds it
//! each visitor's events.

pub mod agent;
pub mod source;
pub mod visit;

pub use agent::{Agent, Agents, Device};
pub use source::{Channel, Landing, Source, Utm, classify};
pub use visit::{Hit, Visit, visits};
