//! One test binary: every test starts a real server with a real redb file in a temp dir.

mod analysis;
mod api;
mod architecture;
mod browser;
mod campaigns;
mod clients;
mod common;
mod console;
mod console_campaigns;
mod console_coupons;
mod console_recommend;
mod console_search;
mod console_shop;
mod coupons;
mod crash;
mod demo;
mod identity;
mod import;
mod orders;
mod recommend;
mod records;
mod search;
mod security;
mod segments;
mod storefront;
mod track;
