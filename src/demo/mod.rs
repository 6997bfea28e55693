// PLACEHOLDER until the generator lands (helper-1 overwrites this file).
use chrono::{DateTime, Utc};
pub struct DemoOptions {
    pub seed: u64,
    pub customers: usize,
    pub end: DateTime<Utc>,
    pub months: u32,
}
impl DemoOptions {
    pub fn new(customers: usize, end: DateTime<Utc>) -> Self {
        DemoOptions {
            seed: 42,
            customers,
            end,
            months: 12,
        }
    }
}
pub fn products(_opts: &DemoOptions) -> Vec<serde_json::Value> {
    Vec::new()
}
pub fn generate(_opts: &DemoOptions, _sink: &mut dyn FnMut(serde_json::Value)) {}
