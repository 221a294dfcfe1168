//! What keeps `/collect` answerable when it faces the internet: a rate limit per client, an
//! optional allowlist of page origins, and a deadline for reading a request.

use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};

use crate::Error;

/// How many batches one client may post: `per_second` on average, `burst` at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    /// The sustained rate, in requests per second.
    pub per_second: NonZeroU32,
    /// How many requests a client that was quiet may send at once.
    pub burst: NonZeroU32,
}

impl RateLimit {
    /// `per_second` requests a second with a burst of `burst`; `None` when either is zero, which
    /// is how the command line turns the limit off.
    pub fn new(per_second: u32, burst: u32) -> Option<RateLimit> {
        Some(RateLimit { per_second: NonZeroU32::new(per_second)?, burst: NonZeroU32::new(burst)? })
    }
}

/// The per-client limiter, shared by every request to `/collect`.
#[derive(Debug)]
pub(crate) struct Limiter {
    limiter: DefaultKeyedRateLimiter<IpAddr>,
    checks: AtomicU64,
}

/// How often, in checks, the limiter forgets clients whose bucket is full again.
const FORGET_EVERY: u64 = 4096;

impl Limiter {
    pub(crate) fn new(limit: RateLimit) -> Limiter {
        let quota = Quota::per_second(limit.per_second).allow_burst(limit.burst);
        Limiter { limiter: DefaultKeyedRateLimiter::keyed(quota), checks: AtomicU64::new(0) }
    }

    /// Takes one request from `client`'s bucket, or says how long until one is there.
    fn check(&self, client: IpAddr) -> Result<(), Duration> {
        // Without this, every address ever seen would stay in memory.
        // TODO: a flood from more distinct addresses than memory holds within one refill period
        // still grows the map; a bounded map (evicting the fullest buckets) would cap it.
        if self.checks.fetch_add(1, Ordering::Relaxed) % FORGET_EVERY == FORGET_EVERY - 1 {
            self.limiter.retain_recent();
        }
        self.limiter
            .check_key(&client_key(client))
            .map_err(|not_until| not_until.wait_time_from(DefaultClock::default().now()))
    }
}

/// The key a client is counted under: its IPv4 address, or the /64 network of an IPv6 one,
/// since one IPv6 subscriber usually holds a whole /64 and could otherwise rotate through it.
fn client_key(ip: IpAddr) -> IpAddr {
    match ip.to_canonical() {
        IpAddr::V6(v6) => {
            let network = u128::from(v6) & !((1u128 << 64) - 1);
            IpAddr::V6(Ipv6Addr::from(network))
        }
        v4 => v4,
    }
}

/// The middleware on `/collect` that answers 429 to a client over its limit.
pub(crate) async fn rate_limit(
    State(limiter): State<Arc<Limiter>>,
    request: Request,
    next: Next,
) -> Result<Response, Error> {
    // A router served without connection info (not how `Server` serves it) cannot tell
    // clients apart; they then share one bucket, which limits too much rather than not at all.
    let client = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(IpAddr::from([0, 0, 0, 0]), |info| info.0.ip());
    if let Err(wait) = limiter.check(client) {
        tracing::debug!(%client, wait_ms = wait.as_millis() as u64, "client over its rate limit");
        return Err(Error::RateLimited { retry_after: wait });
    }
    Ok(next.run(request).await)
}

/// The origins pages may post from; empty means any.
#[derive(Debug, Clone)]
pub(crate) struct Origins(pub(crate) Vec<HeaderValue>);

/// The middleware on `/collect` that refuses a post whose `Origin` is not on the allowlist.
///
/// CORS alone would not do it: a `text/plain` post (what `sendBeacon` sends) needs no
/// preflight, so the browser delivers it whatever the answer's CORS headers say. A request
/// without `Origin` (a server, `curl`) passes: this keeps other sites' pages from filling the
/// store, it is no authentication.
pub(crate) async fn allow_origins(
    State(origins): State<Arc<Origins>>,
    request: Request,
    next: Next,
) -> Result<Response, Error> {
    if let Some(origin) = request.headers().get(header::ORIGIN) {
        if !origins.0.is_empty() && !origins.0.contains(origin) {
            let origin = String::from_utf8_lossy(origin.as_bytes()).into_owned();
            return Err(Error::OriginNotAllowed { origin });
        }
    }
    Ok(next.run(request).await)
}

/// The middleware that gives a request `timeout` to be read and answered, so that a client that
/// sends half a body and stalls holds its connection for that long and no longer.
pub(crate) async fn deadline(
    State(timeout): State<Duration>,
    request: Request,
    next: Next,
) -> Result<Response, Error> {
    tokio::time::timeout(timeout, next.run(request))
        .await
        .map_err(|_| Error::Timeout { after: timeout })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_clients_are_counted_per_64_network() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:bbbb::2".parse().unwrap();
        let other: IpAddr = "2001:db8:1:3::1".parse().unwrap();

        assert_eq!(client_key(a), client_key(b));
        assert_ne!(client_key(a), client_key(other));
        assert_eq!(client_key("::ffff:10.1.2.3".parse().unwrap()), IpAddr::from([10, 1, 2, 3]));
    }

    #[test]
    fn a_client_over_its_burst_waits_while_another_does_not() {
        let limiter = Limiter::new(RateLimit::new(1, 3).unwrap());
        let greedy = IpAddr::from([192, 0, 2, 1]);
        let other = IpAddr::from([192, 0, 2, 2]);

        for _ in 0..3 {
            assert_eq!(limiter.check(greedy), Ok(()));
        }
        let wait = limiter.check(greedy).unwrap_err();
        assert!(wait > Duration::ZERO && wait <= Duration::from_secs(1), "{wait:?}");
        assert_eq!(limiter.check(other), Ok(()));
    }

    #[test]
    fn zero_turns_the_limit_off() {
        assert_eq!(RateLimit::new(0, 10), None);
        assert_eq!(RateLimit::new(10, 0), None);
        assert!(RateLimit::new(10, 50).is_some());
    }
}
