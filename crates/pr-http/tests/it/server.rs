//! A real server on a loopback port for the tests.

use std::net::SocketAddr;

/// Serves `app` on a free loopback port, with the peer's address as axum's `ConnectInfo`;
/// answers the address.
pub(crate) async fn serve(app: axum::Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
        .unwrap();
    });
    address
}
