//! The route a request matched, as a template (`/quote/{symbol}`): what
//! metrics and logs name a request by, never its raw path, so no client can
//! grow a label set or write an id into every line.

use http::Request;

/// A route template a router (not axum) puts in a request's extensions.
/// With feature `axum`, axum's `MatchedPath` is read first.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Route(pub &'static str);

/// A request's route template, held without copying it (axum's matched
/// path is shared, a [`Route`] is static).
#[derive(Clone, Debug)]
pub(crate) enum Template {
    #[cfg(feature = "axum")]
    Matched(axum::extract::MatchedPath),
    Static(&'static str),
}

impl Template {
    /// The template, or `""` when no route matched (a 404 from a fallback)
    /// or the router names none.
    pub(crate) fn as_str(&self) -> &str {
        match self {
            #[cfg(feature = "axum")]
            Self::Matched(path) => path.as_str(),
            Self::Static(route) => route,
        }
    }
}

/// The request's route template; see [`Template::as_str`].
pub(crate) fn template<B>(request: &Request<B>) -> Template {
    #[cfg(feature = "axum")]
    if let Some(path) = request.extensions().get::<axum::extract::MatchedPath>() {
        return Template::Matched(path.clone());
    }
    Template::Static(
        request
            .extensions()
            .get::<Route>()
            .map_or("", |route| route.0),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_route_comes_from_the_router_never_from_the_path() {
        let mut request = Request::get("/quote/ACME").body(()).unwrap();
        assert_eq!(template(&request).as_str(), "");
        request.extensions_mut().insert(Route("/quote/{symbol}"));
        assert_eq!(template(&request).as_str(), "/quote/{symbol}");
    }
}
