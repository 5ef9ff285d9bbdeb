//! Reading a CKAN portal: `package_search` page by page, each package read into a
//! [`HarvestedDataset`].

use std::collections::BTreeSet;

use pdp_domain::harvest::{Distribution, HarvestedDataset, parse_frequency};
use serde_json::Value;

use crate::App;

/// Packages asked for per page (CKAN's default upper bound is 1,000).
const PAGE: usize = 100;

/// Every package of the portal at `root`, or why the listing failed.
pub(super) async fn list(state: &App, root: &str, max: usize) -> Result<Vec<HarvestedDataset>, String> {
    let root = root.trim_end_matches('/');
    let root = root.strip_suffix("/api/3/action").or_else(|| root.strip_suffix("/api/action")).unwrap_or(root);
    let mut out = Vec::new();
    let mut seen = BTreeSet::new();
    let mut start = 0usize;
    loop {
        let url =
            format!("{root}/api/3/action/package_search?q=*:*&rows={PAGE}&start={start}&sort=metadata_modified%20desc");
        let f = super::fetch(state, &url, "application/json", super::MAX_PAGE_BYTES).await?;
        let (count, packages) = read_page(&f.body).map_err(|e| format!("{url}: {e}"))?;
        if count > max {
            return Err(format!(
                "the source lists {count} datasets, more than the {max} a run takes (open.harvest_max_records)"
            ));
        }
        if packages.is_empty() {
            break;
        }
        let before = seen.len();
        for p in &packages {
            let d = dataset(root, p).map_err(|e| format!("{url}: {e}"))?;
            if seen.insert(d.identifier.clone()) {
                out.push(d);
            }
        }
        if seen.len() == before {
            return Err(format!("{url}: the page repeats packages already read; paging stopped"));
        }
        start += packages.len();
        if start >= count {
            break;
        }
        if out.len() > max {
            return Err(format!("the source pages past {max} datasets"));
        }
    }
    Ok(out)
}

/// A `package_search` answer's count and packages.
fn read_page(body: &[u8]) -> Result<(usize, Vec<Value>), String> {
    let v: Value = serde_json::from_slice(body).map_err(|e| format!("not a CKAN answer (JSON: {e})"))?;
    if v.get("success") != Some(&Value::Bool(true)) {
        let why = v.pointer("/error/message").and_then(Value::as_str).unwrap_or("no success flag");
        return Err(format!("the CKAN API answered with an error: {why}"));
    }
    let result = v.get("result").ok_or("the answer has no result")?;
    let count = result.get("count").and_then(Value::as_u64).ok_or("the result has no count")?;
    let packages = result.get("results").and_then(Value::as_array).ok_or("the result has no results")?.clone();
    Ok((usize::try_from(count).unwrap_or(usize::MAX), packages))
}

fn text(v: &Value, key: &str) -> String {
    v.get(key).and_then(Value::as_str).unwrap_or_default().trim().to_string()
}

/// A package as a harvested dataset: its identifier is the package's page at the portal,
/// `{root}/dataset/{name}`, as CKAN's DCAT extension names it.
pub(super) fn dataset(root: &str, p: &Value) -> Result<HarvestedDataset, String> {
    let name = text(p, "name");
    if name.is_empty() || name.contains(['/', '?', '#']) {
        return Err(format!("a package has no usable name ({name:?})"));
    }
    let extra = |keys: &[&str]| {
        p.get("extras").and_then(Value::as_array).and_then(|xs| {
            xs.iter()
                .find(|x| x.get("key").and_then(Value::as_str).is_some_and(|k| keys.contains(&k)))
                .and_then(|x| x.get("value").and_then(Value::as_str))
                .map(str::to_string)
        })
    };
    let title = text(p, "title");
    let mut description = text(p, "notes");
    if description.is_empty() {
        description = title.clone();
    }
    let org = p.get("organization").map(|o| text(o, "title")).filter(|t| !t.is_empty());
    let publisher = org.unwrap_or_else(|| text(p, "author"));
    let topics = p
        .get("groups")
        .and_then(Value::as_array)
        .map(|gs| gs.iter().map(|g| text(g, "title")).filter(|t| !t.is_empty()).collect())
        .unwrap_or_default();
    let licence = {
        let t = text(p, "license_title");
        if t.is_empty() { text(p, "license_id") } else { t }
    };
    let on_application =
        text(p, "license_id") == "pdp-on-application" || extra(&["open_type"]).is_some_and(|t| t == "on_application");
    let mut distributions: Vec<Distribution> = p
        .get("resources")
        .and_then(Value::as_array)
        .map(|rs| {
            rs.iter()
                .filter_map(|r| {
                    let url = text(r, "url");
                    (url.starts_with("http://") || url.starts_with("https://"))
                        .then(|| Distribution { url, format: text(r, "format").to_ascii_lowercase() })
                })
                .collect()
        })
        .unwrap_or_default();
    distributions.sort();
    Ok(HarvestedDataset {
        identifier: format!("{root}/dataset/{name}"),
        title,
        description,
        publisher,
        modified: text(p, "metadata_modified"),
        topics,
        frequency: extra(&["update_frequency", "frequency", "accrual_periodicity"]).and_then(|f| parse_frequency(&f)),
        licence,
        landing_page: format!("{root}/dataset/{name}"),
        on_application,
        distributions,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    // A package as data.gov.uk's CKAN returns it (trimmed): the fields harvesting reads.
    #[test]
    fn a_recorded_package_reads_into_a_dataset() {
        let p: Value = serde_json::from_str(
            r#"{"name": "bus-stops", "title": "Bus stops", "notes": "",
                "organization": {"title": "Transport Authority"}, "license_title": "Open Government Licence",
                "metadata_modified": "2024-05-01T10:00:00.000000",
                "groups": [{"title": "城乡建设"}],
                "extras": [{"key": "frequency", "value": "http://publications.europa.eu/resource/authority/frequency/MONTHLY"}],
                "resources": [{"url": "https://x.example/stops.csv", "format": "CSV"}, {"url": "ftp://x", "format": "CSV"}]}"#,
        )
        .unwrap();
        let d = dataset("https://data.example", &p).unwrap();
        assert_eq!(d.identifier, "https://data.example/dataset/bus-stops");
        assert_eq!(d.description, "Bus stops", "an empty description takes the title");
        assert_eq!(d.publisher, "Transport Authority");
        assert_eq!(d.frequency, Some(pdp_domain::catalog::Frequency::Monthly));
        assert_eq!(d.distributions.len(), 1, "only http(s) URLs are kept");
        assert_eq!(d.csv().map(|c| c.url.as_str()), Some("https://x.example/stops.csv"));
        assert!(read_page(br#"{"success": false, "error": {"message": "Not found"}}"#).is_err());
        assert!(read_page(b"<html>").is_err());
    }
}
