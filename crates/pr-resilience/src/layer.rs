//! What every tower layer of the crate shares (feature `tower`): the boxed
//! future of its services, and calling a service once it is ready. Each
//! area's layer lives with its policy (`breaker/layer.rs`, ...); this leaf
//! depends on none of them.

use std::pin::Pin;

/// The boxed future of this module's services.
pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// Waits until `service` is ready, then calls it with `request`.
#[cfg(feature = "retry")]
pub(crate) async fn ready_call<S: tower::Service<Req>, Req>(
    mut service: S,
    request: Req,
) -> Result<S::Response, S::Error> {
    std::future::poll_fn(|cx| service.poll_ready(cx)).await?;
    service.call(request).await
}
