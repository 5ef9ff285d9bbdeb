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

use crate::share::column;
use crate::{Lake, Result, RowPage, batch_rows};

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
    pub async fn base_view(
        &self,
        sources: &[(Keyed<'_>, Vec<String>)],
        prefix: &str,
        offset: usize,
        limit: usize,
    ) -> Result<RowPage> {
        crate::page_fits(offset, limit)?;
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
