//! The route table: every route of the server with the one permission it needs.
//!
//! This table is the access policy of the HTTP layer. It builds the router ([`crate::app`]) and
//! the permission gate reads it ([`crate::auth::gate`]), so a route cannot exist without a
//! declared permission; `None` marks the few public routes (login, health, static files). The
//! integration tests drive every entry with every role.

use std::sync::{Arc, OnceLock};

use axum::handler::Handler;
use axum::http::Method;
use axum::routing::{MethodFilter, MethodRouter, on};
use pdp_domain::roles::Permission;

use crate::{
    AppState, accounts, api, calendar, catalog, catalog_pages as cp, ckan, dataset_pages as dp, datasets, dcat,
    delta_sharing as ds, document_pages as dcp, documents, governance_pages as gp, harvest, objections, open,
    operation as opn, operation_pages as opp, ops, pages, portal_pages as pp, share_ops, sharing, sharing_pages as shp,
    social, sources, withdrawals,
};

/// One route and the permission it needs.
#[derive(Debug, Clone)]
pub struct RouteSpec {
    pub method: Method,
    pub path: &'static str,
    pub perm: Option<Permission>,
    /// A POST that changes nothing but usage counters and the audit log (a verify, a
    /// statistics query): it leaves the access cache alone. Every other POST, PUT or DELETE
    /// invalidates it (see [`pdp_app::access_cache`]), so a new route is safe by default.
    pub record_only: bool,
    /// A data access (a view, verify, statistics query, export or document fetch): it records
    /// accesses and reads none, so the gate lets it run without first moving the access
    /// journal into the database. Every other route waits for that move (see
    /// [`pdp_app::App::sync_accesses`]), so a new route sees every earlier access by default.
    pub data_access: bool,
}

type Entry = (RouteSpec, MethodRouter<Arc<AppState>>);

fn r<H, T>(method: Method, path: &'static str, perm: Option<Permission>, handler: H) -> Entry
where
    H: Handler<T, Arc<AppState>>,
    T: 'static,
{
    let filter = if method == Method::POST {
        MethodFilter::POST
    } else if method == Method::PUT {
        MethodFilter::PUT
    } else if method == Method::DELETE {
        MethodFilter::DELETE
    } else {
        MethodFilter::GET
    };
    (RouteSpec { method, path, perm, record_only: false, data_access: false }, on(filter, handler))
}

/// Marks a route as [`RouteSpec::record_only`].
fn record_only((mut spec, router): Entry) -> Entry {
    spec.record_only = true;
    (spec, router)
}

/// Marks a route as a [`RouteSpec::data_access`]; it is [`RouteSpec::record_only`] too, since
/// an access changes nothing but usage counters and the audit log.
fn access((mut spec, router): Entry) -> Entry {
    spec.data_access = true;
    spec.record_only = true;
    (spec, router)
}

/// Lifts the framework's default body limit from a route that streams a multipart upload to
/// disk: its handler bounds the file by `limits.upload_bytes` and every other part itself.
fn multipart((spec, router): Entry) -> Entry {
    (spec, router.layer(axum::extract::DefaultBodyLimit::disable()))
}

/// The whole table, with handlers.
pub fn table() -> Vec<Entry> {
    use Method as M;
    use Permission::*;
    vec![
        // Public: operations, static assets, login and language.
        r(M::GET, "/healthz", None, ops::healthz),
        r(M::GET, "/readyz", None, ops::readyz),
        r(M::GET, "/metrics", None, ops::metrics),
        r(M::GET, "/static/{file}", None, ops::static_file),
        r(M::GET, "/api/v1/openapi.json", None, ops::openapi),
        r(M::GET, "/login", None, pages::login_page),
        r(M::POST, "/login", None, pages::login_submit),
        r(M::GET, "/lang/{code}", None, pages::set_lang),
        // Public: the open data portal (R-OPN-02/03), pages and API, without an account.
        r(M::GET, "/open", None, pp::home),
        r(M::GET, "/open/datasets", None, pp::browse),
        r(M::GET, "/open/datasets/{id}", None, pp::dataset),
        r(M::GET, "/open/announcements", None, pp::announcements),
        r(M::GET, "/open/register", None, pp::register_page),
        r(M::POST, "/open/register", None, pp::register_submit),
        r(M::POST, "/api/v1/open/register", None, open::register),
        r(M::GET, "/api/v1/open/requests", None, open::requests),
        r(M::GET, "/api/v1/open/datasets/{id}/ratings", None, open::ratings),
        r(M::GET, "/open/requests", None, pp::requests_page),
        r(M::GET, "/open/stats", None, pp::stats_page),
        r(M::GET, "/open/review-list", None, pp::review_list_page),
        r(M::GET, "/api/v1/open/review-list", None, open::review_list),
        r(M::GET, "/api/v1/open/stats", None, open::stats),
        r(M::GET, "/open/datasets/{id}/feed.atom", None, pp::dataset_feed),
        r(M::GET, "/open/orgs/{id}/feed.atom", None, pp::org_feed),
        r(M::GET, "/open/feed.atom", None, pp::catalog_feed),
        r(M::GET, "/robots.txt", None, pp::robots),
        // Public: the open catalog in DCAT-AP 3 and each dataset's persistent identifier.
        r(M::GET, "/catalog.ttl", None, dcat::catalog),
        r(M::GET, "/catalog.jsonld", None, dcat::catalog),
        r(M::GET, "/catalog.rdf", None, dcat::catalog),
        r(M::GET, "/dataset/{name}", None, dcat::dataset_record),
        r(M::GET, "/release/{name}", None, dcat::release_record),
        r(M::GET, "/sitemap.xml", None, pp::sitemap_index),
        r(M::GET, "/sitemaps/{file}", None, pp::sitemap),
        r(M::GET, "/api/v1/open/datasets", None, open::datasets),
        r(M::GET, "/api/v1/open/datasets/{id}", None, open::dataset),
        access(r(M::GET, "/api/v1/open/releases/{id}/rows", None, open::rows)),
        access(r(M::GET, "/api/v1/open/releases/{id}/download/{format}", None, open::download)),
        // Public: the CKAN Action API's read side over the open catalog (R-OPN-02/03); every
        // action reads, and `datastore_search` is a data access like the open API's rows.
        access(r(M::GET, "/api/3/action/{name}", None, ckan::action)),
        access(r(M::POST, "/api/3/action/{name}", None, ckan::action)),
        access(r(M::GET, "/api/action/{name}", None, ckan::action)),
        access(r(M::POST, "/api/action/{name}", None, ckan::action)),
        // Pages.
        r(M::POST, "/logout", Some(ViewDashboard), pages::logout),
        r(M::GET, "/account/password", Some(ViewDashboard), accounts::password_page),
        r(M::POST, "/account/password", Some(ViewDashboard), accounts::password_submit),
        r(M::GET, "/", Some(ViewDashboard), pages::dashboard),
        r(M::GET, "/regions", Some(ViewOrgs), pages::regions),
        r(M::POST, "/regions", Some(ManageOrgs), pages::region_create),
        r(M::GET, "/orgs", Some(ViewOrgs), pages::orgs),
        r(M::POST, "/orgs", Some(ManageOrgs), pages::org_create),
        r(M::GET, "/orgs/{id}", Some(ViewOrgs), pages::org_detail),
        r(M::POST, "/orgs/{id}/officers", Some(ManageOrgs), pages::officer_create),
        r(M::GET, "/users", Some(ViewUsers), pages::users),
        r(M::POST, "/users", Some(ManageUsers), pages::user_create),
        r(M::POST, "/users/{id}/roles", Some(AssignRoles), pages::user_roles),
        r(M::POST, "/users/{id}/subject", Some(AssignRoles), pages::user_subject),
        r(M::POST, "/users/{id}/disable", Some(ManageUsers), accounts::disable_submit),
        r(M::POST, "/users/{id}/sessions/end", Some(ManageUsers), accounts::end_sessions_submit),
        r(M::GET, "/api-keys", Some(ManageOwnApiKeys), pages::api_keys),
        r(M::POST, "/api-keys", Some(ManageOwnApiKeys), pages::api_key_create),
        r(M::POST, "/api-keys/{id}/revoke", Some(ManageOwnApiKeys), pages::api_key_revoke),
        r(M::GET, "/audit", Some(ViewAudit), pages::audit),
        r(M::GET, "/audit/export.csv", Some(ExportAudit), api::audit_csv),
        r(M::POST, "/audit/verify", Some(VerifyAudit), pages::audit_verify),
        // Catalog pages.
        r(M::GET, "/catalog", Some(ViewCatalog), cp::browse),
        r(M::GET, "/catalog/search", Some(ViewCatalog), cp::search),
        r(M::GET, "/catalog/new", Some(EditCatalog), cp::new_form),
        r(M::POST, "/catalog/new", Some(EditCatalog), cp::new_submit),
        r(M::POST, "/catalog/validate", Some(EditCatalog), cp::validate_fragment),
        r(M::GET, "/catalog/entries/{id}", Some(ViewCatalog), cp::detail),
        r(M::GET, "/catalog/entries/{id}/edit", Some(EditCatalog), cp::edit_form),
        r(M::POST, "/catalog/entries/{id}/edit", Some(EditCatalog), cp::edit_submit),
        r(M::POST, "/catalog/entries/{id}/delete", Some(EditCatalog), cp::delete),
        r(M::POST, "/catalog/entries/{id}/submit", Some(EditCatalog), cp::submit),
        r(M::POST, "/catalog/entries/{id}/withdraw", Some(EditCatalog), cp::withdraw),
        r(M::POST, "/catalog/entries/{id}/withdrawal", Some(EditCatalog), withdrawals::request_submit),
        r(M::POST, "/catalog/withdrawals/{id}/{action}", Some(ReviewCatalog), withdrawals::decide_submit),
        r(M::POST, "/catalog/entries/{id}/approve", Some(ReviewCatalog), cp::approve),
        r(M::POST, "/catalog/entries/{id}/reject", Some(ReviewCatalog), cp::reject),
        r(M::GET, "/catalog/review", Some(ReviewCatalog), cp::review),
        r(M::GET, "/catalog/derived/{kind}", Some(ViewCatalog), cp::derived),
        r(M::GET, "/catalog/deadlines", Some(ViewCatalog), cp::deadlines),
        r(M::POST, "/catalog/changes", Some(RecordCatalogChange), cp::change_create),
        r(M::GET, "/catalog/systems", Some(ViewCatalog), cp::systems),
        r(M::POST, "/catalog/systems", Some(EditCatalog), cp::system_create),
        r(M::GET, "/catalog/import", Some(EditCatalog), cp::import_page),
        r(M::GET, "/datasets", Some(ViewDatasets), dp::list),
        r(M::GET, "/datasets/{id}", Some(ViewDatasets), dp::detail),
        r(M::POST, "/datasets/{id}/quarantine/{version}/{row}", Some(LoadData), dp::correct),
        r(M::POST, "/quality/tasks/{id}/resolve", Some(LoadData), dp::resolve),
        r(M::GET, "/calendar", Some(ViewDashboard), gp::calendar),
        r(M::POST, "/calendar", Some(GovernData), gp::calendar_submit),
        r(M::GET, "/sources", Some(GovernData), gp::sources),
        r(M::POST, "/sources", Some(GovernData), gp::source_submit),
        r(M::POST, "/crosscheck", Some(GovernData), gp::crosscheck_submit),
        r(M::POST, "/returns", Some(GovernData), gp::return_submit),
        r(M::GET, "/themes", Some(ViewCatalog), gp::themes_page),
        r(M::GET, "/open/me", Some(ViewDashboard), pp::me),
        r(M::POST, "/open/datasets/{id}/apply", Some(ViewDashboard), pp::apply_submit),
        r(M::POST, "/open/datasets/{id}/rate", Some(ViewDashboard), pp::rate_submit),
        r(M::POST, "/open/webhooks", Some(ViewDashboard), pp::webhook_submit),
        r(M::POST, "/open/applications/{id}/report", Some(ViewDashboard), pp::report_submit),
        r(M::POST, "/open/webhooks/{id}/delete", Some(ViewDashboard), pp::webhook_delete),
        r(M::POST, "/open/requests", Some(ViewDashboard), pp::request_submit),
        r(M::GET, "/operation", Some(ViewDashboard), opp::overview),
        r(M::GET, "/operation/products", None, opp::product_catalog),
        r(M::POST, "/operation/selections", Some(GovernOperation), opp::announce),
        r(M::GET, "/operation/selections/{id}", Some(ViewDashboard), opp::selection_page),
        r(M::POST, "/operation/selections/{id}/apply", Some(RunOperation), opp::apply_selection),
        r(M::POST, "/operation/selections/{id}/step", Some(GovernOperation), opp::selection_step),
        r(M::POST, "/operation/selections/{id}/object", Some(ViewDashboard), opp::object),
        r(M::POST, "/operation/agreements", Some(GovernOperation), opp::sign),
        r(M::POST, "/operation/catalog/{entry_id}/confirm", Some(GovernOperation), opp::confirm),
        r(M::POST, "/operation/catalog/{entry_id}/not-operable", Some(ViewDashboard), opp::not_operable),
        r(M::POST, "/operation/scenarios", Some(DevelopProducts), opp::apply),
        r(M::GET, "/operation/scenarios/{id}", Some(ViewDashboard), opp::scenario_page),
        r(M::POST, "/operation/scenarios/{id}/decision", Some(ViewDashboard), opp::decide),
        r(M::POST, "/operation/products/new", Some(DevelopProducts), opp::submit_product),
        r(M::GET, "/operation/products/{id}", Some(ViewDashboard), opp::product_page),
        r(M::POST, "/operation/products/{id}/review", Some(RunOperation), opp::review_product),
        r(M::POST, "/operation/agreements/{id}/act", Some(ViewDashboard), opp::act),
        r(M::POST, "/operation/agreements/development", Some(RunOperation), opp::sign_development),
        r(M::POST, "/operation/exits", Some(ViewDashboard), opp::exit),
        r(M::POST, "/operation/incidents", Some(ViewDashboard), opp::report_incident),
        r(M::POST, "/operation/evaluations", Some(ViewDashboard), opp::evaluate),
        multipart(r(M::POST, "/operation/social", Some(DevelopProducts), opp::offer_social)),
        r(M::POST, "/operation/social/{id}/review", Some(RunOperation), opp::review_social),
        r(M::GET, "/open/harvest", Some(ReviewOpenData), harvest::page_view),
        r(M::POST, "/open/harvest/sources", Some(ReviewOpenData), harvest::page_create),
        r(M::POST, "/open/harvest/sources/{id}/run", Some(ReviewOpenData), harvest::page_run),
        r(M::GET, "/open/harvest/runs/{id}", Some(ReviewOpenData), harvest::page_run_log),
        r(M::GET, "/open/social", Some(ViewDashboard), social::page_view),
        multipart(r(M::POST, "/open/social", Some(ViewDashboard), social::page_submit)),
        r(M::POST, "/open/requests/{id}/route", Some(ReviewOpenData), pp::route_submit),
        r(M::POST, "/open/requests/{id}/answer", Some(PublishOpenData), pp::answer_submit),
        r(M::GET, "/open/applications", Some(ViewShares), pp::applications_page),
        r(M::POST, "/open/applications/{id}/decision", Some(ApproveShare), pp::decision_submit),
        r(M::POST, "/open/applications/{id}/review", Some(ReviewOpenData), pp::review_application_submit),
        r(M::POST, "/open/applications/{id}/access", Some(ViewShares), pp::access_submit),
        r(M::POST, "/open/applications/{id}/appeal", Some(ViewDashboard), pp::appeal_submit),
        r(M::GET, "/open/releases", Some(ViewCatalog), pp::releases),
        r(M::GET, "/open/releases/new", Some(PublishOpenData), pp::new_release),
        r(M::POST, "/open/releases/new", Some(PublishOpenData), pp::new_release_submit),
        r(M::GET, "/open/releases/{id}", Some(ViewCatalog), pp::release),
        r(M::POST, "/open/releases/{id}/review", Some(ReviewOpenData), pp::review_submit),
        r(M::POST, "/open/releases/{id}/withdraw", Some(ViewCatalog), pp::withdraw_submit),
        r(M::POST, "/themes", Some(GovernData), gp::theme_submit),
        r(M::GET, "/returns/demands", Some(ViewDatasets), gp::return_demands_page),
        r(M::POST, "/returns/demands", Some(ViewDatasets), gp::return_demand_submit),
        r(M::POST, "/returns/demands/{id}/meet", Some(GovernData), gp::return_demand_meet),
        r(M::POST, "/returns/demands/{id}/decline", Some(GovernData), gp::return_demand_decline),
        r(M::GET, "/returns/{id}", Some(ViewDatasets), gp::return_page),
        r(M::GET, "/base/{kind}", Some(ViewBaseData), gp::base),
        record_only(r(M::POST, "/subjects/{kind}", Some(ViewBaseData), gp::subject)),
        r(M::GET, "/objections", Some(ViewDashboard), gp::objections),
        r(M::POST, "/objections", Some(RaiseObjection), gp::objection_submit),
        r(M::GET, "/objections/{id}", Some(ViewDashboard), gp::objection),
        r(M::POST, "/objections/{id}/answer", Some(LoadData), gp::answer_submit),
        r(M::GET, "/share", Some(ViewShares), shp::hub),
        r(M::POST, "/share/scenarios", Some(GovernData), shp::scenario_submit),
        r(M::GET, "/share/new", Some(RequestShare), shp::new_request),
        r(M::POST, "/share/requests", Some(RequestShare), shp::request_submit),
        r(M::GET, "/share/requests/{id}", Some(ViewShares), shp::request_page),
        r(M::POST, "/share/requests/{id}/approve", Some(ApproveShare), shp::approve_submit),
        r(M::POST, "/share/requests/{id}/refuse", Some(ApproveShare), shp::refuse_submit),
        r(M::POST, "/share/requests/{id}/withdraw", Some(RequestShare), shp::withdraw_submit),
        r(M::POST, "/share/requests/{id}/note", Some(ViewShares), shp::note_submit),
        r(M::POST, "/share/requests/{id}/escalate", Some(ViewShares), shp::escalate_submit),
        r(M::POST, "/share/requests/{id}/decide", Some(GovernData), shp::decide_submit),
        r(M::GET, "/share/grants/{id}", Some(ViewShares), shp::grant_page),
        r(M::POST, "/share/grants/{id}/status", Some(ManageGrants), shp::grant_status_submit),
        access(r(M::POST, "/share/grants/{id}/verify", Some(UseShare), shp::verify_submit)),
        access(r(M::POST, "/share/grants/{id}/documents", Some(UseShare), dcp::documents_page)),
        access(r(M::POST, "/share/grants/{id}/records", Some(UseShare), shp::view_submit)),
        r(M::GET, "/documents/verify", Some(UseShare), dcp::document_verify_page),
        r(M::POST, "/share/grants/{id}/reports", Some(UseShare), shp::report_submit),
        r(M::POST, "/share/emergencies", Some(GovernData), shp::emergency_submit),
        r(M::POST, "/share/emergencies/{id}/end", Some(GovernData), shp::emergency_end_submit),
        r(M::POST, "/share/demands", Some(RequestShare), shp::demand_submit),
        r(M::POST, "/share/demands/{id}/assign", Some(GovernData), shp::demand_assign_submit),
        r(M::POST, "/share/demands/{id}/answer", Some(ViewShares), shp::demand_answer_submit),
        r(M::POST, "/share/upward", Some(RequestShare), shp::upward_submit),
        r(M::POST, "/share/upward/forward", Some(GovernData), shp::forward_submit),
        r(M::POST, "/share/upward/{id}/outcome", Some(GovernData), shp::outcome_submit),
        // The Delta Sharing protocol (bulk grants for data tools); file URLs are signed.
        r(M::GET, "/delta-sharing/shares", Some(UseShare), ds::list_shares),
        r(M::GET, "/delta-sharing/shares/{share}", Some(UseShare), ds::get_share),
        r(M::GET, "/delta-sharing/shares/{share}/schemas", Some(UseShare), ds::list_schemas),
        r(M::GET, "/delta-sharing/shares/{share}/schemas/{schema}/tables", Some(UseShare), ds::list_tables),
        r(M::GET, "/delta-sharing/shares/{share}/all-tables", Some(UseShare), ds::all_tables),
        r(M::GET, "/delta-sharing/shares/{share}/schemas/{schema}/tables/{table}/version", Some(UseShare), ds::version),
        r(
            M::GET,
            "/delta-sharing/shares/{share}/schemas/{schema}/tables/{table}/metadata",
            Some(UseShare),
            ds::metadata,
        ),
        access(r(
            M::POST,
            "/delta-sharing/shares/{share}/schemas/{schema}/tables/{table}/query",
            Some(UseShare),
            ds::query,
        )),
        r(M::GET, "/delta-sharing/files/{token}", None, ds::file),
        // JSON API.
        r(M::GET, "/api/v1/me", Some(ViewDashboard), api::me),
        r(M::GET, "/api/v1/regions", Some(ViewOrgs), api::list_regions),
        r(M::POST, "/api/v1/regions", Some(ManageOrgs), api::create_region),
        r(M::GET, "/api/v1/orgs", Some(ViewOrgs), api::list_orgs),
        r(M::POST, "/api/v1/orgs", Some(ManageOrgs), api::create_org),
        r(M::GET, "/api/v1/orgs/{id}", Some(ViewOrgs), api::get_org),
        r(M::GET, "/api/v1/orgs/{id}/officers", Some(ViewOrgs), api::list_officers),
        r(M::POST, "/api/v1/orgs/{id}/officers", Some(ManageOrgs), api::create_officer),
        r(M::GET, "/api/v1/users", Some(ViewUsers), api::list_users),
        r(M::POST, "/api/v1/users", Some(ManageUsers), api::create_user),
        r(M::PUT, "/api/v1/users/{id}/roles", Some(AssignRoles), api::set_roles),
        r(M::PUT, "/api/v1/users/{id}/subject", Some(AssignRoles), api::set_subject),
        r(M::POST, "/api/v1/users/{id}/disable", Some(ManageUsers), accounts::set_disabled),
        r(M::POST, "/api/v1/users/{id}/sessions/end", Some(ManageUsers), accounts::end_sessions),
        r(M::POST, "/api/v1/me/password", Some(ViewDashboard), accounts::change_password),
        r(M::GET, "/api/v1/api-keys", Some(ManageOwnApiKeys), api::list_api_keys),
        r(M::POST, "/api/v1/api-keys", Some(ManageOwnApiKeys), api::create_api_key),
        r(M::POST, "/api/v1/api-keys/{id}/revoke", Some(ManageOwnApiKeys), api::revoke_api_key),
        r(M::GET, "/api/v1/audit/events", Some(ViewAudit), api::search_audit),
        r(M::GET, "/api/v1/audit/events.csv", Some(ExportAudit), api::audit_csv),
        r(M::GET, "/api/v1/audit/checkpoints", Some(ViewAudit), api::list_checkpoints),
        r(M::POST, "/api/v1/audit/verify", Some(VerifyAudit), api::verify_audit),
        // Catalog API.
        r(M::GET, "/api/v1/catalog/entries", Some(ViewCatalog), catalog::list_entries),
        r(M::POST, "/api/v1/catalog/entries", Some(EditCatalog), catalog::create_entry),
        r(M::POST, "/api/v1/catalog/validate", Some(EditCatalog), catalog::validate_body),
        r(M::GET, "/api/v1/catalog/entries/{id}", Some(ViewCatalog), catalog::get_entry),
        r(M::PUT, "/api/v1/catalog/entries/{id}", Some(EditCatalog), catalog::update_entry),
        r(M::DELETE, "/api/v1/catalog/entries/{id}", Some(EditCatalog), catalog::delete_entry),
        r(M::GET, "/api/v1/catalog/entries/{id}/history", Some(ViewCatalog), catalog::entry_history),
        r(M::GET, "/api/v1/catalog/entries/{id}/diff", Some(ViewCatalog), catalog::entry_diff),
        r(M::POST, "/api/v1/catalog/entries/{id}/submit", Some(EditCatalog), catalog::submit_entry),
        r(M::POST, "/api/v1/catalog/entries/{id}/withdraw", Some(EditCatalog), catalog::withdraw_entry),
        r(M::POST, "/api/v1/catalog/entries/{id}/approve", Some(ReviewCatalog), catalog::approve_entry),
        r(M::POST, "/api/v1/catalog/entries/{id}/reject", Some(ReviewCatalog), catalog::reject_entry),
        r(M::GET, "/api/v1/catalog/review-queue", Some(ReviewCatalog), catalog::review_queue),
        r(M::GET, "/api/v1/catalog/derived/{kind}", Some(ViewCatalog), catalog::derived),
        r(M::GET, "/api/v1/catalog/export", Some(ViewCatalog), catalog::export),
        r(M::GET, "/api/v1/catalog/template", Some(ViewCatalog), catalog::template),
        r(M::POST, "/api/v1/catalog/import", Some(EditCatalog), catalog::import),
        r(M::POST, "/api/v1/catalog/entries/{id}/withdrawal", Some(EditCatalog), withdrawals::request),
        r(M::GET, "/api/v1/catalog/withdrawals", Some(ViewCatalog), withdrawals::list),
        r(M::POST, "/api/v1/catalog/withdrawals/{id}/approve", Some(ReviewCatalog), withdrawals::approve),
        r(M::POST, "/api/v1/catalog/withdrawals/{id}/reject", Some(ReviewCatalog), withdrawals::reject),
        r(M::GET, "/api/v1/catalog/search", Some(ViewCatalog), catalog::search),
        r(M::GET, "/api/v1/catalog/changes", Some(ViewCatalog), catalog::list_changes),
        r(M::POST, "/api/v1/catalog/changes", Some(RecordCatalogChange), catalog::create_change),
        r(M::GET, "/api/v1/catalog/deadlines", Some(ViewCatalog), catalog::list_deadlines),
        r(M::GET, "/api/v1/catalog/systems", Some(ViewCatalog), catalog::list_systems),
        r(M::POST, "/api/v1/catalog/systems", Some(EditCatalog), catalog::create_system),
        r(M::GET, "/api/v1/catalog/systems/report", Some(ViewCatalog), catalog::systems_report),
        r(M::GET, "/api/v1/datasets", Some(ViewDatasets), datasets::list_datasets),
        r(M::GET, "/api/v1/datasets/{id}/loads", Some(ViewDatasets), datasets::list_loads),
        r(M::POST, "/api/v1/datasets/{id}/loads", Some(LoadData), datasets::upload),
        r(M::POST, "/api/v1/datasets/{id}/rows", Some(LoadData), datasets::push_rows),
        r(M::GET, "/api/v1/datasets/{id}/data", Some(LoadData), datasets::read_rows),
        r(M::GET, "/api/v1/datasets/{id}/quarantine", Some(LoadData), datasets::quarantine),
        r(M::POST, "/api/v1/datasets/{id}/quarantine/{version}/{row}", Some(LoadData), datasets::correct_row),
        r(M::GET, "/api/v1/quality/tasks", Some(ViewDatasets), datasets::list_tasks),
        r(M::POST, "/api/v1/quality/tasks/{id}/resolve", Some(LoadData), datasets::resolve_task),
        // One number one source, base views, district return.
        r(M::GET, "/api/v1/calendar", Some(ViewDashboard), calendar::calendar),
        r(M::GET, "/api/v1/calendar/deadline", Some(ViewDashboard), calendar::deadline),
        r(M::PUT, "/api/v1/calendar/{year}", Some(GovernData), calendar::set_year),
        r(M::GET, "/api/v1/sources", Some(GovernData), sources::list_sources),
        r(M::POST, "/api/v1/sources", Some(GovernData), sources::set_source),
        r(M::DELETE, "/api/v1/sources/{subject}/{element}", Some(GovernData), sources::remove_source),
        r(M::GET, "/api/v1/crosscheck", Some(GovernData), sources::crosscheck),
        r(M::POST, "/api/v1/crosscheck", Some(GovernData), sources::run_crosscheck),
        r(M::GET, "/api/v1/catalog/duplicates", Some(GovernData), sources::duplicates),
        r(M::GET, "/api/v1/base/{subject}", Some(ViewBaseData), sources::base_view),
        record_only(r(M::POST, "/api/v1/subjects/{subject}/lookup", Some(ViewBaseData), sources::subject)),
        r(M::GET, "/api/v1/themes", Some(ViewCatalog), sources::list_themes),
        r(M::GET, "/api/v1/open/releases", Some(ViewCatalog), open::list_releases),
        r(M::GET, "/api/v1/open/applications", Some(ViewDashboard), open::applications),
        r(M::POST, "/api/v1/open/requests", Some(ViewDashboard), open::submit_request),
        r(M::GET, "/api/v1/open/harvest/sources", Some(ReviewOpenData), harvest::list_sources),
        r(M::POST, "/api/v1/open/harvest/sources", Some(ReviewOpenData), harvest::create_source),
        r(M::GET, "/api/v1/open/harvest/sources/{id}/runs", Some(ReviewOpenData), harvest::source_runs),
        r(M::POST, "/api/v1/open/harvest/sources/{id}/runs", Some(ReviewOpenData), harvest::start_run),
        r(M::GET, "/api/v1/open/harvest/runs/{id}", Some(ReviewOpenData), harvest::run_log),
        r(M::GET, "/api/v1/operation/overview", Some(ViewDashboard), opn::overview),
        r(M::GET, "/api/v1/operation/agreements", Some(ViewDashboard), opn::list_agreements),
        r(M::POST, "/api/v1/operation/agreements", Some(ViewDashboard), opn::sign),
        r(M::GET, "/api/v1/operation/agreements/{id}", Some(ViewDashboard), opn::get_agreement),
        r(M::POST, "/api/v1/operation/agreements/{id}/review", Some(ViewDashboard), opn::review_renewal),
        r(M::POST, "/api/v1/operation/agreements/{id}/actions", Some(ViewDashboard), opn::act),
        r(M::GET, "/api/v1/operation/catalog", Some(ViewDashboard), opn::list_catalog),
        r(M::POST, "/api/v1/operation/catalog/proposals", Some(RunOperation), opn::propose),
        r(M::POST, "/api/v1/operation/catalog/{entry_id}/decision", Some(ViewDashboard), opn::decide_catalog),
        r(M::POST, "/api/v1/operation/catalog/{entry_id}/development", Some(RunOperation), opn::publish),
        r(M::GET, "/api/v1/operation/scenarios", Some(ViewDashboard), opn::list_scenarios),
        r(M::POST, "/api/v1/operation/scenarios", Some(DevelopProducts), opn::apply),
        r(M::GET, "/api/v1/operation/scenarios/{id}", Some(ViewDashboard), opn::get_scenario),
        r(M::POST, "/api/v1/operation/scenarios/{id}/decision", Some(ViewDashboard), opn::decide_scenario),
        r(M::GET, "/api/v1/operation/scenarios/{id}/sample", Some(DevelopProducts), opn::sample),
        r(M::GET, "/api/v1/operation/products", Some(ViewDashboard), opn::list_products),
        r(M::POST, "/api/v1/operation/products", Some(DevelopProducts), opn::submit_product),
        r(M::POST, "/api/v1/operation/products/{id}/review", Some(RunOperation), opn::review_product),
        r(M::POST, "/api/v1/operation/products/{id}/delist", Some(ViewDashboard), opn::delist),
        r(M::POST, "/api/v1/operation/products/{id}/sales", Some(RunOperation), opn::record_sale),
        r(M::GET, "/api/v1/operation/product-catalog", None, opn::product_catalog),
        r(M::GET, "/api/v1/operation/sales", Some(ViewDashboard), opn::list_sales),
        r(M::POST, "/api/v1/operation/exits", Some(ViewDashboard), opn::exit),
        r(M::GET, "/api/v1/operation/exits", Some(ViewDashboard), opn::list_exits),
        r(M::POST, "/api/v1/operation/logs/prune", Some(GovernOperation), opn::prune_logs),
        r(M::GET, "/api/v1/operation/logs/{org_id}", Some(ViewDashboard), opn::log),
        multipart(r(M::POST, "/api/v1/operation/social", Some(DevelopProducts), opn::offer_social)),
        r(M::GET, "/api/v1/operation/social", Some(ViewDashboard), opn::list_social),
        r(M::POST, "/api/v1/operation/social/{id}/review", Some(RunOperation), opn::review_social),
        r(M::GET, "/api/v1/operation/social/{id}/rows", Some(DevelopProducts), opn::social_sample),
        r(M::GET, "/api/v1/operation/social-catalog", None, opn::social_catalog),
        r(M::GET, "/api/v1/operation/selections", None, opn::list_selections),
        r(M::GET, "/api/v1/operation/selections/{id}", None, opn::get_selection),
        r(M::POST, "/api/v1/operation/selections", Some(GovernOperation), opn::announce),
        r(M::POST, "/api/v1/operation/selections/{id}/applications", Some(RunOperation), opn::apply_selection),
        r(M::POST, "/api/v1/operation/selections/{id}/steps", Some(GovernOperation), opn::selection_step),
        r(M::POST, "/api/v1/operation/selections/{id}/objections", Some(ViewDashboard), opn::object),
        r(M::GET, "/api/v1/operation/evaluations", Some(ViewDashboard), opn::list_evaluations),
        r(M::POST, "/api/v1/operation/evaluations", Some(ViewDashboard), opn::evaluate),
        r(M::POST, "/api/v1/operation/products/{id}/complaints", Some(ViewDashboard), opn::complain),
        r(M::POST, "/api/v1/operation/incidents", Some(ViewDashboard), opn::report_incident),
        r(M::GET, "/api/v1/open/social", Some(ViewDashboard), social::mine),
        multipart(r(M::POST, "/api/v1/open/social", Some(ViewDashboard), social::submit)),
        r(M::POST, "/api/v1/open/requests/{id}/route", Some(ReviewOpenData), open::route_request),
        r(M::POST, "/api/v1/open/requests/{id}/answer", Some(PublishOpenData), open::answer_request),
        r(M::POST, "/api/v1/open/datasets/{id}/ratings", Some(ViewDashboard), open::rate),
        r(M::GET, "/api/v1/open/webhooks", Some(ViewDashboard), open::webhooks),
        r(M::POST, "/api/v1/open/webhooks", Some(ViewDashboard), open::subscribe),
        r(M::DELETE, "/api/v1/open/webhooks/{id}", Some(ViewDashboard), open::unsubscribe),
        r(M::POST, "/api/v1/open/applications", Some(ViewDashboard), open::apply),
        r(M::POST, "/api/v1/open/applications/{id}/decision", Some(ApproveShare), open::decide),
        r(M::POST, "/api/v1/open/applications/{id}/appeal", Some(ViewDashboard), open::appeal),
        r(M::POST, "/api/v1/open/applications/{id}/review", Some(ReviewOpenData), open::review_application),
        r(M::POST, "/api/v1/open/applications/{id}/access", Some(ViewDashboard), open::access),
        r(M::POST, "/api/v1/open/applications/{id}/reports", Some(ViewDashboard), open::file_report),
        r(M::GET, "/api/v1/open/applications/{id}/usage", Some(ViewDashboard), open::application_usage),
        access(r(
            M::GET,
            "/api/v1/open/applications/{id}/download/{format}",
            Some(ViewDashboard),
            open::application_download,
        )),
        r(M::POST, "/api/v1/open/releases", Some(PublishOpenData), open::prepare),
        r(M::GET, "/api/v1/open/releases/{id}", Some(ViewCatalog), open::get_release),
        r(M::POST, "/api/v1/open/releases/{id}/review", Some(ReviewOpenData), open::review),
        // The provider's officer, the authority, or the organisation that submitted social data
        // (a public account): the use case decides who among the signed-in may.
        r(M::POST, "/api/v1/open/releases/{id}/withdraw", Some(ViewDashboard), open::withdraw),
        r(M::POST, "/api/v1/themes", Some(GovernData), sources::create_theme),
        r(M::POST, "/api/v1/themes/{id}/refresh", Some(GovernData), sources::refresh_theme),
        r(M::GET, "/api/v1/returns", Some(ViewDatasets), sources::list_returns),
        r(M::POST, "/api/v1/returns", Some(GovernData), sources::create_return),
        r(M::GET, "/api/v1/returns/{id}/data", Some(ViewDatasets), sources::return_data),
        r(M::GET, "/api/v1/returns/demands", Some(ViewDatasets), sources::list_return_demands),
        r(M::POST, "/api/v1/returns/demands", Some(ViewDatasets), sources::create_return_demand),
        r(M::POST, "/api/v1/returns/demands/{id}/meet", Some(GovernData), sources::meet_return_demand),
        r(M::POST, "/api/v1/returns/demands/{id}/decline", Some(GovernData), sources::decline_return_demand),
        // Objections.
        r(M::GET, "/api/v1/objections", Some(ViewDashboard), objections::list),
        r(M::POST, "/api/v1/objections", Some(RaiseObjection), objections::raise),
        r(M::GET, "/api/v1/objections/{id}", Some(ViewDashboard), objections::get_one),
        r(M::POST, "/api/v1/objections/{id}/answer", Some(LoadData), objections::answer),
        r(M::PUT, "/api/v1/objections/{id}/evidence", Some(RaiseObjection), objections::put_evidence),
        r(M::GET, "/api/v1/objections/{id}/evidence", Some(ViewDashboard), objections::get_evidence),
        // Sharing between organisations.
        r(M::GET, "/api/v1/share/scenarios", Some(ViewCatalog), sharing::list_scenarios),
        r(M::POST, "/api/v1/share/scenarios", Some(GovernData), sharing::create_scenario),
        r(M::GET, "/api/v1/share/requests", Some(ViewShares), sharing::list_requests),
        r(M::POST, "/api/v1/share/requests", Some(RequestShare), sharing::submit),
        r(M::GET, "/api/v1/share/requests/{id}", Some(ViewShares), sharing::get_request),
        r(M::POST, "/api/v1/share/requests/{id}/approve", Some(ApproveShare), sharing::approve),
        r(M::POST, "/api/v1/share/requests/{id}/refuse", Some(ApproveShare), sharing::refuse),
        r(M::POST, "/api/v1/share/requests/{id}/withdraw", Some(RequestShare), sharing::withdraw),
        r(M::POST, "/api/v1/share/requests/{id}/notes", Some(ViewShares), sharing::add_note),
        r(M::POST, "/api/v1/share/requests/{id}/escalate", Some(ViewShares), sharing::escalate),
        r(M::POST, "/api/v1/share/requests/{id}/decide", Some(GovernData), sharing::decide),
        r(M::GET, "/api/v1/share/grants", Some(ViewShares), sharing::list_grants),
        r(M::GET, "/api/v1/share/grants/{id}", Some(ViewShares), sharing::get_grant),
        r(M::POST, "/api/v1/share/grants/{id}/suspend", Some(ManageGrants), sharing::suspend),
        r(M::POST, "/api/v1/share/grants/{id}/resume", Some(ManageGrants), sharing::resume),
        r(M::POST, "/api/v1/share/grants/{id}/revoke", Some(ManageGrants), sharing::revoke),
        access(r(M::POST, "/api/v1/share/grants/{id}/records", Some(UseShare), sharing::view)),
        access(r(M::POST, "/api/v1/share/grants/{id}/verify", Some(UseShare), sharing::verify)),
        access(r(M::POST, "/api/v1/share/grants/{id}/statistics", Some(UseShare), sharing::statistics)),
        access(r(M::GET, "/api/v1/share/grants/{id}/export.csv", Some(UseShare), sharing::export)),
        access(r(M::GET, "/api/v1/share/grants/{id}/export.parquet", Some(UseShare), sharing::export_parquet)),
        access(r(M::POST, "/api/v1/share/grants/{id}/documents", Some(UseShare), documents::fetch)),
        record_only(r(M::POST, "/api/v1/documents/verify", Some(UseShare), documents::verify)),
        r(M::GET, "/api/v1/share/grants/{id}/reports", Some(ViewShares), share_ops::list_reports),
        r(M::POST, "/api/v1/share/grants/{id}/reports", Some(UseShare), share_ops::file_report),
        r(M::GET, "/api/v1/share/reports/due", Some(ViewShares), share_ops::reports_due),
        r(M::GET, "/api/v1/share/emergencies", Some(ViewShares), share_ops::list_emergencies),
        r(M::POST, "/api/v1/share/emergencies", Some(GovernData), share_ops::declare),
        r(M::POST, "/api/v1/share/emergencies/{id}/end", Some(GovernData), share_ops::end_emergency),
        r(M::GET, "/api/v1/share/demands", Some(ViewShares), share_ops::list_demands),
        r(M::POST, "/api/v1/share/demands", Some(RequestShare), share_ops::create_demand),
        r(M::POST, "/api/v1/share/demands/{id}/assign", Some(GovernData), share_ops::assign_demand),
        r(M::POST, "/api/v1/share/demands/{id}/answer", Some(ViewShares), share_ops::answer_demand),
        r(M::GET, "/api/v1/share/upward", Some(ViewShares), share_ops::list_upward),
        r(M::POST, "/api/v1/share/upward", Some(RequestShare), share_ops::create_upward),
        r(M::POST, "/api/v1/share/upward/forward", Some(GovernData), share_ops::forward_upward),
        r(M::GET, "/api/v1/share/upward/batches/{batch}", Some(GovernData), share_ops::upward_batch),
        r(M::POST, "/api/v1/share/upward/{id}/outcome", Some(GovernData), share_ops::upward_outcome),
    ]
}

/// The table without handlers, built once.
pub fn route_table() -> &'static [RouteSpec] {
    static TABLE: OnceLock<Vec<RouteSpec>> = OnceLock::new();
    TABLE.get_or_init(|| table().into_iter().map(|(s, _)| s).collect())
}

/// The entry for a matched route. HEAD is answered by the GET handler, so it needs what GET needs.
/// Looked up by path in a map built once (the gate asks on every request, and a scan compared
/// a few hundred strings each time); a path has at most a handful of methods.
pub fn find(method: &Method, path: &str) -> Option<&'static RouteSpec> {
    static BY_PATH: OnceLock<std::collections::HashMap<&'static str, Vec<&'static RouteSpec>>> = OnceLock::new();
    let by_path = BY_PATH.get_or_init(|| {
        let mut m: std::collections::HashMap<&'static str, Vec<&'static RouteSpec>> = Default::default();
        for s in route_table() {
            m.entry(s.path).or_default().push(s);
        }
        m
    });
    let method = if method == Method::HEAD { &Method::GET } else { method };
    by_path.get(path)?.iter().copied().find(|s| s.method == method)
}
