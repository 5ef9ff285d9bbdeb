//! The data authority's analyses across datasets (R-AGG-03, R-AGG-06): the cross-check of a
//! governed element between its authoritative source and another dataset, and a page of a base
//! view that gathers each subject's attributes from their sources.
//!
//! Both read the latest versions and group each dataset by its key (as text), taking one value
//! per key and element (the greatest, so the answer does not depend on file order). They are
//! built as DataFusion expressions, never as SQL text: key and element names come from the
//! catalog and the key prefix from a user, and neither can change a query's shape.

use datafusion::arrow::datatypes::DataType;
use datafusion::common::JoinType;
use datafusion::functions_aggregate::expr_fn::max;
use datafusion::prelude::{DataFrame, Expr, SessionContext, btrim, cast, col, lit, starts_with};

use datafusion::arrow::array::AsArray;

use crate::share::{Selection, column};
use crate::sortedkeys::{KeyArena, SortedKeys};
use crate::{Lake, Result, RowPage, batch_rows};

/// The sorted key lists kept, newest first (one per base view and set of source versions).
const BASE_LISTS_KEPT: usize = 8;

/// A dataset and its key field (citizen ID or credit code).
#[derive(Debug, Clone, Copy)]
pub struct Keyed<'a> {
    pub dataset: &'a str,
    pub key: &'a str,
}

/// What a cross-check of one pair of datasets found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PairCheck {
    /// Keys found in both datasets.
    pub compared: u64,
    /// Keys whose values differ, both non-empty.
    pub conflicts: u64,
    /// The first conflicts by key: key, the source's value, the other's value.
    pub kept: Vec<(String, String, String)>,
}

impl Lake {
    /// `dataset` grouped by its key as text (column `k`), with the greatest value of each of
    /// `elements` as text (columns `e0`, `e1`, …), trimmed of spaces when `trim` is set. Rows
    /// without a key are left out.
    async fn by_key(&self, ctx: &SessionContext, side: Keyed<'_>, elements: &[&str], trim: bool) -> Result<DataFrame> {
        let table = self.table_at(side.dataset, None).await?;
        table.update_datafusion_session(&ctx.state())?;
        let df = ctx.read_table(table.table_provider().await?)?.filter(column(side.key).is_not_null())?;
        let values: Vec<Expr> = elements
            .iter()
            .enumerate()
            .map(|(j, e)| {
                let text = cast(column(e), DataType::Utf8);
                max(if trim { btrim(vec![text]) } else { text }).alias(format!("e{j}"))
            })
            .collect();
        Ok(df.aggregate(vec![cast(column(side.key), DataType::Utf8).alias("k")], values)?)
    }

    /// Compares `element` between an authoritative source and another dataset on their keys
    /// (R-AGG-03): the keys found in both, the keys whose trimmed values differ (both
    /// non-empty), and the first `keep` of those by key with both values.
    pub async fn crosscheck_pair(
        &self,
        source: Keyed<'_>,
        other: Keyed<'_>,
        element: &str,
        keep: usize,
    ) -> Result<PairCheck> {
        let ctx = SessionContext::new();
        let a = self
            .by_key(&ctx, source, &[element], true)
            .await?
            .select(vec![col("k").alias("a_k"), col("e0").alias("a_v")])?;
        let b = self
            .by_key(&ctx, other, &[element], true)
            .await?
            .select(vec![col("k").alias("b_k"), col("e0").alias("b_v")])?;
        let both = a.join(b, JoinType::Inner, &["a_k"], &["b_k"], None)?;
        let compared = both.clone().count().await? as u64;
        let differ = col("a_v").not_eq(lit("")).and(col("b_v").not_eq(lit(""))).and(col("a_v").not_eq(col("b_v")));
        let conflicting = both.filter(differ)?;
        let conflicts = conflicting.clone().count().await? as u64;
        let mut kept = Vec::new();
        if conflicts > 0 && keep > 0 {
            let first = conflicting
                .sort(vec![col("a_k").sort(true, true)])?
                .limit(0, Some(keep))?
                .select(vec![col("a_k"), col("a_v"), col("b_v")])?
                .collect()
                .await?;
            for batch in &first {
                for row in batch_rows(batch)? {
                    let get = |i: usize| row.get(i).cloned().flatten().unwrap_or_default();
                    kept.push((get(0), get(1), get(2)));
                }
            }
        }
        Ok(PairCheck { compared, conflicts, kept })
    }

    /// A page of a base view (R-AGG-06): every key found in any of `sources` (starting with
    /// `prefix`, if given), in key order, each with the greatest value of each source's
    /// elements. Row `[key, s0e0, s0e1, …, s1e0, …]`; a source without the key gives nulls.
    /// `total` counts the keys.
    ///
    /// The keys come from a sorted key list of the sources' current versions
    /// ([`crate::sortedkeys`], built by the first page after a source changes) and each page
    /// key's values from the sources' key files, so a page costs the same at any offset and
    /// whatever the sources' size. Where key files cannot answer (a key column that is not
    /// text), the page is computed by DataFusion from every source's rows.
    pub async fn base_view(
        &self,
        sources: &[(Keyed<'_>, Vec<String>)],
        prefix: &str,
        offset: usize,
        limit: usize,
    ) -> Result<RowPage> {
        crate::page_fits(offset, limit)?;
        let mut columns = vec!["k".to_string()];
        for (i, (_, elements)) in sources.iter().enumerate() {
            columns.extend((0..elements.len()).map(|j| format!("s{i}_e{j}")));
        }
        if sources.is_empty() {
            return Ok(RowPage { columns, rows: Vec::new(), total: 0 });
        }
        let mut versions = Vec::with_capacity(sources.len());
        for (side, _) in sources {
            versions.push(self.current_version(side.dataset).await?);
        }
        let keys = self.base_keys(sources, &versions).await?;
        let (from, to) = keys.prefix_range(prefix)?;
        let start = from.saturating_add(offset as u64).min(to);
        let end = start.saturating_add(limit as u64).min(to);
        let mut rows = Vec::new();
        for i in start..end {
            let key = keys.key(i)?;
            let mut row = vec![Some(key.clone())];
            for ((side, elements), &version) in sources.iter().zip(&versions) {
                let sel = Selection { columns: elements.clone(), filters: vec![], order_by: None };
                let Some((_, found)) =
                    self.lookup(side.dataset, Some(version), &sel, (side.key, &key), 0, usize::MAX).await?
                else {
                    return self.base_view_scan(sources, prefix, offset, limit).await;
                };
                // The greatest value of each element over the key's rows, as the scan takes it.
                row.extend((0..elements.len()).map(|j| found.rows.iter().filter_map(|r| r[j].clone()).max()));
            }
            rows.push(row);
        }
        Ok(RowPage { columns, rows, total: to - from })
    }

    /// The sorted key list of `sources` at `versions`, built if there is none yet.
    async fn base_keys(&self, sources: &[(Keyed<'_>, Vec<String>)], versions: &[u64]) -> Result<SortedKeys> {
        use std::hash::Hasher;
        // Named after what it lists, so a new version of any source makes a new list.
        let mut h = siphasher::sip::SipHasher13::new_with_keys(0, 0);
        for ((side, _), v) in sources.iter().zip(versions) {
            for part in [side.dataset, side.key, &v.to_string()] {
                h.write(part.as_bytes());
                h.write_u8(0xff);
            }
        }
        let path = self.key_root().join("_pdp_base").join(format!("{:016x}.keys", h.finish()));
        if let Some(k) = SortedKeys::open(&path)? {
            return Ok(k);
        }
        let mut arena = KeyArena::default();
        for ((side, _), &v) in sources.iter().zip(versions) {
            let ctx = SessionContext::new();
            let table = self.table_at(side.dataset, Some(v)).await?;
            table.update_datafusion_session(&ctx.state())?;
            let df = ctx
                .read_table(table.table_provider().await?)?
                .filter(column(side.key).is_not_null())?
                .select(vec![cast(column(side.key), DataType::Utf8).alias("k")])?;
            let mut stream = df.execute_stream().await?;
            while let Some(batch) = futures::StreamExt::next(&mut stream).await {
                let batch = batch?;
                let keys = datafusion::arrow::compute::cast(batch.column(0), &DataType::Utf8)?;
                for k in keys.as_string::<i32>().iter().flatten() {
                    arena.push(k)?;
                }
            }
        }
        let at = path.clone();
        tokio::task::spawn_blocking(move || arena.write(&at))
            .await
            .map_err(|e| crate::LakeError::Io(format!("sorted key list: {e}")))??;
        // Lists of older versions are of no more use once a source has moved on; a few are kept
        // for pages being read while it moved (a file being read stays readable after removal).
        if let Some(dir) = path.parent() {
            crate::sortedkeys::keep_newest(dir, BASE_LISTS_KEPT);
        }
        SortedKeys::open(&path)?.ok_or_else(|| crate::LakeError::Io(format!("{}: not written", path.display())))
    }

    /// Every key of the sources with each source's elements, sorted by key, at most `max_keys`
    /// of them, and how many keys there are in all: the rows of a theme database, a join of its
    /// members by key. Columns: `k`, then per source its elements in order.
    pub async fn join_by_key(&self, sources: &[(Keyed<'_>, Vec<String>)], max_keys: usize) -> Result<RowPage> {
        self.base_view_scan(sources, "", 0, max_keys).await
    }

    /// [`Lake::base_view`] computed from every row of the sources.
    async fn base_view_scan(
        &self,
        sources: &[(Keyed<'_>, Vec<String>)],
        prefix: &str,
        offset: usize,
        limit: usize,
    ) -> Result<RowPage> {
        let ctx = SessionContext::new();
        let mut parts = Vec::new();
        let mut columns = vec!["k".to_string()];
        for (i, (side, elements)) in sources.iter().enumerate() {
            let names: Vec<&str> = elements.iter().map(String::as_str).collect();
            let df = self.by_key(&ctx, *side, &names, false).await?;
            // Each source's columns get names of their own, so the joins below never clash.
            let mut select = vec![col("k").alias(format!("s{i}_k"))];
            for j in 0..elements.len() {
                select.push(col(format!("e{j}")).alias(format!("s{i}_e{j}")));
                columns.push(format!("s{i}_e{j}"));
            }
            parts.push(df.select(select)?);
        }
        let Some((first, rest)) = parts.split_first() else {
            return Ok(RowPage { columns, rows: Vec::new(), total: 0 });
        };
        let mut keys = first.clone().select(vec![col("s0_k").alias("k")])?;
        for (i, p) in rest.iter().enumerate() {
            keys = keys.union(p.clone().select(vec![col(format!("s{}_k", i + 1)).alias("k")])?)?;
        }
        let mut keys = keys.distinct()?;
        if !prefix.is_empty() {
            keys = keys.filter(starts_with(col("k"), lit(prefix)))?;
        }
        let total = keys.clone().count().await? as u64;
        // The page's keys first, then their attributes: the joins see a page, not every key.
        let mut page = keys.sort(vec![col("k").sort(true, true)])?.limit(offset, Some(limit))?;
        for (i, p) in parts.into_iter().enumerate() {
            let key = format!("s{i}_k");
            page = page.join(p, JoinType::Left, &["k"], &[key.as_str()], None)?;
        }
        let select: Vec<Expr> = columns.iter().map(|c| col(c.as_str())).collect();
        let batches = page.select(select)?.sort(vec![col("k").sort(true, true)])?.collect().await?;
        let mut rows = Vec::new();
        for b in &batches {
            rows.extend(batch_rows(b)?);
        }
        Ok(RowPage { columns, rows, total })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{CellRows, LoadMeta, LoadMode};
    use pdp_domain::catalog::EntryBody;

    fn entry(key_rule: bool) -> EntryBody {
        serde_json::from_value(serde_json::json!({
            "name": "人员", "summary": "t", "class": "base", "item": "01", "format": "database",
            "frequency": "daily", "identifier_field": "id_no",
            "fields": [
                {"name": "id_no", "label": "标识", "data_type": "text", "grade": "l2", "rules": {"key": key_rule}},
                {"name": "name", "label": "姓名", "data_type": "text", "grade": "l2"},
                {"name": "born", "label": "出生", "data_type": "date", "grade": "l2"}
            ],
            "share": {"share_type": "conditional", "modes": ["view"]},
            "open": {"open_type": "not_open"}
        }))
        .unwrap()
    }

    /// covers: R-AGG-06 (a base view's pages from the sorted key list and the key files are the
    /// pages DataFusion computes from every row: any prefix, offset and size, keys in one source
    /// only, several rows of one key, null values)
    #[tokio::test]
    async fn base_view_pages_agree_with_the_scan() {
        let dir = tempfile::tempdir().unwrap();
        let lake = Lake::open(dir.path().to_str().unwrap()).unwrap();
        let today = time::macros::date!(2026 - 12 - 07);
        let load = |ds: &'static str, e: EntryBody, rows: Vec<Vec<String>>| {
            let lake = lake.clone();
            async move {
                let meta = LoadMeta { actor: "t".into(), ..Default::default() };
                let src = Box::new(CellRows::new(&e.fields, rows));
                lake.load(ds, &e, LoadMode::Full, today, meta, src, |_| {}).await.unwrap();
            }
        };
        let a: Vec<Vec<String>> = (0..120)
            .map(|i| {
                vec![
                    format!("35{:02}{i:03}", i % 7),
                    if i % 5 == 0 { String::new() } else { format!("甲{i}") },
                    format!("1980-01-{:02}", i % 28 + 1),
                ]
            })
            .collect();
        // The second source repeats keys (no key rule) and has keys of its own.
        let b: Vec<Vec<String>> = (60..200)
            .flat_map(|i| {
                [
                    vec![format!("35{:02}{i:03}", i % 7), format!("乙{i}"), String::new()],
                    vec![format!("35{:02}{i:03}", i % 7), format!("丙{i}"), "2000-02-02".into()],
                ]
            })
            .collect();
        load("a", entry(true), a).await;
        load("b", entry(false), b).await;
        let sources = vec![
            (Keyed { dataset: "a", key: "id_no" }, vec!["name".to_string(), "born".to_string()]),
            (Keyed { dataset: "b", key: "id_no" }, vec!["name".to_string()]),
        ];
        for (prefix, offset, limit) in
            [("", 0, 10), ("", 95, 30), ("", 190, 50), ("3503", 0, 100), ("3503", 7, 5), ("36", 0, 10)]
        {
            let fast = lake.base_view(&sources, prefix, offset, limit).await.unwrap();
            let scan = lake.base_view_scan(&sources, prefix, offset, limit).await.unwrap();
            assert_eq!((fast.total, &fast.columns), (scan.total, &scan.columns), "{prefix} {offset}");
            assert_eq!(fast.rows, scan.rows, "{prefix} {offset} {limit}");
        }
    }
}
