//! The typed list query every paginated read takes: filters on allow-listed columns, one
//! sort key, a window. Adapters build it from their request's syntax (the Akinon dialects'
//! `page`/`limit`/`sort` and filters); the store runs it.

pub use offerline_store::list::{ListQuery, Op, Value};
