//! The HTTP pieces every dialect shares: authentication extractors ([`auth`]), the DRF and JSON:API error bodies ([`error`], [`ep_error`]) and the middleware
//! that answers axum's own errors in the path's dialect ([`dialect`]), list envelopes and
//! filters ([`listing`]), money/time/body helpers ([`wire`]), the fast JSON writer of large answers ([`json`]), the route table that is also
//! the OpenAPI document ([`docs`]), the response cache of the staff reads ([`cache`]), and the
//! bounds on requests in flight and their duration ([`limits`]).

pub mod auth;
pub mod cache;
pub mod dialect;
pub mod docs;
pub mod ep_error;
pub mod error;
pub mod json;
pub mod limits;
pub mod listing;
pub mod path;
pub mod schema;
pub mod wire;
