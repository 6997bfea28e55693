//! The OpenAPI 3 document of every API route (the tracking API, the storefront's calls, the links
//! in messages and the admin API), generated from the handlers' annotations. A test holds it
//! against the router's own list of routes.

use axum::Json;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::access;
use super::analysis;
use super::campaigns;
use super::catalog;
use super::coupons;
use super::customers;
use super::import;
use super::onsite;
use super::recommend;
use super::reports;
use super::script;
use super::search;
use super::segments;
use super::tracking;

struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        // Segment's clients send the write key as the user name of HTTP Basic: the public key
        // of the shop's pages, or a server write key that is trusted like a valid `userHash`.
        components.add_security_scheme(
            "write_key",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Basic)
                    .description(Some(
                        "The write key as the user name, no password. The public key (`dgl_write_…`) may make customers and add events; joining or changing customers who exist takes the member's `userHash` or a server write key (`dgl_server_…`, kept on the shop's backend).",
                    ))
                    .build(),
            ),
        );
    }
}

/// The short paths of the tracking API, each the same operation as its long path.
struct ShortPaths;

impl Modify for ShortPaths {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        for (short, long) in tracking::doc::ALIASES {
            if let Some(mut item) = openapi.paths.paths.get(long).cloned() {
                // Operation ids are unique in a document: the short path's is its own.
                if let Some(op) = item.post.as_mut() {
                    op.operation_id = Some(format!("post{}", short.replace('/', "_")));
                }
                openapi.paths.paths.insert(short.to_string(), item);
            }
        }
    }
}

#[derive(OpenApi)]
#[openapi(
    info(title = "dangol API", description = "One shop's tracking API (Segment-compatible, `/v1/*`, the write key as HTTP Basic user name), its storefront calls (coupons and recommendations, the write key), the signed links in its messages (`/v1/m/*`), and its admin API (`/api/v1/*`, bearer: the master key or an admin key)."),
    paths(
        customers::list_customers,
        customers::lookup_customer,
        customers::get_customer,
        customers::erase_customer,
        customers::export_customer,
        customers::change_tags,
        customers::customer_events,
        customers::customer_orders,
        customers::customer_interests,
        catalog::list_products,
        catalog::upsert_products,
        catalog::get_product,
        catalog::put_product,
        catalog::delete_product,
        catalog::list_orders,
        catalog::get_order,
        access::list_keys,
        access::create_key,
        access::revoke_key,
        access::stats,
        access::list_users,
        access::create_user,
        access::delete_user,
        access::get_storefront,
        access::put_storefront,
        import::upload,
        import::template_file,
        import::list,
        import::get,
        analysis::list_jobs,
        analysis::run_job,
        analysis::customer_analysis,
        analysis::rfm_report,
        segments::preview,
        segments::list,
        segments::create,
        segments::describe,
        segments::update,
        segments::delete,
        segments::members,
        segments::members_csv,
        segments::is_member,
        search::interest,
        search::products,
        search::trending,
        coupons::create,
        coupons::list,
        coupons::describe,
        coupons::update,
        coupons::issue,
        recommend::for_customer,
        recommend::related,
        recommend::storefront,
        coupons::validate,
        coupons::redeem,
        campaigns::list,
        campaigns::create,
        campaigns::list_templates,
        campaigns::describe,
        campaigns::update,
        campaigns::launch,
        campaigns::pause,
        campaigns::preview,
        campaigns::test_send,
        campaigns::estimate,
        campaigns::estimate_input,
        campaigns::campaign_report,
        campaigns::campaign_experiment,
        campaigns::sends,
        campaigns::get_settings,
        campaigns::put_settings,
        campaigns::test_settings,
        campaigns::consents,
        campaigns::change_consent,
        campaigns::set_clock,
        campaigns::unsubscribe_page,
        campaigns::unsubscribe,
        campaigns::open_pixel,
        campaigns::click,
        campaigns::receipt,
        tracking::doc::identify,
        tracking::doc::track,
        tracking::doc::page,
        tracking::doc::screen,
        tracking::doc::group,
        tracking::doc::alias,
        tracking::batch,
        tracking::settings,
        script::script,
        onsite::due,
        onsite::code,
        onsite::list,
        onsite::list_templates,
        onsite::get_settings,
        onsite::put_settings,
        onsite::create,
        onsite::describe,
        onsite::update,
        onsite::delete,
        onsite::activate,
        onsite::pause,
        onsite::report,
        reports::live,
        reports::web,
        reports::breakdown,
        reports::funnel,
        reports::cohorts,
        reports::products,
        document,
    ),
    modifiers(&Security, &ShortPaths)
)]
pub struct ApiDoc;

/// This document (no key needed).
#[utoipa::path(get, path = "/api/v1/openapi.json", responses((status = 200, description = "OpenAPI 3")))]
pub async fn document() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
