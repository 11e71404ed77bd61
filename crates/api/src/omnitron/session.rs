//! Omnitron login (`/auth/login/`, a token for username and password) and `/active_user/`.

use axum::Json;
use axum::extract::State;
use offerline_app::identity;

use crate::AppState;
use crate::http::auth::Authenticated;
use crate::http::error::ApiResult;
use crate::http::wire::{Body, Fields, ts};
use crate::omnitron::wire::{ActiveUser, StaffLogin, TokenKey};

/// Reads the body field by field (the DRF error of each bad field).
pub(super) async fn login(State(state): State<AppState>, Body(body): Body<StaffLogin>) -> ApiResult<Json<TokenKey>> {
    let mut f = Fields::new(&body);
    let username = f.req_str("username", 150);
    let password = f.req_str("password", 4096);
    f.finish()?;
    let (username, password) = (username.unwrap_or_default(), password.unwrap_or_default());
    let key = identity::staff_login(&state.app, &username, &password).await?;
    Ok(Json(TokenKey { key }))
}

pub(super) async fn active_user(Authenticated(u): Authenticated) -> Json<ActiveUser> {
    Json(ActiveUser {
        pk: u.id,
        username: u.username,
        email: u.email,
        first_name: u.first_name,
        last_name: u.last_name,
        is_staff: u.is_staff,
        is_active: u.is_active,
        date_joined: ts(u.date_joined),
        last_login: u.last_login.map(ts),
    })
}
