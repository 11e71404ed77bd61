//! Omnitron login (`/auth/login/`, a token for username and password) and `/active_user/`.

use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};

use crate::AppState;
use crate::http::auth::Authenticated;
use crate::http::error::{ApiError, ApiResult};
use crate::http::wire::{Fields, JsonObject, ts, ts_opt};

pub(super) async fn login(State(state): State<AppState>, JsonObject(body): JsonObject) -> ApiResult<Json<Value>> {
    let mut f = Fields::new(&body);
    let username = f.req_str("username", 150);
    let password = f.req_str("password", 4096);
    f.finish()?;
    let (username, password) = (username.unwrap_or_default(), password.unwrap_or_default());
    state.throttle.check(&username).map_err(ApiError::Throttled)?;
    match state.store.check_password(false, &username, &password).await? {
        Some(user) => {
            state.throttle.succeed(&username);
            let key = state.store.issue_token(user.id).await?;
            tracing::info!(user = user.id, "omnitron login");
            Ok(Json(json!({ "key": key })))
        }
        None => {
            state.throttle.fail(&username);
            Err(ApiError::BadRequest("Unable to log in with provided credentials.".into()))
        }
    }
}

pub(super) async fn active_user(Authenticated(u): Authenticated) -> Json<Value> {
    Json(json!({
        "pk": u.id, "username": u.username, "email": u.email, "first_name": u.first_name,
        "last_name": u.last_name, "is_staff": u.is_staff, "is_active": u.is_active,
        "date_joined": ts(u.date_joined), "last_login": ts_opt(u.last_login),
    }))
}
