//! Filtered, sorted, paginated list queries, shared by every list endpoint.
//!
//! A list is two queries whatever the page size: one `COUNT(*)` and one page of ids, both
//! over the same `WHERE`. Repositories then hydrate the page by id with a fixed number of
//! batched queries, so no endpoint does a query per row. Columns and operators come from
//! the API layer's allow-lists, never from the request; values are always bound.

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

/// What to list: conditions, order and window.
#[derive(Debug, Clone)]
pub struct ListQuery {
    clauses: Vec<String>,
    values: Vec<Value>,
    order_by: String,
    pub limit: i64,
    pub offset: i64,
}

impl Default for ListQuery {
    fn default() -> Self {
        ListQuery { clauses: Vec::new(), values: Vec::new(), order_by: "id ASC".into(), limit: 10, offset: 0 }
    }
}

impl ListQuery {
    pub fn new() -> Self {
        Self::default()
    }

    /// `column op value`. `column` must come from an allow-list (it is pasted into SQL).
    pub fn filter(&mut self, column: &'static str, op: Op, value: impl Into<Value>) -> &mut Self {
        self.values.push(value.into());
        self.clauses.push(format!("{column} {} ${}", op.sql(), self.values.len()));
        self
    }

    /// `column IN (…)`; an empty list matches nothing.
    pub fn filter_in(&mut self, column: &'static str, values: Vec<i64>) -> &mut Self {
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
    /// written in this crate or the API's allow-lists.
    pub fn raw(&mut self, sql: &str, values: Vec<Value>) -> &mut Self {
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
