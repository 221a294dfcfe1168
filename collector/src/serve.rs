//! The accept loop: HTTP/1.1 connections served by hyper, each on its own task.
//!
//! `axum::serve` would do, except that it gives hyper no timer, and without one hyper's
//! deadline for reading a request's headers never fires: a client that sends half its headers
//! and stalls would hold its connection (and a task, and a file descriptor) for as long as it
//! likes. Here every connection gets a header deadline, and the peer's address is put on every
//! request for the report guard and the rate limit, as `into_make_service_with_connect_info`
//! would.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::pin;
use std::time::Duration;

use axum::extract::ConnectInfo;
use axum::Router;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::{TcpListener, TcpStream};
use tower::ServiceExt;

use crate::Error;

/// Serves `router` on `listener` until `shutdown` completes, then waits for the requests in
/// progress to be answered.
pub(crate) async fn serve<F>(
    listener: TcpListener,
    router: Router,
    header_timeout: Duration,
    shutdown: F,
) -> Result<(), Error>
where
    F: Future<Output = ()> + Send + 'static,
{
    let graceful = GracefulShutdown::new();
    let mut shutdown = pin!(shutdown);

    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = &mut shutdown => break,
        };
        match accepted {
            Ok((stream, peer)) => {
                spawn_connection(&graceful, stream, peer, router.clone(), header_timeout);
            }
            Err(error) if is_per_connection(&error) => {}
            Err(error) => {
                // Out of file descriptors, most likely: wait for some to be closed rather than
                // spin on an error that the next accept would repeat at once.
                tracing::error!(%error, "failed to accept a connection");
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        }
    }

    drop(listener);
    graceful.shutdown().await;
    Ok(())
}

/// Serves one HTTP/1.1 connection on its own task, with a header deadline and the peer's
/// address on each of its requests.
fn spawn_connection(
    graceful: &GracefulShutdown,
    stream: TcpStream,
    peer: SocketAddr,
    router: Router,
    header_timeout: Duration,
) {
    let service = router.map_request(move |mut request: hyper::Request<Incoming>| {
        request.extensions_mut().insert(ConnectInfo(peer));
        request
    });
    let connection = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(header_timeout)
        .serve_connection(TokioIo::new(stream), TowerToHyperService::new(service));
    let connection = graceful.watch(connection);
    tokio::spawn(async move {
        // A client that goes away or breaks the protocol ends only its own connection; there
        // is nobody left to answer.
        if let Err(error) = connection.await {
            tracing::debug!(%peer, %error, "connection ended");
        }
    });
}

/// Errors of one incoming connection (reset before it was accepted) rather than of the listener.
fn is_per_connection(error: &std::io::Error) -> bool {
    use std::io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    matches!(error.kind(), ConnectionAborted | ConnectionRefused | ConnectionReset)
}
