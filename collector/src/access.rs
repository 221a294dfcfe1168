//! Who may read the reports.
//!
//! Ingestion is public: every visitor's browser posts to `/collect`. Everything else the
//! collector knows (the stored events, the funnels, the reports and the dashboard) is private,
//! and [`require_report_access`] guards it:
//!
//! 1. With a report token (`--report-token`), every request must carry it, as
//!    `Authorization: Bearer <token>` or as the password of `Authorization: Basic` (any user
//!    name), which is what a browser sends after its own password prompt for the dashboard. The
//!    comparison takes the same time whatever the guess.
//! 2. Without one, only peers on the loopback interface are served, and not even they when the
//!    request carries a proxy's forwarding header: behind a reverse proxy on the same machine
//!    every request comes from loopback, and the proxy's header is the sign of it.
//!
//! There is no `?token=` in the query string on purpose: URLs end up in access logs, browser
//! history and `Referer` headers, and a token there would leak through all three.

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderMap};
use axum::middleware::Next;
use axum::response::Response;
use base64::Engine;
use subtle::{Choice, ConstantTimeEq};

use crate::Error;

/// The secret that opens the reports, given with `--report-token`.
///
/// Its `Debug` form hides the value, so that logging the collector's options never prints it.
#[derive(Clone, PartialEq, Eq)]
pub struct ReportToken(String);

impl ReportToken {
    /// Checks that `token` can travel in an `Authorization` header: not empty, and only visible
    /// ASCII characters.
    pub fn new(token: impl Into<String>) -> Result<ReportToken, Error> {
        let token = token.into();
        if token.is_empty() {
            return Err(Error::BadToken("must not be empty"));
        }
        if !token.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(Error::BadToken("must be visible ASCII characters without spaces"));
        }
        Ok(ReportToken(token))
    }

    /// Whether `given` is this token, in a time that depends only on the token's own length.
    fn matches(&self, given: &[u8]) -> bool {
        let expected = self.0.as_bytes();
        // Comparing slices of different lengths would return at once, telling the length of the
        // token to whoever times the answers; comparing a copy cut or padded to the expected
        // length, and the lengths separately, does not.
        let padded: Vec<u8> =
            (0..expected.len()).map(|i| given.get(i).copied().unwrap_or(0)).collect();
        let same_length: Choice = (given.len() as u64).ct_eq(&(expected.len() as u64));
        bool::from(padded.ct_eq(expected) & same_length)
    }
}

impl fmt::Debug for ReportToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ReportToken(<hidden>)")
    }
}

/// The rule [`require_report_access`] applies.
#[derive(Clone, Debug)]
pub(crate) enum ReportAccess {
    /// Every request must carry this token.
    Token(ReportToken),
    /// No token was configured: loopback peers only.
    LoopbackOnly,
}

impl ReportAccess {
    pub(crate) fn new(token: Option<ReportToken>) -> ReportAccess {
        match token {
            Some(token) => ReportAccess::Token(token),
            None => ReportAccess::LoopbackOnly,
        }
    }

    /// Lets the request through, or says why not.
    fn check(&self, headers: &HeaderMap, peer: Option<SocketAddr>) -> Result<(), Error> {
        match self {
            ReportAccess::Token(token) => match credential(headers) {
                Some(given) if token.matches(&given) => Ok(()),
                _ => Err(Error::Unauthorized),
            },
            ReportAccess::LoopbackOnly => check_local(headers, peer),
        }
    }
}

/// The middleware on every private route.
pub(crate) async fn require_report_access(
    State(access): State<Arc<ReportAccess>>,
    request: Request,
    next: Next,
) -> Result<Response, Error> {
    let peer = request.extensions().get::<ConnectInfo<SocketAddr>>().map(|info| info.0);
    if let Err(error) = access.check(request.headers(), peer) {
        tracing::info!(
            peer = ?peer,
            path = %request.uri().path(),
            "report access refused"
        );
        return Err(error);
    }
    Ok(next.run(request).await)
}

/// The secret of an `Authorization` header: the token of `Bearer`, or the password of `Basic`.
fn credential(headers: &HeaderMap) -> Option<Vec<u8>> {
    let value = headers.get(header::AUTHORIZATION)?.as_bytes();
    let (scheme, rest) = split_scheme(value)?;

    if scheme.eq_ignore_ascii_case(b"bearer") {
        return Some(rest.to_vec());
    }
    if scheme.eq_ignore_ascii_case(b"basic") {
        let decoded = base64::engine::general_purpose::STANDARD.decode(rest).ok()?;
        let colon = decoded.iter().position(|&b| b == b':')?;
        return Some(decoded[colon + 1..].to_vec());
    }
    None
}

/// Splits `Scheme  rest` at its first run of spaces.
fn split_scheme(value: &[u8]) -> Option<(&[u8], &[u8])> {
    let space = value.iter().position(|&b| b == b' ')?;
    let rest = &value[space..];
    let start = rest.iter().position(|&b| b != b' ')?;
    Some((&value[..space], &rest[start..]))
}

/// Headers a reverse proxy adds to say whom it forwards for.
const FORWARDING_HEADERS: [&str; 3] = ["forwarded", "x-forwarded-for", "x-real-ip"];

fn check_local(headers: &HeaderMap, peer: Option<SocketAddr>) -> Result<(), Error> {
    // Without the peer's address (a router served without connection info) nothing proves the
    // request is local, so the answer is no.
    let Some(peer) = peer else {
        return Err(Error::NotLocal { peer: None });
    };
    if !is_loopback(peer.ip()) {
        return Err(Error::NotLocal { peer: Some(peer.ip()) });
    }
    if FORWARDING_HEADERS.iter().any(|name| headers.contains_key(*name)) {
        return Err(Error::Forwarded);
    }
    Ok(())
}

/// Loopback, counting an IPv4 loopback address written as IPv6 (`::ffff:127.0.0.1`).
pub(crate) fn is_loopback(ip: IpAddr) -> bool {
    ip.to_canonical().is_loopback()
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn token() -> ReportToken {
        ReportToken::new("s3cret-token").unwrap()
    }

    fn with_auth(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::AUTHORIZATION, HeaderValue::from_str(value).unwrap());
        headers
    }

    fn basic(user_and_password: &str) -> String {
        format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(user_and_password))
    }

    #[test]
    fn token_matches_only_itself() {
        assert!(token().matches(b"s3cret-token"));
        assert!(!token().matches(b"s3cret-toke"));
        assert!(!token().matches(b"s3cret-token-and-more"));
        assert!(!token().matches(b"S3cret-token"));
        assert!(!token().matches(b""));
    }

    #[test]
    fn a_prefix_padded_with_nul_bytes_is_not_the_token() {
        // The padding used for the comparison must not make a short guess equal.
        let token = ReportToken::new("ab").unwrap();
        assert!(!token.matches(b"a"));
        assert!(!token.matches(b"ab\0"));
    }

    #[test]
    fn bearer_and_basic_carry_the_token() {
        let access = ReportAccess::new(Some(token()));
        let local = Some(SocketAddr::from(([127, 0, 0, 1], 1)));

        assert!(access.check(&with_auth("Bearer s3cret-token"), local).is_ok());
        assert!(access.check(&with_auth("bearer   s3cret-token"), local).is_ok());
        assert!(access.check(&with_auth(&basic("anyone:s3cret-token")), local).is_ok());
        assert!(access.check(&with_auth(&basic("s3cret-token:")), local).is_err());
        assert!(access.check(&with_auth("Basic not-base64!"), local).is_err());
        assert!(access.check(&with_auth("Token s3cret-token"), local).is_err());
        assert!(access.check(&with_auth("Bearer"), local).is_err());
    }

    #[test]
    fn with_a_token_loopback_is_not_enough() {
        let access = ReportAccess::new(Some(token()));
        let local = Some(SocketAddr::from(([127, 0, 0, 1], 1)));

        assert!(matches!(access.check(&HeaderMap::new(), local), Err(Error::Unauthorized)));
    }

    #[test]
    fn without_a_token_only_loopback_peers_pass() {
        let access = ReportAccess::new(None);
        let peer = |ip: IpAddr| Some(SocketAddr::new(ip, 4000));
        let none = HeaderMap::new();

        assert!(access.check(&none, peer("127.0.0.1".parse().unwrap())).is_ok());
        assert!(access.check(&none, peer("127.8.9.10".parse().unwrap())).is_ok());
        assert!(access.check(&none, peer("::1".parse().unwrap())).is_ok());
        assert!(access.check(&none, peer("::ffff:127.0.0.1".parse().unwrap())).is_ok());
        for stranger in
            ["192.168.1.20", "10.0.0.1", "203.0.113.5", "::ffff:10.0.0.1", "2001:db8::1"]
        {
            let result = access.check(&none, peer(stranger.parse().unwrap()));
            assert!(matches!(result, Err(Error::NotLocal { .. })), "{stranger}: {result:?}");
        }
        assert!(matches!(access.check(&none, None), Err(Error::NotLocal { peer: None })));
    }

    #[test]
    fn tokens_that_cannot_travel_in_a_header_are_refused() {
        assert!(ReportToken::new("").is_err());
        assert!(ReportToken::new("two words").is_err());
        assert!(ReportToken::new("tab\there").is_err());
        assert!(ReportToken::new("é").is_err());
        assert_eq!(format!("{:?}", token()), "ReportToken(<hidden>)");
    }
}
