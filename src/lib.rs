//! dangol: customer analysis and marketing automation for one small online shop, in one process.
//! The layers, top to bottom: `cli` (commands, bench) → `server` (wiring, router) → the edges `web`
//! (console) and `api` (JSON), side by side → `app` (what both share) → the domain folders →
//! `store` → leaves (`error`, `value`, `clock`, `i18n`). ARCHITECTURE.md maps them.

pub mod analysis;
pub mod api;
pub mod app;
pub mod auth;
pub mod campaign;
pub mod catalog;
pub mod cli;
pub mod clock;
pub mod config;
pub mod coupon;
pub mod customer;
pub mod demo;
pub mod error;
pub mod experiment;
pub mod i18n;
pub mod import;
pub mod jobs;
pub mod load;
pub mod onsite;
pub mod order;
pub mod outbound;
pub mod recommend;
pub mod reports;
pub mod search;
pub mod segment;
pub mod server;
pub mod store;
pub mod track;
pub mod traffic;
pub mod value;
pub mod web;

pub use server::{run, serve, shutdown_signal};
