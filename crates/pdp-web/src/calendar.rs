//! The HTTP side of `pdp_app::calendar`: its JSON API handlers and their OpenAPI description.

use crate::AppState;
use crate::auth::Principal;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{Json, Path, Query};
use axum::Extension;
use axum::extract::State;
pub use pdp_app::calendar::*;
use std::sync::Arc;
use utoipa::OpenApi;

type S = State<Arc<AppState>>;

type P = Extension<Principal>;

#[derive(OpenApi)]
#[openapi(
    paths(calendar, set_year, deadline),
    components(schemas(CalendarOut, YearOut, HolidayTableInput, DeadlineOut)),
    tags((name = "calendar", description = "The working-day calendar: holiday tables and deadlines"))
)]
pub struct CalendarDoc;

/// The years the working-day calendar knows, with the source of each table.
#[utoipa::path(get, path = "/api/v1/calendar", tag = "calendar", responses((status = 200, body = CalendarOut)))]
pub async fn calendar(State(state): S) -> Result<Json<CalendarOut>, ApiError> {
    Ok(Json(do_calendar(&state)))
}

/// Adds or replaces the holiday table of a year (the city's data authority).
#[utoipa::path(put, path = "/api/v1/calendar/{year}", tag = "calendar", request_body = HolidayTableInput,
    params(("year" = i32, Path, description = "The year of the table")),
    responses((status = 200, body = YearOut), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn set_year(
    State(state): S,
    Extension(p): P,
    Path(year): Path<i32>,
    Json(body): Json<HolidayTableInput>,
) -> Result<Json<YearOut>, ApiError> {
    let input = body;
    Ok(Json(do_set_year(&state, &p, year, &input).await?))
}

/// The date `days` working days after `from`, as every statutory deadline is counted.
#[utoipa::path(get, path = "/api/v1/calendar/deadline", tag = "calendar", params(DeadlineParams),
    responses((status = 200, body = DeadlineOut), (status = 400, body = ErrorBody)))]
pub async fn deadline(State(state): S, Query(q): Query<DeadlineParams>) -> Result<Json<DeadlineOut>, ApiError> {
    Ok(Json(do_deadline(&state, &q)?))
}
