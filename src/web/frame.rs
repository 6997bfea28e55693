//! The frame every signed-in page shares: who is signed in, the navigation, the form token.

use super::Staff;
use crate::i18n::Catalog;

/// The frame every signed-in page shares.
pub struct Frame {
    pub t: &'static Catalog,
    pub lang: &'static str,
    pub user: String,
    /// The role's name in the staff member's language.
    pub role: String,
    pub csrf: String,
    pub active: &'static str,
    pub path: String,
    pub can_change: bool,
}

impl Frame {
    pub fn new(staff: &Staff, active: &'static str) -> Frame {
        Frame {
            t: staff.t,
            lang: staff.lang.code(),
            user: staff.user.name.clone(),
            role: staff
                .t
                .get(&format!(
                    "settings.role_{}",
                    format!("{:?}", staff.user.role).to_lowercase()
                ))
                .to_string(),
            csrf: staff.session.csrf.clone(),
            active,
            path: staff.path.clone(),
            can_change: staff.can_change(),
        }
    }

    /// The navigation: (key, href, label, built yet).
    pub fn nav(&self) -> Vec<(&'static str, &'static str, &'static str, bool)> {
        [
            ("dashboard", "/", true),
            ("customers", "/customers", true),
            ("segments", "/segments", true),
            ("search", "/search", true),
            ("products", "/products", true),
            ("orders", "/orders", true),
            ("coupons", "/coupons", true),
            ("campaigns", "/campaigns", true),
            ("messages", "/messages", true),
            ("reports", "/reports", true),
            ("import", "/import", true),
            ("settings", "/settings", true),
        ]
        .into_iter()
        .map(|(k, href, built)| (k, href, self.t.get(&format!("nav.{k}")), built))
        .collect()
    }
}
