//! The OpenAPI 3 document of the admin API, generated from the handlers' annotations.

use axum::Json;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::admin;
use super::analysis;
use super::campaigns;
use super::coupons;
use super::import;
use super::recommend;
use super::search;
use super::segments;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

#[derive(OpenApi)]
#[openapi(
    info(title = "dangol admin API", description = "Customers, catalogue, orders and keys of one shop. Bearer key: the master key or an admin key."),
    paths(
        admin::list_customers,
        admin::lookup_customer,
        admin::get_customer,
        admin::erase_customer,
        admin::export_customer,
        admin::change_tags,
        admin::customer_events,
        admin::customer_orders,
        admin::customer_interests,
        admin::list_products,
        admin::upsert_products,
        admin::get_product,
        admin::put_product,
        admin::delete_product,
        admin::list_orders,
        admin::get_order,
        admin::list_keys,
        admin::create_key,
        admin::revoke_key,
        admin::stats,
        admin::list_users,
        admin::create_user,
        admin::delete_user,
        import::upload,
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
    ),
    modifiers(&BearerAuth)
)]
pub struct ApiDoc;

pub async fn document() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
