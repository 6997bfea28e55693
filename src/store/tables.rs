//! Every table of the store, one documented constant each. A name carries a `-N` version:
//! a breaking change gets a new table and a numbered migration in `migrate.rs`.
//! Values are MessagePack records (see `records.rs`) unless the type says otherwise.

use redb::TableDefinition;

/// Table: meta — schema version, bootstrap state.
/// Key: &str; Value: msgpack of the entry's own type.
pub const META: TableDefinition<&str, &[u8]> = TableDefinition::new("meta-1");

/// Table: events — the append-only log.
/// Key: u64 global sequence; Value: `EventRecord`.
pub const EVENTS: TableDefinition<u64, &[u8]> = TableDefinition::new("events-1");

/// Table: customer_events — the per-customer index into the log.
/// Key: (CustomerId, unix millis, sequence); Value: ().
pub const CUSTOMER_EVENTS: TableDefinition<(u64, i64, u64), ()> = TableDefinition::new("customer-events-1");

/// Table: message_ids — dedupe of Segment `messageId`s.
/// Key: messageId; Value: the sequence of the event that carried it.
pub const MESSAGE_IDS: TableDefinition<&str, u64> = TableDefinition::new("message-ids-1");

/// Table: customers.
/// Key: CustomerId; Value: `CustomerRecord`.
pub const CUSTOMERS: TableDefinition<u64, &[u8]> = TableDefinition::new("customers-1");

/// Table: identities — every known key of a person to the customer it belongs to.
/// Key: "u:" user id | "a:" anonymous id | "e:" lower-cased email; Value: CustomerId.
pub const IDENTITIES: TableDefinition<&str, u64> = TableDefinition::new("identities-1");

/// Table: customer_identities — the reverse of `IDENTITIES`, for merges and erasure.
/// Key: (CustomerId, identity key); Value: ().
pub const CUSTOMER_IDENTITIES: TableDefinition<(u64, &str), ()> = TableDefinition::new("customer-identities-1");

/// Table: interests — per customer, per product or category, per kind of touch.
/// Key: (CustomerId, kind: 0 viewed | 1 carted | 2 checkout | 3 purchased, "p:" product id | "c:" category);
/// Value: (count, last time in unix millis).
pub const INTERESTS: TableDefinition<(u64, u8, &str), (u32, i64)> = TableDefinition::new("interests-1");

/// Table: products — the catalogue.
/// Key: product id; Value: `ProductRecord`.
pub const PRODUCTS: TableDefinition<&str, &[u8]> = TableDefinition::new("products-1");

/// Table: product_skus — SKU to product id, for events and order lines that name only a SKU.
/// Key: sku; Value: product id.
pub const PRODUCT_SKUS: TableDefinition<&str, &str> = TableDefinition::new("product-skus-1");

/// Table: orders.
/// Key: order id; Value: `OrderRecord`.
pub const ORDERS: TableDefinition<&str, &[u8]> = TableDefinition::new("orders-1");

/// Table: customer_orders — a customer's orders in time order, with what each is still worth.
/// Key: (CustomerId, placed at millis, order id); Value: the order's total less its refunds, so the
/// nightly analysis reads every purchase without decoding an order.
pub const CUSTOMER_ORDERS: TableDefinition<(u64, i64, &str), f64> = TableDefinition::new("customer-orders-2");

/// The first version of `CUSTOMER_ORDERS`, without the amount; migration 2 replaces it.
pub const CUSTOMER_ORDERS_V1: TableDefinition<(u64, i64, &str), ()> = TableDefinition::new("customer-orders-1");

/// Table: orders_by_time — all orders in time order, for lists, reports and segment windows.
/// Key: (placed at millis, order id); Value: (CustomerId, the order's total less its refunds), so a
/// window of orders is read without decoding an order.
pub const ORDERS_BY_TIME: TableDefinition<(i64, &str), (u64, f64)> = TableDefinition::new("orders-by-time-2");

/// The first version of `ORDERS_BY_TIME`, without customer and amount; migration 4 replaces it.
pub const ORDERS_BY_TIME_V1: TableDefinition<(i64, &str), ()> = TableDefinition::new("orders-by-time-1");

/// Table: api_keys — admin and write keys, by the SHA-256 of the key.
/// Key: hex SHA-256; Value: `ApiKeyRecord`.
pub const API_KEYS: TableDefinition<&str, &[u8]> = TableDefinition::new("api-keys-1");

/// Table: users — console users.
/// Key: user name; Value: `UserRecord`.
pub const USERS: TableDefinition<&str, &[u8]> = TableDefinition::new("users-1");

/// Table: sessions — signed-in console sessions, by the SHA-256 of the cookie's secret.
/// Key: hex SHA-256; Value: `SessionRecord`.
pub const SESSIONS: TableDefinition<&str, &[u8]> = TableDefinition::new("sessions-1");

/// Table: login_failures — failed sign-ins per user name, to slow and then lock guessing.
/// Key: user name (lower-cased); Value: `LoginFailures`.
pub const LOGIN_FAILURES: TableDefinition<&str, &[u8]> = TableDefinition::new("login-failures-1");

/// Table: rollups — shop-wide counts per 15 minutes, kept at write time, for dashboards.
/// Key: unix millis / 900,000 (15-minute bucket, UTC); Value: `Rollup`.
pub const ROLLUPS: TableDefinition<i64, &[u8]> = TableDefinition::new("rollups-1");

/// Table: product_stats — per product, how often and by how many customers it was viewed, carted,
/// checked out and bought; kept at write time with the interests.
/// Key: product id; Value: `ProductStats`.
pub const PRODUCT_STATS: TableDefinition<&str, &[u8]> = TableDefinition::new("product-stats-1");

/// Table: product_days — per UTC day and product, touches of each kind (viewed, carted, checkout,
/// purchased), kept at write time; bestsellers and most viewed over 1, 7 and 30 days read it.
/// Key: (days since 1970-01-01 UTC, product id); Value: (viewed, carted, checkout, purchased).
pub const PRODUCT_DAYS: TableDefinition<(i32, &str), (u32, u32, u32, u32)> = TableDefinition::new("product-days-1");

/// Table: recommend — the recommender's model as of its last nightly build (derived: rebuilt from
/// orders and interests). Key: `"model"`; Value: `recommend::ModelFile` (compact).
pub const RECOMMEND: TableDefinition<&str, &[u8]> = TableDefinition::new("recommend-1");

/// Table: jobs — the job runner's jobs: when each is next due and how its last run went.
/// Key: job name (`"analysis"`); Value: `JobRecord`.
pub const JOBS: TableDefinition<&str, &[u8]> = TableDefinition::new("jobs-1");

/// Table: analysis — each night's analysis of every customer, in chunks of consecutive customers.
/// Key: (shop-local day as days since 1970-01-01, first CustomerId of the chunk);
/// Value: `AnalysisChunk` (compact MessagePack, a list of `AnalysisRow`).
pub const ANALYSIS: TableDefinition<(i32, u64), &[u8]> = TableDefinition::new("analysis-1");

/// Table: analysis_runs — one summary per completed analysis day: the fitted models, the RFM grid,
/// the tier and churn distributions and the moves since the day before.
/// Key: shop-local day; Value: `AnalysisRun`.
pub const ANALYSIS_RUNS: TableDefinition<i32, &[u8]> = TableDefinition::new("analysis-runs-1");

/// Table: analysis_changes — the days a customer's RFM group, spend tier or churn risk changed.
/// Key: (CustomerId, shop-local day); Value: `AnalysisChange`.
pub const ANALYSIS_CHANGES: TableDefinition<(u64, i32), &[u8]> = TableDefinition::new("analysis-changes-1");

/// Table: customers_gone — the ids of merged and erased customers. Ids are handed out densely, so
/// the live customers are 1..=last id minus these, known without reading a customer record.
/// Key: CustomerId; Value: ().
pub const CUSTOMERS_GONE: TableDefinition<u64, ()> = TableDefinition::new("customers-gone-1");

/// Table: segments — saved segments.
/// Key: segment id; Value: `SegmentRecord`.
pub const SEGMENTS: TableDefinition<u64, &[u8]> = TableDefinition::new("segments-1");

/// Table: segment_members — a segment's members on each recomputed day.
/// Key: (segment id, shop-local day); Value: `SegmentDay` (counts, and the member ids as a
/// serialized roaring treemap).
pub const SEGMENT_MEMBERS: TableDefinition<(u64, i32), &[u8]> = TableDefinition::new("segment-members-1");

/// Table: coupons — coupon definitions (discount, conditions, limits, restrictions, counters).
/// Key: coupon id; Value: `CouponRecord` (coupon module).
pub const COUPONS: TableDefinition<u64, &[u8]> = TableDefinition::new("coupons-1");

/// Table: coupon_codes — every code, shared or unique, upper-case.
/// Key: code; Value: `CodeRecord` (coupon module).
pub const COUPON_CODES: TableDefinition<&str, &[u8]> = TableDefinition::new("coupon-codes-1");

/// Table: coupon_holds — what each customer holds of each coupon: codes issued, uses.
/// Key: (CustomerId, coupon id); Value: `Hold` (coupon module).
pub const COUPON_HOLDS: TableDefinition<(u64, u64), &[u8]> = TableDefinition::new("coupon-holds-1");

/// Table: coupon_redemptions — one row per order that used a coupon (redeem is idempotent by it).
/// Key: order id; Value: `Redemption` (coupon module).
pub const COUPON_REDEMPTIONS: TableDefinition<&str, &[u8]> = TableDefinition::new("coupon-redemptions-1");

/// Table: campaigns — campaign definitions, state and counters.
/// Key: campaign id; Value: `CampaignRecord` (campaign module).
pub const CAMPAIGNS: TableDefinition<u64, &[u8]> = TableDefinition::new("campaigns-1");

/// Table: campaign_sends — the outbox: one row per (campaign, occurrence, customer), written before
/// the message is handed to a channel and marked after, so a crash repeats at most the messages in
/// hand and a restart never sends an occurrence twice.
/// Key: (campaign id, occurrence in unix millis, CustomerId); Value: `OutboxRow` (campaign module).
pub const CAMPAIGN_SENDS: TableDefinition<(u64, i64, u64), &[u8]> = TableDefinition::new("campaign-sends-1");

/// Table: send_queue — the outbox rows still to be sent (or held until later), by when they are due.
/// Key: (due unix millis, campaign id, occurrence, CustomerId); Value: ().
pub const SEND_QUEUE: TableDefinition<(i64, u64, i64, u64), ()> = TableDefinition::new("send-queue-1");

/// Table: campaign_recipients — per campaign and customer: messages sent, the last, and a pending
/// behaviour trigger; what "never twice" and "once a day" are checked against.
/// Key: (campaign id, CustomerId); Value: `Recipient` (campaign module).
pub const CAMPAIGN_RECIPIENTS: TableDefinition<(u64, u64), &[u8]> = TableDefinition::new("campaign-recipients-1");

/// Table: customer_messages — every message a customer was sent, in time order: the frequency cap
/// and attribution read it.
/// Key: (CustomerId, sent at unix millis, campaign id); Value: `Delivered` (campaign module).
pub const CUSTOMER_MESSAGES: TableDefinition<(u64, i64, u64), &[u8]> = TableDefinition::new("customer-messages-1");

/// Table: campaign_triggers — behaviour triggers waiting out their delay.
/// Key: (due unix millis, campaign id, CustomerId); Value: `Triggered` (campaign module).
pub const CAMPAIGN_TRIGGERS: TableDefinition<(i64, u64, u64), &[u8]> = TableDefinition::new("campaign-triggers-1");

/// Table: campaign_days — a campaign's counts per shop-local day (targeted, held by reason, sent,
/// failed, opened, clicked, unsubscribed).
/// Key: (campaign id, shop-local day); Value: `DayCounts` (campaign module).
pub const CAMPAIGN_DAYS: TableDefinition<(u64, i32), &[u8]> = TableDefinition::new("campaign-days-1");

/// Table: consent_log — every consent given or withdrawn, by channel, with its source: the record
/// the law asks for (the customer record keeps only the current state).
/// Key: (CustomerId, unix millis, channel: 0 email | 1 SMS | 2 Kakao | 3 night); Value: `ConsentChange`.
pub const CONSENT_LOG: TableDefinition<(u64, i64, u8), &[u8]> = TableDefinition::new("consent-log-1");

/// Table: consent_changes — the consent log in the order it was written, for followers (the
/// consent result notice). Key: sequence; Value: (CustomerId, unix millis, channel), the log's key.
pub const CONSENT_CHANGES: TableDefinition<u64, (u64, i64, u8)> = TableDefinition::new("consent-changes-1");

/// Table: onsite_messages — on-site message definitions and state.
/// Key: message id; Value: `MessageRecord` (onsite module).
pub const ONSITE_MESSAGES: TableDefinition<u64, &[u8]> = TableDefinition::new("onsite-messages-1");

/// Table: onsite_seen — what each visitor saw, clicked and closed of each message, what stops or
/// snoozes it for them, and whether it converted them.
/// Key: (CustomerId, message id); Value: `Seen` (onsite module).
pub const ONSITE_SEEN: TableDefinition<(u64, u64), &[u8]> = TableDefinition::new("onsite-seen-1");

/// Table: onsite_counts — each message's views, viewers, clicks, closes, conversions and revenue
/// per quarter of an hour (any time zone's day is a sum of them).
/// Key: (message id, unix millis / 900,000); Value: `Counts` (onsite module).
pub const ONSITE_COUNTS: TableDefinition<(u64, i64), &[u8]> = TableDefinition::new("onsite-counts-1");

/// Table: web_visits — the reports' visits (CONTRACT §8), derived from the log by the reports'
/// follower and rebuilt by `dangol reindex`. A visit belongs to the shop-local day it started.
/// Key: (shop-local day, CustomerId, start in unix millis); Value: `reports::Row` (compact).
pub const WEB_VISITS: TableDefinition<(i32, u64, i64), &[u8]> = TableDefinition::new("web-visits-1");

/// Table: web_customer_days — the days each customer has visits on, to take a merged or erased
/// customer's visits out. Key: (CustomerId, shop-local day); Value: ().
pub const WEB_CUSTOMER_DAYS: TableDefinition<(u64, i32), ()> = TableDefinition::new("web-customer-days-1");

/// Table: web_days — per shop-local day, per dimension and value, the visits' counts and sums and
/// the visitors and buyers as roaring bitmaps (derived, by the reports' follower).
/// Key: (day, dimension, value's id in `WEB_NAMES`); Value: `reports::Cell` (compact).
pub const WEB_DAYS: TableDefinition<(i32, u8, u32), &[u8]> = TableDefinition::new("web-days-1");

/// Table: web_names — the strings the reports' rows and cells name by number (paths, sources,
/// browsers, events, products, …). Key: the string; Value: its id.
pub const WEB_NAMES: TableDefinition<&str, u32> = TableDefinition::new("web-names-1");

/// Table: web_name_ids — `WEB_NAMES` turned around. Key: id; Value: the string.
pub const WEB_NAME_IDS: TableDefinition<u32, &str> = TableDefinition::new("web-name-ids-1");

/// Table: web_order_months — per customer, the shop-local months with an order (months since
/// 1970-01), for cohorts. Key: CustomerId; Value: `Vec<i32>` (compact).
pub const WEB_ORDER_MONTHS: TableDefinition<u64, &[u8]> = TableDefinition::new("web-order-months-1");

/// Table: web_cohorts — customers by the month of their first order and a month they ordered in.
/// Key: (first-order month, month); Value: customers.
pub const WEB_COHORTS: TableDefinition<(i32, i32), u32> = TableDefinition::new("web-cohorts-1");

/// Table: imports — the import history: every CSV import, from the console, the API or the CLI.
/// Key: import id (increasing); Value: `load::history::ImportRecord`.
pub const IMPORTS: TableDefinition<u64, &[u8]> = TableDefinition::new("imports-1");

/// Table: import_mappings — the column mappings owners chose, offered again for the same file.
/// Key: "KIND:hash of the header set" (`import::mapping::key`); Value: `load::history::SavedMapping`.
pub const IMPORT_MAPPINGS: TableDefinition<&str, &[u8]> = TableDefinition::new("import-mappings-1");

/// Table: experiments — each experiment's design: its arms, the hold-out, its goal and window
/// (CONTRACT §9). Key: (kind: 1 campaign | 2 on-site message, its id); Value: `experiment::Design`.
pub const EXPERIMENTS: TableDefinition<(u8, u64), &[u8]> = TableDefinition::new("experiments-1");

/// Table: experiment_assignments — who was given which arm, when, and what they did since.
/// Key: (CustomerId, kind, id); Value: `experiment::Assignment`.
pub const EXPERIMENT_ASSIGNMENTS: TableDefinition<(u64, u8, u64), &[u8]> =
    TableDefinition::new("experiment-assignments-1");

/// Table: experiment_tallies — each arm's people assigned, exposed and converted, revenue and its
/// sum of squares per person, kept as they change. Key: (kind, id); Value: `Vec<experiment::ArmTally>`.
pub const EXPERIMENT_TALLIES: TableDefinition<(u8, u64), &[u8]> = TableDefinition::new("experiment-tallies-1");

/// Table: experiment_days — per shop-local day, each arm's people assigned and first converted
/// (the report's chart). Key: (kind, id, day); Value: `Vec<experiment::ArmDay>`.
pub const EXPERIMENT_DAYS: TableDefinition<(u8, u64, i32), &[u8]> = TableDefinition::new("experiment-days-1");
