//! Commerce (storefront) identity endpoints: `/users/login/` (token and `osessionid`
//! cookie), `/users/logout/`, `/current_user/`. The `/account/…` views live in [`account`].

use axum::Json;
use axum::extract::State;
use axum::http::header::SET_COOKIE;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use offerline_app::identity;

use crate::AppState;
use crate::commerce::wire::{CurrentUser, CustomerLogin, LoggedOut};
use crate::http::auth::{Customer, SESSION_COOKIE, session_from, token_from};
use crate::http::error::ApiResult;
use crate::http::wire::{Body, Fields, ts};
use crate::omnitron::wire::TokenKey;

pub(super) async fn login(State(state): State<AppState>, Body(body): Body<CustomerLogin>) -> ApiResult<Response> {
    let mut f = Fields::new(&body);
    let email = f.req_str("email", 254);
    let password = f.req_str("password", 4096);
    f.finish()?;
    let (email, password) = (email.unwrap_or_default(), password.unwrap_or_default());
    let identity::CustomerLogin { token: key, session: sid } =
        identity::customer_login(&state.app, &email, &password).await?;
    let max_age = identity::session_max_age(&state.app);
    let cookie = format!("{SESSION_COOKIE}={sid}; HttpOnly; Path=/; SameSite=Lax; Max-Age={max_age}");
    Ok(([(SET_COOKIE, cookie)], Json(TokenKey { key })).into_response())
}

pub(super) async fn logout(State(state): State<AppState>, parts: Parts) -> ApiResult<Response> {
    let token = token_from(&parts).and_then(Result::ok);
    identity::logout(&state.app, session_from(&parts).as_deref(), token.as_deref()).await?;
    let expired = format!("{SESSION_COOKIE}=; HttpOnly; Path=/; SameSite=Lax; Max-Age=0");
    Ok(([(SET_COOKIE, expired)], Json(LoggedOut { detail: "Successfully logged out." })).into_response())
}

pub(super) async fn current_user(Customer(u): Customer) -> Json<CurrentUser> {
    Json(CurrentUser {
        pk: u.id,
        username: u.username.clone(),
        email: u.email.clone(),
        first_name: u.first_name.clone(),
        last_name: u.last_name.clone(),
        phone: u.phone.clone(),
        email_allowed: false,
        sms_allowed: false,
        date_joined: ts(u.date_joined),
        last_login: u.last_login.map(ts),
        date_of_birth: None,
        gender: None,
        hashed_email: identity::hashed_email(&u),
    })
}
