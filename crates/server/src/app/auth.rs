//! Who is calling: agents (bearer token, or session cookie with a CSRF token on writes) and
//! visitors (visitor token in a header; the cookie only for reads and same-origin WebSockets).
//!
//! CSRF: a browser attaches cookies to cross-site requests but never an `Authorization`,
//! `X-CSRF-Token` or `X-Visitor-Token` header. So cookie-authenticated writes must carry the
//! session's CSRF token (returned by login) and visitor writes must carry the token in a header;
//! cookie-authenticated WebSocket upgrades must come from the same origin.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use std::net::{IpAddr, SocketAddr};

use argon2::Argon2;
use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{header, Method};
use madoguchi_core::permissions::{allows, Permission};
use madoguchi_store::agents::{Agent, TokenGrant, TokenKind};
use madoguchi_store::contacts::{Contact, IDENTITY_USER, IDENTITY_VISITOR};
use madoguchi_store::conversations::Sight;
use madoguchi_store::workspaces::Channel;
use madoguchi_store::StoreError;
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::app::signing::{link_key, sign, verify};
use crate::app::AppState;
use crate::http::client_ip::client_ip;
use crate::http::error::{AppError, ErrorCode};

pub const SESSION_COOKIE: &str = "mdg_session";
pub const VISITOR_COOKIE: &str = "mdg_visitor";
pub const CSRF_HEADER: &str = "x-csrf-token";
pub const VISITOR_HEADER: &str = "x-visitor-token";

/// 256 random bits, hex-encoded.
pub fn new_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// Tokens are stored as their SHA-256: they carry 256 random bits, so no slow hash is needed.
pub fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Argon2id with the crate's default parameters, off the async threads.
pub async fn hash_password(password: String) -> Result<String, AppError> {
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut rand::rngs::OsRng);
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|hash| hash.to_string())
            .map_err(|err| AppError::new(ErrorCode::Internal, format!("hashing failed: {err}")))
    })
    .await
    .map_err(|err| AppError::new(ErrorCode::Internal, err.to_string()))?
}

pub async fn verify_password(password: String, hash: String) -> bool {
    tokio::task::spawn_blocking(move || {
        PasswordHash::new(&hash)
            .map(|parsed| {
                Argon2::default()
                    .verify_password(password.as_bytes(), &parsed)
                    .is_ok()
            })
            .unwrap_or(false)
    })
    .await
    .unwrap_or(false)
}

/// A visitor token: `CHANNELKEY.NONCE.SUBJECT.SIGNATURE`. It names its channel (public),
/// carries 256 random bits, and is signed by the server, so a token the server never issued is
/// refused while a new visitor costs no row until they first write. SUBJECT is empty for an
/// anonymous visitor, or the hex of a signed-in customer's shop user id, verified when the
/// token was issued (see `api::widget`).
pub fn new_visitor_token(key: &str, channel_key: &str, user: Option<&str>) -> String {
    visitor_token_with(key, channel_key, user, &new_secret())
}

/// The visitor token a signed link gives: derived from the link's signature, so opening the
/// link again gives the same token (one identity row however often it is used).
pub fn link_visitor_token(key: &str, channel_key: &str, link_signature: &str) -> String {
    let nonce = sign(key, &["link-token", link_signature]);
    visitor_token_with(key, channel_key, None, &nonce)
}

fn visitor_token_with(key: &str, channel_key: &str, user: Option<&str>, nonce: &str) -> String {
    let subject = user
        .map(|id| hex::encode(id.as_bytes()))
        .unwrap_or_default();
    let signature = sign(key, &["visitor", channel_key, nonce, &subject]);
    format!("{channel_key}.{nonce}.{subject}.{signature}")
}

/// The channel key and the signed-in user id of a token this server issued.
fn read_visitor_token<'t>(key: &str, token: &'t str) -> Option<(&'t str, Option<String>)> {
    if token.len() > 600 {
        return None;
    }
    let mut parts = token.split('.');
    let (channel_key, nonce, subject, signature) =
        (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || !verify(key, &["visitor", channel_key, nonce, subject], signature)
    {
        return None;
    }
    let user = match subject {
        "" => None,
        hexed => Some(String::from_utf8(hex::decode(hexed).ok()?).ok()?),
    };
    Some((channel_key, user))
}

fn cookie(parts: &Parts, name: &str) -> Option<String> {
    parts
        .headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.to_owned())
}

fn header_value(parts: &Parts, name: &str) -> Option<String> {
    parts
        .headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

fn bearer(parts: &Parts) -> Option<String> {
    header_value(parts, header::AUTHORIZATION.as_str())
        .and_then(|value| value.strip_prefix("Bearer ").map(|t| t.trim().to_owned()))
}

fn is_websocket_upgrade(parts: &Parts) -> bool {
    parts
        .headers
        .get(header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"))
}

/// The WebSocket routes: the only ones where a credential may come in the query string.
const WEBSOCKET_PATHS: [&str; 2] = ["/api/v1/ws", "/widget/v1/ws"];

/// A query parameter, accepted only on an upgrade to one of the WebSocket routes (browsers
/// cannot set headers there); anywhere else a token in a URL would end up in logs and history.
fn websocket_param(parts: &Parts, name: &str) -> Option<String> {
    if !is_websocket_upgrade(parts) || !WEBSOCKET_PATHS.contains(&parts.uri.path()) {
        return None;
    }
    parts.uri.query()?.split('&').find_map(|pair| {
        let (key, value) = pair.split_once('=')?;
        (key == name).then(|| value.to_owned())
    })
}

/// True when the request has no `Origin` or one whose host is the `Host` we were reached at.
fn same_origin(parts: &Parts) -> bool {
    let Some(origin) = header_value(parts, header::ORIGIN.as_str()) else {
        return true;
    };
    let host = header_value(parts, header::HOST.as_str()).unwrap_or_default();
    origin
        .split_once("://")
        .is_some_and(|(_, rest)| rest == host)
}

fn is_safe(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

fn unauthenticated() -> AppError {
    AppError::new(ErrorCode::Unauthenticated, "authentication required")
}

fn csrf_failed() -> AppError {
    AppError::new(
        ErrorCode::CsrfFailed,
        "missing or wrong CSRF protection for a cookie-authenticated request",
    )
}

fn missing_is_unauthenticated(err: StoreError) -> AppError {
    match err {
        StoreError::NotFound => unauthenticated(),
        other => other.into(),
    }
}

/// An authenticated agent of some workspace, and the hash of the token that proved it. On
/// agent routes it was checked against the route's permission before the handler ran (see
/// [`crate::app::access`]).
#[derive(Clone)]
pub struct AgentAuth {
    pub agent: Agent,
    pub token_hash: String,
}

impl FromRequestParts<AppState> for AgentAuth {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        match parts.extensions.get::<AgentAuth>() {
            Some(checked) => Ok(checked.clone()),
            None => Self::authenticate(parts, state).await,
        }
    }
}

impl AgentAuth {
    /// The agent whose bearer token, socket token or session cookie (with its CSRF token for
    /// writes) the request carries.
    pub async fn authenticate(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        if let Some(token) = bearer(parts).or_else(|| websocket_param(parts, "access_token")) {
            let token_hash = hash_token(&token);
            let grant = live_grant(state, &token_hash).await?;
            return Ok(AgentAuth {
                agent: grant.agent,
                token_hash,
            });
        }
        let Some(token) = cookie(parts, SESSION_COOKIE) else {
            return Err(unauthenticated());
        };
        let token_hash = hash_token(&token);
        let grant = live_grant(state, &token_hash).await?;
        if grant.kind != TokenKind::Session {
            return Err(unauthenticated());
        }
        if !is_safe(&parts.method) {
            let sent = header_value(parts, CSRF_HEADER).map(|csrf| hash_token(&csrf));
            if sent.is_none() || sent != grant.csrf_hash {
                return Err(csrf_failed());
            }
        }
        if is_websocket_upgrade(parts) && !same_origin(parts) {
            return Err(csrf_failed());
        }
        Ok(AgentAuth {
            agent: grant.agent,
            token_hash,
        })
    }
}

/// How often a token's last use is written (idle expiry needs no finer grain).
const TOUCH_EVERY_MS: i64 = 5 * 60 * 1000;

/// The grant of a token that is live: not expired, not idle past `sessions.idle_hours`, its
/// agent enabled. Its use is recorded every few minutes.
async fn live_grant(state: &AppState, token_hash: &str) -> Result<TokenGrant, AppError> {
    let now = state.clock.now_ms();
    let idle_ms = i64::from(state.settings.sessions.idle_hours) * 3_600_000;
    let grant = state
        .store
        .token_grant(token_hash, now, now - idle_ms)
        .await
        .map_err(missing_is_unauthenticated)?;
    if grant.last_used_at < now - TOUCH_EVERY_MS {
        state.store.touch_token(token_hash, now).await?;
    }
    Ok(grant)
}

/// Ends an agent's sessions and API tokens (all, or all but `keep`) and closes the WebSockets
/// opened with them, on every node.
pub async fn end_sessions(
    state: &AppState,
    agent_id: &str,
    keep: Option<&str>,
) -> Result<usize, AppError> {
    let ended = state.store.end_tokens(agent_id, keep).await?;
    for token_hash in &ended {
        state.hub.revoke(token_hash).await;
    }
    Ok(ended.len())
}

/// How an API channel's token starts (`Authorization: Bearer mdc_…`).
pub const API_TOKEN_PREFIX: &str = "mdc_";

/// A shop's own system, known by its API channel's token.
pub struct ChannelAuth(pub Channel);

impl FromRequestParts<AppState> for ChannelAuth {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let token = bearer(parts)
            .filter(|t| t.starts_with(API_TOKEN_PREFIX))
            .ok_or_else(unauthenticated)?;
        let channel = state
            .store
            .channel_by_api_token(&hash_token(&token))
            .await
            .map_err(missing_is_unauthenticated)?;
        Ok(ChannelAuth(channel))
    }
}

/// A visitor, known by their token: the channel that token belongs to, and their contact once
/// they have written (or left an address, or are a signed-in customer known from before).
pub struct VisitorAuth {
    pub channel: Channel,
    pub contact: Option<Contact>,
    /// What finds their contact: their token's hash, or their shop user id.
    identity: (&'static str, String),
}

impl VisitorAuth {
    /// The signed-in customer's shop user id, when the token carries one.
    pub fn user_id(&self) -> Option<&str> {
        (self.identity.0 == IDENTITY_USER).then_some(self.identity.1.as_str())
    }

    /// The visitor's contact, created now if this is their first write.
    pub async fn contact(&self, state: &AppState) -> Result<Contact, AppError> {
        match &self.contact {
            Some(contact) => Ok(contact.clone()),
            None => {
                let (kind, value) = &self.identity;
                Ok(state
                    .store
                    .identified_contact(&self.channel.workspace_id, kind, value)
                    .await?)
            }
        }
    }
}

impl FromRequestParts<AppState> for VisitorAuth {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let token = match header_value(parts, VISITOR_HEADER)
            .or_else(|| websocket_param(parts, "visitor_token"))
        {
            Some(token) => token,
            None => {
                let token = cookie(parts, VISITOR_COOKIE).ok_or_else(unauthenticated)?;
                if !is_safe(&parts.method) || (is_websocket_upgrade(parts) && !same_origin(parts)) {
                    return Err(csrf_failed());
                }
                token
            }
        };
        resolve_visitor(state, &token)
            .await?
            .ok_or_else(unauthenticated)
    }
}

/// Who a visitor token belongs to: `None` for a token this server did not issue (or one of
/// an unknown channel).
pub async fn resolve_visitor(
    state: &AppState,
    token: &str,
) -> Result<Option<VisitorAuth>, AppError> {
    let key = link_key(state).await?;
    // Tokens from before signing (`CHANNELKEY.HEX`) still find the contact they were stored for.
    let (channel_key, user, signed) = match read_visitor_token(&key, token) {
        Some((channel_key, user)) => (channel_key, user, true),
        None => match token.split_once('.') {
            Some((channel_key, rest)) if token.len() <= 200 && !rest.contains('.') => {
                (channel_key, None, false)
            }
            _ => return Ok(None),
        },
    };
    let channel = match state.store.channel_by_key(channel_key).await {
        Ok(channel) => channel,
        Err(StoreError::NotFound) => return Ok(None),
        Err(err) => return Err(err.into()),
    };
    let identity = match user {
        Some(id) => (IDENTITY_USER, id),
        None => (IDENTITY_VISITOR, hash_token(token)),
    };
    let contact = match state
        .store
        .contact_by_identity(&channel.workspace_id, identity.0, &identity.1)
        .await
    {
        Ok(contact) => Some(contact),
        Err(StoreError::NotFound) if signed => None,
        Err(StoreError::NotFound) => return Ok(None),
        Err(err) => return Err(err.into()),
    };
    Ok(Some(VisitorAuth {
        channel,
        contact,
        identity,
    }))
}

/// The client's IP address: the connecting peer, or what a trusted proxy says it forwarded
/// (see `http::client_ip`). Rate limits, audit entries and connection caps count by it.
pub struct ClientIp(pub IpAddr);

impl FromRequestParts<AppState> for ClientIp {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|info| info.0.ip())
            .ok_or_else(|| AppError::new(ErrorCode::Internal, "no peer address"))?;
        Ok(ClientIp(client_ip(
            peer,
            &parts.headers,
            &state.settings.trusted_proxies,
        )))
    }
}

/// The conversations an agent may see: of every team (admins, and everyone in a workspace
/// whose `agent_scope` is `all`) or of their own teams; of every brand, or of the brands an
/// admin limited them to.
pub async fn sight(state: &AppState, agent: &Agent) -> Result<Sight, AppError> {
    let teams = if allows(agent.role, Permission::SeeAllTeams)
        || state.store.agent_scope(&agent.workspace_id).await? == "all"
    {
        None
    } else {
        Some(state.store.agent_teams(&agent.id).await?)
    };
    let brands = Some(state.store.agent_brands(&agent.id).await?).filter(|b| !b.is_empty());
    Ok(Sight { teams, brands })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_256_bits_and_distinct() {
        let (a, b) = (new_secret(), new_secret());
        assert_eq!(a.len(), 64);
        assert_ne!(a, b);
        assert_eq!(hash_token("x"), hash_token("x"));
        assert_ne!(hash_token("x"), "x");
    }

    #[tokio::test]
    async fn passwords_verify_only_with_the_right_password() {
        let hash = hash_password("correct horse".into()).await.unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify_password("correct horse".into(), hash.clone()).await);
        assert!(!verify_password("wrong horse".into(), hash).await);
        assert!(!verify_password("x".into(), "not a hash".into()).await);
    }
}
