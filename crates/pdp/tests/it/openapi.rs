//! The committed OpenAPI document matches the code, and documents every API route.

use pdp_web::routes::route_table;

/// internals, no requirement (the API is described by a generated, committed OpenAPI document)
#[test]
fn openapi_document_is_committed_and_complete() {
    let generated = pdp_web::openapi_json();
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/openapi.json");
    let committed = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        committed == generated,
        "docs/openapi.json is out of date; regenerate it with `cargo run -p pdp -- openapi > docs/openapi.json`"
    );
    let doc: serde_json::Value = serde_json::from_str(&generated).unwrap();
    for spec in route_table() {
        if !spec.path.starts_with("/api/v1/") || spec.path == "/api/v1/openapi.json" {
            continue;
        }
        let method = spec.method.as_str().to_lowercase();
        assert!(doc["paths"][spec.path][&method].is_object(), "{method} {} is not in the OpenAPI document", spec.path);
    }
}
