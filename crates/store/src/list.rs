//! Filtered, sorted, paginated list queries, shared by every list endpoint.
//!
//! A list is two queries whatever the page size: one `COUNT(*)` and one page of ids, both
//! over the same `WHERE`. Repositories then hydrate the page by id with a fixed number of
//! batched queries, so no endpoint does a query per row. Columns and operators come from
//! the API layer's allow-lists, never from the request; values are always bound.
//!
//! On PostgreSQL the big ledger tables (order items, orders, discount items) listed in id
//! order with no filter or only `status = …` take a faster route, because `COUNT(*)` and a
//! deep `OFFSET` each walk the whole index there (≈100 ms at a million rows): the count and
//! the 4096-id bucket a page starts in come from the trigger-maintained deltas of
//! `list_counts` (migration 0006; exact and transactional), and the page scan starts at that
//! bucket, so it skips at most 4095 index entries whatever the page.

use sqlx::Row;

use crate::{Result, Store};

/// A bound value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Int(i64),
    Text(String),
}

impl From<i64> for Value {
    fn from(v: i64) -> Self {
        Value::Int(v)
    }
}
impl From<String> for Value {
    fn from(v: String) -> Self {
        Value::Text(v)
    }
}
impl From<&str> for Value {
    fn from(v: &str) -> Self {
        Value::Text(v.to_owned())
    }
}

/// Comparison operators a filter may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Eq,
    Gt,
    Gte,
    Lt,
    Lte,
}

impl Op {
    fn sql(self) -> &'static str {
        match self {
            Op::Eq => "=",
            Op::Gt => ">",
            Op::Gte => ">=",
            Op::Lt => "<",
            Op::Lte => "<=",
        }
    }
}

/// The shape of a query's `WHERE`, as far as `list_counts` can answer it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    /// No condition.
    All,
    /// Only `status = v`.
    Status(i64),
    /// Anything else: plain `COUNT(*)` and `OFFSET`.
    Other,
}

/// What to list: conditions, order and window.
#[derive(Debug, Clone)]
pub struct ListQuery {
    clauses: Vec<String>,
    values: Vec<Value>,
    order_by: String,
    shape: Shape,
    /// `Some(descending)` when ordered by id alone.
    id_order: Option<bool>,
    pub limit: i64,
    pub offset: i64,
}

impl Default for ListQuery {
    fn default() -> Self {
        ListQuery {
            clauses: Vec::new(),
            values: Vec::new(),
            order_by: "id ASC".into(),
            shape: Shape::All,
            id_order: Some(false),
            limit: 10,
            offset: 0,
        }
    }
}

impl ListQuery {
    pub fn new() -> Self {
        Self::default()
    }

    /// `column op value`. `column` must come from an allow-list (it is pasted into SQL).
    pub fn filter(&mut self, column: &'static str, op: Op, value: impl Into<Value>) -> &mut Self {
        let value = value.into();
        self.shape = match (self.shape, column, op, &value) {
            (Shape::All, "status", Op::Eq, Value::Int(v)) => Shape::Status(*v),
            _ => Shape::Other,
        };
        self.values.push(value);
        self.clauses.push(format!("{column} {} ${}", op.sql(), self.values.len()));
        self
    }

    /// `column IN (…)`; an empty list matches nothing.
    pub fn filter_in(&mut self, column: &'static str, values: Vec<i64>) -> &mut Self {
        self.shape = Shape::Other;
        if values.is_empty() {
            self.clauses.push("1 = 0".into());
            return self;
        }
        let mut marks = Vec::with_capacity(values.len());
        for v in values {
            self.values.push(Value::Int(v));
            marks.push(format!("${}", self.values.len()));
        }
        self.clauses.push(format!("{column} IN ({})", marks.join(", ")));
        self
    }

    /// A raw condition with `?` standing for each of `values`, in order. Only for SQL
    /// written in this crate: callers outside it name typed filters instead (e.g.
    /// [`crate::ledger::LedgerFilter`]).
    pub(crate) fn raw(&mut self, sql: &str, values: Vec<Value>) -> &mut Self {
        self.shape = Shape::Other;
        let mut out = String::with_capacity(sql.len() + 8);
        let mut it = values.into_iter();
        for ch in sql.chars() {
            if ch == '?' {
                self.values.push(it.next().expect("one value per ?"));
                out.push_str(&format!("${}", self.values.len()));
            } else {
                out.push(ch);
            }
        }
        self.clauses.push(out);
        self
    }

    /// Order by an allow-listed column; ties always break on `id` so pages are stable.
    pub fn order(&mut self, column: &'static str, descending: bool) -> &mut Self {
        let dir = if descending { "DESC" } else { "ASC" };
        self.id_order = (column == "id").then_some(descending);
        self.order_by = if column == "id" { format!("id {dir}") } else { format!("{column} {dir}, id {dir}") };
        self
    }

    pub fn page(&mut self, limit: i64, offset: i64) -> &mut Self {
        self.limit = limit;
        self.offset = offset;
        self
    }

    fn where_sql(&self) -> String {
        if self.clauses.is_empty() { String::new() } else { format!(" WHERE {}", self.clauses.join(" AND ")) }
    }

    fn bind<'q>(
        mut q: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
        values: &'q [Value],
    ) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
        for v in values {
            q = match v {
                Value::Int(i) => q.bind(*i),
                Value::Text(s) => q.bind(s.as_str()),
            };
        }
        q
    }
}

impl Store {
    /// Runs `sql` (with `$1…$n` standing for `ids`) on the read pool.
    pub async fn fetch_in(&self, sql: String, ids: &[i64]) -> Result<Vec<sqlx::any::AnyRow>> {
        Ok(bind_all!(sqlx::query(&sql), ids).fetch_all(self.reader()).await?)
    }

    /// Runs `query` against `table`: the total count and one page of ids.
    pub async fn list_ids(&self, table: &'static str, query: &ListQuery) -> Result<(i64, Vec<i64>)> {
        if let Some(fast) = self.list_ids_counted(table, query).await? {
            return Ok(fast);
        }
        let where_sql = query.where_sql();
        let count_sql = format!("SELECT COUNT(*) FROM {table}{where_sql}");
        let count: i64 =
            ListQuery::bind(sqlx::query(&count_sql), &query.values).fetch_one(self.reader()).await?.try_get(0)?;
        if count == 0 || query.offset >= count {
            return Ok((count, Vec::new()));
        }
        let page_sql = format!(
            "SELECT id FROM {table}{where_sql} ORDER BY {} LIMIT {} OFFSET {}",
            query.order_by, query.limit, query.offset
        );
        let rows = ListQuery::bind(sqlx::query(&page_sql), &query.values).fetch_all(self.reader()).await?;
        let ids = rows.iter().map(|r| r.try_get::<i64, _>(0)).collect::<Result<Vec<_>, _>>()?;
        Ok((count, ids))
    }
}

/// Ids per `list_counts` bucket (the `4096` of migration 0006).
const BUCKET: i64 = 4096;

/// Delta rows of one table above which a reader folds them (one row per status and bucket
/// remains); reading them costs about a microsecond each.
const FOLD_ABOVE: i64 = 2_000;

/// One fold at a time per process; a concurrent fold elsewhere is harmless, just wasted.
static FOLDING: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

impl Store {
    /// The `list_counts` route of [`Store::list_ids`], or `None` when it does not apply
    /// (SQLite, another table, another filter or sort). Same answer as `COUNT(*)` and
    /// `OFFSET`: the deltas are written by triggers in the writers' transactions.
    async fn list_ids_counted(&self, table: &'static str, query: &ListQuery) -> Result<Option<(i64, Vec<i64>)>> {
        let status = match (self.backend(), table, query.shape) {
            (crate::Backend::Postgres, "order_items" | "orders", Shape::Status(s)) => Some(s),
            (crate::Backend::Postgres, "order_items" | "orders" | "discount_items", Shape::All) => None,
            _ => return Ok(None),
        };
        let Some(desc) = query.id_order else { return Ok(None) };
        let dir = if desc { "DESC" } else { "ASC" };
        let status_sql = if status.is_some() { " AND status = $3" } else { "" };
        // The total, the number of delta rows (to decide on folding), and the bucket that
        // holds position `offset` in id order with the number of rows before it.
        let locate = format!(
            "WITH b AS (SELECT bucket, SUM(delta)::BIGINT AS n FROM list_counts WHERE tbl = $1{status_sql} GROUP BY bucket), \
             c AS (SELECT bucket, n, (SUM(n) OVER (ORDER BY bucket {dir}) - n)::BIGINT AS before FROM b WHERE n > 0) \
             SELECT (SELECT COALESCE(SUM(n), 0) FROM b)::BIGINT AS total, \
             (SELECT COUNT(*) FROM list_counts WHERE tbl = $1)::BIGINT AS deltas, c.bucket, c.before \
             FROM (SELECT 1 AS one) one LEFT JOIN c ON c.before <= $2 AND c.before + c.n > $2"
        );
        let mut q = sqlx::query(&locate).bind(table).bind(query.offset);
        if let Some(s) = status {
            q = q.bind(s);
        }
        let row = q.fetch_one(self.reader()).await?;
        let total: i64 = row.try_get("total")?;
        let deltas: i64 = row.try_get("deltas")?;
        if deltas > FOLD_ABOVE + (total / BUCKET + 1) * 4 {
            self.fold_in_background(table);
        }
        let (Some(bucket), Some(before)) =
            (row.try_get::<Option<i64>, _>("bucket")?, row.try_get::<Option<i64>, _>("before")?)
        else {
            return Ok(Some((total, Vec::new())));
        };
        let (bound, bound_value) = if desc { ("id <", (bucket + 1) * BUCKET) } else { ("id >=", bucket * BUCKET) };
        let status_sql = if status.is_some() { "status = $2 AND " } else { "" };
        let page_sql = format!(
            "SELECT id FROM {table} WHERE {status_sql}{bound} $1 ORDER BY id {dir} LIMIT {} OFFSET {}",
            query.limit,
            query.offset - before
        );
        let mut q = sqlx::query(&page_sql).bind(bound_value);
        if let Some(s) = status {
            q = q.bind(s);
        }
        let rows = q.fetch_all(self.reader()).await?;
        let ids = rows.iter().map(|r| r.try_get::<i64, _>(0)).collect::<Result<Vec<_>, _>>()?;
        Ok(Some((total, ids)))
    }

    /// Folds `table`'s `list_counts` deltas into one row per (status, bucket). One
    /// statement, so the sum every snapshot sees is unchanged; a writer's rows inserted
    /// meanwhile are not in the statement's snapshot and stay as they are. Bulk writers
    /// (`offerline generate`) call it when done; readers call it in the background when the
    /// deltas pile up. PostgreSQL only (a no-op on SQLite).
    pub async fn fold_list_counts(&self, table: &str) -> Result<()> {
        if self.backend() != crate::Backend::Postgres {
            return Ok(());
        }
        sqlx::query(
            "WITH gone AS (DELETE FROM list_counts WHERE tbl = $1 RETURNING status, bucket, delta) \
             INSERT INTO list_counts (tbl, status, bucket, delta) \
             SELECT $1, status, bucket, SUM(delta)::BIGINT FROM gone GROUP BY status, bucket HAVING SUM(delta) <> 0",
        )
        .bind(table)
        .execute(self.writer())
        .await?;
        Ok(())
    }

    /// [`Store::fold_list_counts`] on a background task, at most one at a time per process.
    fn fold_in_background(&self, table: &'static str) {
        use std::sync::atomic::Ordering;
        if FOLDING.swap(true, Ordering::AcqRel) {
            return;
        }
        let store = self.clone();
        tokio::spawn(async move {
            if let Err(e) = store.fold_list_counts(table).await {
                tracing::warn!(table, error = %e, "folding list counts failed; a later read retries");
            }
            FOLDING.store(false, Ordering::Release);
        });
    }
}

/// `$1, $2, …` for `n` values starting after `offset` bound values.
pub fn placeholders(offset: usize, n: usize) -> String {
    (offset + 1..=offset + n).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ")
}

/// Reorders hydrated rows to match the page's id order.
pub fn in_id_order<T>(ids: &[i64], mut rows: Vec<T>, id_of: impl Fn(&T) -> i64) -> Vec<T> {
    let pos: std::collections::HashMap<i64, usize> = ids.iter().enumerate().map(|(i, id)| (*id, i)).collect();
    rows.sort_by_key(|r| pos.get(&id_of(r)).copied().unwrap_or(usize::MAX));
    rows
}
