//! Lists in the Akinon dialects: `page` / `limit` (alias `page_size`) pagination with the
//! DRF envelope `{count, next, previous, results}`, the common filters (`id__gt`, `pk__in`,
//! `created_date__gte`, …), per-endpoint exact filters, and `sort=[-]field`.
//!
//! `next`/`previous` are absolute URLs built from the request's Host (and
//! `X-Forwarded-Proto`), keeping every other query parameter in its original order. A page
//! past the end, 0, negative or not a number is 404 `{"detail": "Invalid page."}`; a filter
//! value of the wrong type is 400 `{"<param>": ["Enter a number."]}`; unknown filters are
//! ignored, as django-filter does.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use offerline_app::list::{ListQuery, Op};
use serde::Serialize;

use crate::http::error::ApiError;
use crate::http::wire::parse_instant;

pub const DEFAULT_LIMIT: i64 = 10;
pub const MAX_LIMIT: i64 = 1000;

/// The type of a filter's value.
#[derive(Debug, Clone, Copy)]
pub enum Kind {
    Int,
    Text,
    Bool,
}

/// An exact filter: query parameter → allow-listed column.
#[derive(Debug, Clone, Copy)]
pub struct Filter {
    pub param: &'static str,
    pub column: &'static str,
    pub kind: Kind,
}

/// What a list endpoint accepts besides the common filters.
#[derive(Debug, Clone, Copy)]
pub struct Spec {
    pub filters: &'static [Filter],
    /// Extra sort keys (param name → column) besides id, pk, created_date, modified_date.
    pub sorts: &'static [(&'static str, &'static str)],
    /// (column, descending) when no `sort` is given.
    pub default_sort: (&'static str, bool),
}

impl Spec {
    pub const fn basic() -> Self {
        Spec { filters: &[], sorts: &[], default_sort: ("id", false) }
    }
}

/// The request's query and where it came from, for filters and for page links.
#[derive(Debug, Clone)]
pub struct Listing {
    pub params: Vec<(String, String)>,
    base: String,
    pub page: i64,
    pub limit: i64,
}

impl<S: Send + Sync> FromRequestParts<S> for Listing {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Listing::from_parts(parts)
    }
}

impl Listing {
    pub fn from_parts(parts: &Parts) -> Result<Self, ApiError> {
        let params: Vec<(String, String)> =
            parts.uri.query().map(|q| serde_urlencoded::from_str(q).unwrap_or_default()).unwrap_or_default();
        let host = parts
            .headers
            .get("x-forwarded-host")
            .or_else(|| parts.headers.get(axum::http::header::HOST))
            .and_then(|h| h.to_str().ok())
            .unwrap_or("localhost");
        let scheme = parts
            .headers
            .get("x-forwarded-proto")
            .and_then(|h| h.to_str().ok())
            .filter(|s| *s == "https")
            .unwrap_or("http");
        let mut path = parts.uri.path().to_owned();
        if !path.ends_with('/') {
            path.push('/');
        }
        let base = format!("{scheme}://{host}{path}");
        let get = |k: &str| params.iter().rev().find(|(p, _)| p == k).map(|(_, v)| v.as_str());
        let page = match get("page") {
            None | Some("") => 1,
            Some(p) => match p.trim().parse::<i64>() {
                Ok(n) if n >= 1 => n,
                _ => return Err(ApiError::InvalidPage),
            },
        };
        // DRF ignores a page size it cannot read and falls back to the default.
        let limit = get("limit")
            .or_else(|| get("page_size"))
            .and_then(|l| l.trim().parse::<i64>().ok())
            .filter(|l| *l >= 1)
            .map_or(DEFAULT_LIMIT, |l| l.min(MAX_LIMIT));
        Ok(Listing { params, base, page, limit })
    }

    /// `scheme://host/path/` the page links start with (part of a cached list's key).
    pub fn base(&self) -> &str {
        &self.base
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.params.iter().rev().find(|(p, _)| p == key).map(|(_, v)| v.as_str())
    }

    /// Builds the store query: common filters, the endpoint's filters, sort and window.
    pub fn query(&self, spec: &Spec) -> Result<ListQuery, ApiError> {
        let mut q = ListQuery::new();
        let ops = [("", Op::Eq), ("__gt", Op::Gt), ("__gte", Op::Gte), ("__lt", Op::Lt), ("__lte", Op::Lte)];
        for (param, value) in &self.params {
            let value = value.as_str();
            for (name, column) in [("id", "id"), ("pk", "id")] {
                for (suffix, op) in ops {
                    if *param == format!("{name}{suffix}") {
                        q.filter(column, op, int(param, value)?);
                    }
                }
                if *param == format!("{name}__in") {
                    let ids = value
                        .split(',')
                        .filter(|s| !s.trim().is_empty())
                        .map(|s| int(param, s))
                        .collect::<Result<Vec<_>, _>>()?;
                    q.filter_in(column, ids);
                }
            }
            for (name, column) in [("created_date", "created_at"), ("modified_date", "modified_at")] {
                for (suffix, op) in ops {
                    if *param == format!("{name}{suffix}") {
                        let t =
                            parse_instant(value).ok_or_else(|| ApiError::field(param, "Enter a valid date/time."))?;
                        // A bare date with __lte means "through the end of that day".
                        let t = if op == Op::Lte && value.trim().len() == 10 { t + 86_400_000_000 - 1 } else { t };
                        q.filter(column, op, t);
                    }
                }
            }
            for f in spec.filters {
                if param == f.param {
                    match f.kind {
                        Kind::Int => {
                            q.filter(f.column, Op::Eq, int(param, value)?);
                        }
                        Kind::Text => {
                            q.filter(f.column, Op::Eq, value);
                        }
                        Kind::Bool => {
                            let b = match value.to_ascii_lowercase().as_str() {
                                "true" | "1" => 1,
                                "false" | "0" => 0,
                                _ => return Err(ApiError::field(param, "Enter a valid boolean.")),
                            };
                            q.filter(f.column, Op::Eq, b);
                        }
                    }
                }
            }
        }
        let (mut col, mut desc) = spec.default_sort;
        if let Some(sort) = self.get("sort").or_else(|| self.get("ordering")) {
            let (d, key) = sort.strip_prefix('-').map_or((false, sort), |k| (true, k));
            let found = match key {
                "id" | "pk" => Some("id"),
                "created_date" => Some("created_at"),
                "modified_date" => Some("modified_at"),
                other => spec.sorts.iter().find(|(k, _)| *k == other).map(|(_, c)| *c),
            };
            if let Some(c) = found {
                col = c;
                desc = d;
            }
        }
        q.order(col, desc);
        q.page(self.limit, (self.page - 1).saturating_mul(self.limit));
        Ok(q)
    }

    /// Checks the page against `count` (404 past the end).
    pub fn check_page(&self, count: i64) -> Result<(), ApiError> {
        let last = ((count + self.limit - 1) / self.limit).max(1);
        if self.page > last { Err(ApiError::InvalidPage) } else { Ok(()) }
    }

    fn link(&self, page: i64) -> String {
        let mut params: Vec<(String, String)> = self.params.iter().filter(|(k, _)| k != "page").cloned().collect();
        if page > 1 {
            params.push(("page".into(), page.to_string()));
        }
        if params.is_empty() {
            self.base.clone()
        } else {
            format!("{}?{}", self.base, serde_urlencoded::to_string(&params).unwrap_or_default())
        }
    }

    /// The DRF envelope for one page of `results` out of `count` (404 past the end).
    pub fn page<T>(&self, count: i64, results: impl IntoIterator<Item = T>) -> Result<Page<T>, ApiError> {
        self.check_page(count)?;
        let next = (self.page * self.limit < count).then(|| self.link(self.page + 1));
        let previous = (self.page > 1).then(|| self.link(self.page - 1));
        Ok(Page { count, next, previous, results: results.into_iter().collect() })
    }
}

/// DRF's page envelope, `{count, next, previous, results}` in that order; its schema is
/// the document's `<T>Page` (`docs::page_of`).
#[derive(Debug, Serialize)]
pub struct Page<T> {
    pub count: i64,
    pub next: Option<String>,
    pub previous: Option<String>,
    pub results: Vec<T>,
}

fn int(param: &str, value: &str) -> Result<i64, ApiError> {
    value.trim().parse::<i64>().map_err(|_| ApiError::field(param, "Enter a number."))
}
