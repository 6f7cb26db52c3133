//! The accept loop: HTTP/1.1 connections served by hyper around the axum router, with the limits a
//! hostile client would otherwise exploit — a deadline for a request's headers (slowloris), an idle
//! deadline between requests on a kept-alive connection, and a cap on open connections — and a
//! graceful shutdown that lets in-flight requests finish.
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ConnectInfo;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};

/// How long a client may take to send a request's headers, and how long a kept-alive connection
/// may sit idle before its next request (hyper's header-read deadline starts when it waits for a
/// request, so it bounds both).
pub const HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// Open connections at once; more wait in the kernel's accept queue.
pub const MAX_CONNECTIONS: usize = 4096;
/// How long a shutdown waits for in-flight requests.
const DRAIN: Duration = Duration::from_secs(30);

/// Serves `app` on `listener` (over TLS when `tls` is given, with HSTS) until `shutdown`
/// completes, then stops accepting, lets open connections finish their current request, and
/// returns.
pub async fn serve(
    listener: TcpListener,
    app: axum::Router,
    tls: Option<Arc<crate::tls::Tls>>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let hsts = tls.is_some();
    if let Some(t) = &tls {
        t.watch();
    }
    let (stop_tx, stop_rx) = watch::channel(false);
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            p = slots.clone().acquire_owned() => match p {
                Ok(p) => p,
                Err(_) => break,
            },
            () = &mut shutdown => break,
        };
        let (stream, remote) = tokio::select! {
            r = listener.accept() => match r {
                Ok(x) => x,
                Err(e) => {
                    // Out of file descriptors and the like: wait a moment rather than spin.
                    tracing::warn!(error = %e, "accept");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let svc = tower::ServiceBuilder::new()
            .map_request(move |mut req: axum::http::Request<hyper::body::Incoming>| {
                req.extensions_mut().insert(ConnectInfo(remote));
                req
            })
            .map_response(move |mut res: axum::response::Response| {
                if hsts {
                    res.headers_mut().insert(
                        axum::http::header::STRICT_TRANSPORT_SECURITY,
                        axum::http::HeaderValue::from_static(crate::tls::HSTS),
                    );
                }
                res
            })
            .service(app.clone());
        let mut stop = stop_rx.clone();
        let acceptor = tls.as_ref().map(|t| t.acceptor());
        tokio::spawn(async move {
            let _permit = permit;
            match acceptor {
                None => connection(TokioIo::new(stream), svc, &mut stop).await,
                Some(acceptor) => {
                    // The handshake has the same deadline as a request's headers.
                    if let Ok(Ok(tls)) =
                        tokio::time::timeout(HEADER_TIMEOUT, acceptor.accept(stream)).await
                    {
                        connection(TokioIo::new(tls), svc, &mut stop).await;
                    }
                }
            }
        });
    }
    drop(listener);
    let _ = stop_tx.send(true);
    // Every connection holds a slot until it ends: wait until all are back (or the drain ends).
    let _ = tokio::time::timeout(DRAIN, slots.acquire_many(MAX_CONNECTIONS as u32)).await;
    Ok(())
}

/// Completes once the shutdown flag is set (or its sender is gone).
async fn stopped(rx: &mut watch::Receiver<bool>) {
    loop {
        if *rx.borrow_and_update() {
            return;
        }
        if rx.changed().await.is_err() {
            return;
        }
    }
}

/// One connection: HTTP/1.1 with the header deadline, until it ends or the server stops.
async fn connection<I, S>(io: TokioIo<I>, svc: S, stop: &mut watch::Receiver<bool>)
where
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
    S: tower::Service<
            axum::http::Request<hyper::body::Incoming>,
            Response = axum::response::Response,
            Error = std::convert::Infallible,
        > + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
{
    let conn = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_TIMEOUT)
        .keep_alive(true)
        .serve_connection(io, hyper_util::service::TowerToHyperService::new(svc));
    let mut conn = std::pin::pin!(conn);
    tokio::select! {
        _ = conn.as_mut() => {}
        () = stopped(stop) => {
            conn.as_mut().graceful_shutdown();
            let _ = tokio::time::timeout(DRAIN, conn).await;
        }
    }
}
