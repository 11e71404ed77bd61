//! One way to run the statements of the order write path, so that it is written once and
//! run two ways:
//!
//! - by sqlx inside a transaction (PostgreSQL, and the Elastic Path order path on both engines);
//! - synchronously by rusqlite on the SQLite checkout writer's own thread
//!   ([`crate::writer`]), where a statement is a function call. Through sqlx's SQLite driver
//!   every statement is a round trip to the connection's worker thread, two thread wake-ups;
//!   at fifteen statements an order those hand-offs, not SQLite, were what capped checkout.
//!
//! Statements use the store's `$1, $2, …` placeholders; a number may appear more than once
//! and in any order (`VALUES ($3, $1, $2)`), as with sqlx. Values are 64-bit integers and
//! text, either possibly NULL, and a NULL keeps its type, so PostgreSQL is never handed a
//! `bigint` NULL for a text column.
//!
//! The methods return futures so that one `async fn` serves both runners; rusqlite's are
//! already complete when returned (the work is done before), which keeps them `Send` even
//! though a rusqlite connection is not `Sync`.

use std::borrow::Cow;
use std::future::Future;

use rusqlite::types::{ToSqlOutput, ValueRef};
use sqlx::Row;

use crate::{Result, StoreError};

/// A bound value or a column read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Param<'a> {
    Int(Option<i64>),
    Text(Option<Cow<'a, str>>),
}

impl Param<'_> {
    /// The value as an integer (`None` for NULL or text).
    pub fn int(&self) -> Option<i64> {
        match self {
            Param::Int(v) => *v,
            Param::Text(_) => None,
        }
    }

    /// The value as text (`None` for NULL or an integer).
    pub fn text(&self) -> Option<&str> {
        match self {
            Param::Text(Some(s)) => Some(s),
            _ => None,
        }
    }
}

impl From<i64> for Param<'_> {
    fn from(v: i64) -> Self {
        Param::Int(Some(v))
    }
}
impl From<Option<i64>> for Param<'_> {
    fn from(v: Option<i64>) -> Self {
        Param::Int(v)
    }
}
impl<'a> From<&'a str> for Param<'a> {
    fn from(v: &'a str) -> Self {
        Param::Text(Some(Cow::Borrowed(v)))
    }
}
impl<'a> From<&'a String> for Param<'a> {
    fn from(v: &'a String) -> Self {
        Param::Text(Some(Cow::Borrowed(v)))
    }
}
impl<'a> From<&'a Option<String>> for Param<'a> {
    fn from(v: &'a Option<String>) -> Self {
        Param::Text(v.as_deref().map(Cow::Borrowed))
    }
}
impl From<String> for Param<'_> {
    fn from(v: String) -> Self {
        Param::Text(Some(Cow::Owned(v)))
    }
}
impl From<Option<String>> for Param<'_> {
    fn from(v: Option<String>) -> Self {
        Param::Text(v.map(Cow::Owned))
    }
}

/// A row read back: its columns in order.
pub type Values = Vec<Param<'static>>;

/// Runs statements inside an open transaction.
pub trait Exec {
    /// Runs one statement; returns how many rows it changed.
    fn execute(&mut self, sql: &str, params: &[Param<'_>]) -> impl Future<Output = Result<u64>> + Send;
    /// Runs one statement and returns every row it yields (`SELECT`, `… RETURNING`).
    fn rows(&mut self, sql: &str, params: &[Param<'_>]) -> impl Future<Output = Result<Vec<Values>>> + Send;
}

/// The first column of every row, as integers (`RETURNING id`).
pub async fn ints<E: Exec>(e: &mut E, sql: &str, params: &[Param<'_>]) -> Result<Vec<i64>> {
    e.rows(sql, params)
        .await?
        .iter()
        .map(|r| r.first().and_then(Param::int).ok_or_else(|| StoreError::Internal(format!("no integer from {sql}"))))
        .collect()
}

/// The first column of the first row as an integer, if there is a row.
pub async fn opt_int<E: Exec>(e: &mut E, sql: &str, params: &[Param<'_>]) -> Result<Option<i64>> {
    Ok(ints(e, sql, params).await?.into_iter().next())
}

impl Exec for sqlx::AnyConnection {
    async fn execute(&mut self, sql: &str, params: &[Param<'_>]) -> Result<u64> {
        Ok(bind_sqlx(sqlx::query(sql), params).execute(&mut *self).await?.rows_affected())
    }

    async fn rows(&mut self, sql: &str, params: &[Param<'_>]) -> Result<Vec<Values>> {
        let rows = bind_sqlx(sqlx::query(sql), params).fetch_all(&mut *self).await?;
        rows.iter().map(values_of_any_row).collect()
    }
}

impl Exec for sqlx::Transaction<'_, sqlx::Any> {
    async fn execute(&mut self, sql: &str, params: &[Param<'_>]) -> Result<u64> {
        Ok(bind_sqlx(sqlx::query(sql), params).execute(&mut **self).await?.rows_affected())
    }

    async fn rows(&mut self, sql: &str, params: &[Param<'_>]) -> Result<Vec<Values>> {
        let rows = bind_sqlx(sqlx::query(sql), params).fetch_all(&mut **self).await?;
        rows.iter().map(values_of_any_row).collect()
    }
}

/// The PostgreSQL checkout writer's connection ([`crate::pg_writer`]): native rather than
/// through `Any`, so that it can bind arrays (its bulk statements, `pg_bulk`).
impl Exec for sqlx::PgConnection {
    async fn execute(&mut self, sql: &str, params: &[Param<'_>]) -> Result<u64> {
        Ok(bind_pg(sqlx::query(sql), params).execute(&mut *self).await?.rows_affected())
    }

    async fn rows(&mut self, sql: &str, params: &[Param<'_>]) -> Result<Vec<Values>> {
        let rows = bind_pg(sqlx::query(sql), params).fetch_all(&mut *self).await?;
        rows.iter().map(values_of_pg_row).collect()
    }
}

fn bind_pg<'q>(
    mut q: sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments>,
    params: &'q [Param<'_>],
) -> sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments> {
    for p in params {
        q = match p {
            Param::Int(v) => q.bind(*v),
            Param::Text(v) => q.bind(v.as_deref()),
        };
    }
    q
}

/// A PostgreSQL row as [`Values`]: integer columns of any width as integers (a NULL one
/// too), everything else as text (the schema has nothing else: see the first migration).
pub(crate) fn values_of_pg_row(row: &sqlx::postgres::PgRow) -> Result<Values> {
    use sqlx::postgres::Postgres;
    use sqlx::{Column, Type, TypeInfo};
    row.columns()
        .iter()
        .map(|c| {
            let (i, ty) = (c.ordinal(), c.type_info());
            Ok(if <i64 as Type<Postgres>>::compatible(ty) {
                Param::Int(row.try_get::<Option<i64>, _>(i)?)
            } else if <i32 as Type<Postgres>>::compatible(ty) {
                Param::Int(row.try_get::<Option<i32>, _>(i)?.map(i64::from))
            } else if <i16 as Type<Postgres>>::compatible(ty) {
                Param::Int(row.try_get::<Option<i16>, _>(i)?.map(i64::from))
            } else if ty.is_null() {
                Param::Int(None)
            } else {
                Param::Text(row.try_get::<Option<String>, _>(i)?.map(Cow::Owned))
            })
        })
        .collect()
}

fn bind_sqlx<'q>(
    mut q: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
    params: &'q [Param<'_>],
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
    for p in params {
        q = match p {
            Param::Int(v) => q.bind(*v),
            Param::Text(v) => q.bind(v.as_deref()),
        };
    }
    q
}

/// An `Any` row as [`Values`], each column read by its type (an attempt to read text as an
/// integer first would build an error, its message formatted, per text column).
fn values_of_any_row(row: &sqlx::any::AnyRow) -> Result<Values> {
    use sqlx::{Column, TypeInfo};
    row.columns()
        .iter()
        .map(|c| {
            let (i, ty) = (c.ordinal(), c.type_info());
            Ok(if ty.kind().is_integer() {
                Param::Int(row.try_get::<Option<i64>, _>(i)?)
            } else if ty.is_null() {
                Param::Int(None)
            } else {
                match row.try_get::<Option<String>, _>(i) {
                    Ok(v) => Param::Text(v.map(Cow::Owned)),
                    // Whatever else (a boolean, a float): as before, an integer if it reads as one.
                    Err(e) => Param::Int(row.try_get::<Option<i64>, _>(i).map_err(|_| e)?),
                }
            })
        })
        .collect()
}

/// Reading a row's columns by position, from sqlx's rows and from [`Values`] alike, so
/// that one mapper per type serves both drivers.
pub trait Cols {
    fn int(&self, i: usize) -> Result<i64>;
    fn opt_int(&self, i: usize) -> Result<Option<i64>>;
    fn text(&self, i: usize) -> Result<String>;
    fn opt_text(&self, i: usize) -> Result<Option<String>>;
}

impl Cols for sqlx::any::AnyRow {
    fn int(&self, i: usize) -> Result<i64> {
        Ok(self.try_get(i)?)
    }
    fn opt_int(&self, i: usize) -> Result<Option<i64>> {
        Ok(self.try_get(i)?)
    }
    fn text(&self, i: usize) -> Result<String> {
        Ok(self.try_get(i)?)
    }
    fn opt_text(&self, i: usize) -> Result<Option<String>> {
        Ok(self.try_get(i)?)
    }
}

impl Cols for [Param<'static>] {
    fn int(&self, i: usize) -> Result<i64> {
        self.opt_int(i)?.ok_or_else(|| StoreError::Internal(format!("column {i} is NULL")))
    }
    fn opt_int(&self, i: usize) -> Result<Option<i64>> {
        match self.get(i) {
            Some(Param::Int(v)) => Ok(*v),
            _ => Err(StoreError::Internal(format!("column {i} is not an integer"))),
        }
    }
    fn text(&self, i: usize) -> Result<String> {
        self.opt_text(i)?.ok_or_else(|| StoreError::Internal(format!("column {i} is NULL")))
    }
    fn opt_text(&self, i: usize) -> Result<Option<String>> {
        match self.get(i) {
            Some(Param::Text(v)) => Ok(v.as_deref().map(str::to_owned)),
            Some(Param::Int(None)) => Ok(None),
            _ => Err(StoreError::Internal(format!("column {i} is not text"))),
        }
    }
}

/// Runs a future over [`SqliteExec`] to its end. Its statements run synchronously when
/// called, so it is complete at the first poll; a future that is not (which would be a bug:
/// something awaited real I/O) fails instead of blocking.
pub fn complete<T>(f: impl Future<Output = Result<T>>) -> Result<T> {
    let mut f = std::pin::pin!(f);
    match f.as_mut().poll(&mut std::task::Context::from_waker(std::task::Waker::noop())) {
        std::task::Poll::Ready(v) => v,
        std::task::Poll::Pending => Err(StoreError::Unavailable("a SQLite statement did not complete".into())),
    }
}

/// Connections for small reads on the calling thread (SQLite files only).
///
/// Through sqlx a read is a round trip to a pooled connection's worker thread and another
/// when the pool pings the connection on its return; the reads that price a basket for
/// checkout are a handful of indexed lookups of a few rows, cheaper to run in place than to
/// hand over. Only such bounded reads use this (never a list or a scan): they block the
/// runtime worker for tens of microseconds. WAL readers never wait for the writer.
#[derive(Debug)]
pub struct SqliteReaders {
    path: std::path::PathBuf,
    idle: std::sync::Mutex<Vec<rusqlite::Connection>>,
}

/// Idle reader connections kept; more are opened under load and closed after use.
const IDLE_READERS: usize = 8;

impl SqliteReaders {
    pub fn new(path: std::path::PathBuf) -> Self {
        SqliteReaders { path, idle: std::sync::Mutex::new(Vec::new()) }
    }

    /// Runs `f` on an idle connection (opened if there is none), then keeps it for the next.
    pub fn with<T>(&self, f: impl FnOnce(&mut SqliteExec<'_>) -> Result<T>) -> Result<T> {
        let taken = self.idle.lock().map_err(|_| StoreError::Unavailable("reader pool poisoned".into()))?.pop();
        let conn = match taken {
            Some(c) => c,
            None => {
                let c = rusqlite::Connection::open_with_flags(
                    &self.path,
                    rusqlite::OpenFlags::SQLITE_OPEN_READ_WRITE | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
                )?;
                c.execute_batch("PRAGMA query_only=1; PRAGMA busy_timeout=10000; PRAGMA cache_size=-8000;")?;
                c
            }
        };
        let out = f(&mut SqliteExec { conn: &conn });
        if let Ok(mut idle) = self.idle.lock()
            && idle.len() < IDLE_READERS
        {
            idle.push(conn);
        }
        out
    }
}

/// A rusqlite connection with a transaction open on it (the checkout writer's).
pub struct SqliteExec<'c> {
    pub conn: &'c rusqlite::Connection,
}

impl rusqlite::ToSql for Param<'_> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(match self {
            Param::Int(Some(v)) => ToSqlOutput::Borrowed(ValueRef::Integer(*v)),
            Param::Text(Some(s)) => ToSqlOutput::Borrowed(ValueRef::Text(s.as_bytes())),
            Param::Int(None) | Param::Text(None) => ToSqlOutput::Borrowed(ValueRef::Null),
        })
    }
}

impl SqliteExec<'_> {
    /// Prepares (from the connection's statement cache) and binds `$n` to `params[n - 1]`.
    ///
    /// The `$n` are rewritten to SQLite's own `?n`, whose parameter index is `n`: binding
    /// by name would look every name up in a list, quadratic in a 300-value INSERT.
    fn bound(&self, sql: &str, params: &[Param<'_>]) -> Result<rusqlite::CachedStatement<'_>> {
        let mut stmt = self.conn.prepare_cached(&numbered(sql))?;
        let count = stmt.parameter_count();
        if count > params.len() {
            return Err(StoreError::Internal(format!("{sql:?} takes {count} values, {} given", params.len())));
        }
        for (i, p) in params.iter().enumerate().take(count) {
            stmt.raw_bind_parameter(i + 1, p)?;
        }
        Ok(stmt)
    }

    fn execute_now(&self, sql: &str, params: &[Param<'_>]) -> Result<u64> {
        Ok(self.bound(sql, params)?.raw_execute()? as u64)
    }

    fn rows_now(&self, sql: &str, params: &[Param<'_>]) -> Result<Vec<Values>> {
        let mut stmt = self.bound(sql, params)?;
        let mut rows = stmt.raw_query();
        let mut out = Vec::new();
        while let Some(row) = rows.next()? {
            let n = row.as_ref().column_count();
            let mut values = Vec::with_capacity(n);
            for i in 0..n {
                values.push(match row.get_ref(i)? {
                    ValueRef::Null => Param::Int(None),
                    ValueRef::Integer(v) => Param::Int(Some(v)),
                    ValueRef::Text(t) => Param::Text(Some(Cow::Owned(String::from_utf8_lossy(t).into_owned()))),
                    other => {
                        return Err(StoreError::Internal(format!(
                            "unexpected {:?} column from {sql:?}",
                            other.data_type()
                        )));
                    }
                });
            }
            out.push(values);
        }
        Ok(out)
    }
}

/// `$n` → `?n` (the store's SQL has no `$` inside string literals).
fn numbered(sql: &str) -> String {
    sql.replace('$', "?")
}

impl Exec for SqliteExec<'_> {
    fn execute(&mut self, sql: &str, params: &[Param<'_>]) -> impl Future<Output = Result<u64>> + Send {
        std::future::ready(self.execute_now(sql, params))
    }

    fn rows(&mut self, sql: &str, params: &[Param<'_>]) -> impl Future<Output = Result<Vec<Values>>> + Send {
        std::future::ready(self.rows_now(sql, params))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conn() -> rusqlite::Connection {
        let c = rusqlite::Connection::open_in_memory().unwrap();
        c.execute_batch("CREATE TABLE t (id INTEGER PRIMARY KEY, a INTEGER, b TEXT)").unwrap();
        c
    }

    /// `$n` binds by number, in any order and repeated, as sqlx does; NULLs and text round-trip.
    #[test]
    fn numbered_placeholders_bind_by_number() {
        let c = conn();
        let e = SqliteExec { conn: &c };
        let p: Vec<Param<'_>> = vec!["x".into(), 7.into(), Option::<String>::None.into()];
        let n = e.execute_now("INSERT INTO t (a, b) VALUES ($2, $1), ($2, $3)", &p).unwrap();
        assert_eq!(n, 2);
        let rows = e.rows_now("SELECT id, a, b FROM t WHERE a = $1 ORDER BY id", &[7.into()]).unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0][1], Param::Int(Some(7)));
        assert_eq!(rows[0][2].text(), Some("x"));
        assert_eq!(rows[1][2], Param::Int(None));
    }

    /// Columns read back by position: NULL text is `None`, a type mismatch is an error.
    #[test]
    fn cols_read_values_by_position() {
        let row: Values = vec![Param::Int(Some(3)), Param::Int(None), "t".into(), Param::Text(None)];
        let r = row.as_slice();
        assert_eq!(r.int(0).unwrap(), 3);
        assert_eq!(r.opt_int(1).unwrap(), None);
        assert_eq!(r.opt_text(1).unwrap(), None);
        assert_eq!(r.text(2).unwrap(), "t");
        assert_eq!(r.opt_text(3).unwrap(), None);
        assert!(r.int(1).is_err());
        assert!(r.int(2).is_err());
        assert!(r.text(0).is_err());
        assert!(r.text(9).is_err());
    }

    /// The in-place readers give a connection back for the next read, and run the same
    /// numbered statements as the writer.
    #[test]
    fn sqlite_readers_reuse_connections() {
        let dir = std::env::temp_dir().join(format!("offerline-readers-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("r.db");
        let c = rusqlite::Connection::open(&path).unwrap();
        c.execute_batch("CREATE TABLE t (id INTEGER PRIMARY KEY, a INTEGER); INSERT INTO t (a) VALUES (5), (6);")
            .unwrap();
        let readers = SqliteReaders::new(path);
        for _ in 0..3 {
            let n = readers.with(|ex| ex.rows_now("SELECT a FROM t WHERE a > $1 ORDER BY a", &[4.into()])).unwrap();
            assert_eq!(n.len(), 2);
        }
        assert_eq!(readers.idle.lock().unwrap().len(), 1);
        // query_only: a reader cannot write.
        assert!(readers.with(|ex| ex.execute_now("DELETE FROM t", &[])).is_err());
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn a_missing_value_is_an_internal_error_not_a_null() {
        let c = conn();
        let e = SqliteExec { conn: &c };
        let err = e.execute_now("INSERT INTO t (a) VALUES ($2)", &[1.into()]).unwrap_err();
        assert!(matches!(err, StoreError::Internal(_)), "{err:?}");
    }
}
