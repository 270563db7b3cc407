//! The route a request matched, as a template (`/quote/{symbol}`): what
//! metrics and logs name a request by, never its raw path, so no client can
//! grow a label set or write an id into every line.

use http::Request;

/// A route template a router (not axum) puts in a request's extensions.
/// With feature `axum`, axum's `MatchedPath` is read first.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Route(pub &'static str);

/// The request's route template, or `""` when no route matched (a 404
/// from a fallback) or the router names none.
pub(crate) fn template<B>(request: &Request<B>) -> String {
    #[cfg(feature = "axum")]
    if let Some(path) = request.extensions().get::<axum::extract::MatchedPath>() {
        return path.as_str().to_owned();
    }
    request
        .extensions()
        .get::<Route>()
        .map_or_else(String::new, |route| route.0.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_route_comes_from_the_router_never_from_the_path() {
        let mut request = Request::get("/quote/ACME").body(()).unwrap();
        assert_eq!(template(&request), "");
        request.extensions_mut().insert(Route("/quote/{symbol}"));
        assert_eq!(template(&request), "/quote/{symbol}");
    }
}
