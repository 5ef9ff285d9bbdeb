//! Prometheus metrics in the text exposition format, kept in atomics.
//!
//! A handful of counters does not justify a metrics framework; the format is simple and stable.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Instant;

use axum::response::Response;

use crate::AppState;

#[derive(Debug, Default)]
pub struct Metrics {
    /// Responses by status class: 1xx..5xx at index 1..5.
    pub responses: [AtomicU64; 6],
    pub duration_micros_sum: AtomicU64,
    pub login_failures: AtomicU64,
    pub logins: AtomicU64,
}

/// Counts a response that took since `start` (called by the application's outer middleware).
pub fn track(metrics: &Metrics, start: Instant, res: &Response) {
    let class = (res.status().as_u16() / 100).min(5) as usize;
    metrics.responses[class].fetch_add(1, Relaxed);
    metrics.duration_micros_sum.fetch_add(start.elapsed().as_micros() as u64, Relaxed);
}

/// Renders all metrics; `audit_head` is the chain's last sequence number.
pub fn render(state: &AppState, audit_head: i64) -> String {
    let m = &state.metrics;
    let mut s = String::new();
    let _ = writeln!(s, "# HELP pdp_http_responses_total HTTP responses by status class.");
    let _ = writeln!(s, "# TYPE pdp_http_responses_total counter");
    let mut total = 0;
    for class in 1..=5 {
        let n = m.responses[class].load(Relaxed);
        total += n;
        let _ = writeln!(s, "pdp_http_responses_total{{class=\"{class}xx\"}} {n}");
    }
    let _ = writeln!(s, "# HELP pdp_http_request_duration_seconds Time spent answering requests.");
    let _ = writeln!(s, "# TYPE pdp_http_request_duration_seconds summary");
    let _ = writeln!(s, "pdp_http_request_duration_seconds_sum {}", m.duration_micros_sum.load(Relaxed) as f64 / 1e6);
    let _ = writeln!(s, "pdp_http_request_duration_seconds_count {total}");
    let _ = writeln!(s, "# HELP pdp_logins_total Successful logins.");
    let _ = writeln!(s, "# TYPE pdp_logins_total counter");
    let _ = writeln!(s, "pdp_logins_total {}", m.logins.load(Relaxed));
    let _ = writeln!(s, "# HELP pdp_login_failures_total Failed or throttled logins.");
    let _ = writeln!(s, "# TYPE pdp_login_failures_total counter");
    let _ = writeln!(s, "pdp_login_failures_total {}", m.login_failures.load(Relaxed));
    let _ = writeln!(s, "# HELP pdp_audit_chain_length Events in the audit chain.");
    let _ = writeln!(s, "# TYPE pdp_audit_chain_length gauge");
    let _ = writeln!(s, "pdp_audit_chain_length {audit_head}");
    let cal = state.catalog.calendar.get();
    let _ = writeln!(
        s,
        "# HELP pdp_calendar_last_year The last year with a holiday table: deadlines after it are provisional (weekdays alone)."
    );
    let _ = writeln!(s, "# TYPE pdp_calendar_last_year gauge");
    let _ = writeln!(s, "pdp_calendar_last_year {}", cal.years().last().map_or(0, |t| t.year));
    let _ = writeln!(
        s,
        "# HELP pdp_calendar_next_year_missing 1 from November on while next year's holiday table is missing."
    );
    let _ = writeln!(s, "# TYPE pdp_calendar_next_year_missing gauge");
    let _ = writeln!(
        s,
        "pdp_calendar_next_year_missing {}",
        u8::from(pdp_app::calendar::missing_next_year(&cal).is_some())
    );
    let _ = writeln!(s, "# HELP pdp_uptime_seconds Seconds since the server started.");
    let _ = writeln!(s, "# TYPE pdp_uptime_seconds gauge");
    let _ = writeln!(s, "pdp_uptime_seconds {}", state.started.elapsed().as_secs());
    s
}
