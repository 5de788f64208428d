#pragma once
// data_service's routes: GET /data (the article's DataController) and GET /work (its polling loop).

#include <string>

#include <halt/http/client.hpp>
#include <halt/http/router.hpp>

namespace data_service {

/// GET /data fetches `upstream_url` with the request's token and answers its body: the upstream call
/// stops the moment the caller goes away (logged 499 client_disconnected), or when the request's
/// deadline passes (504). An upstream failure or non-2xx answer is a 502 with a one-line reason.
///
/// GET /work?ms=N runs the article's `while (!token.is_cancellation_requested())` loop on the
/// server's worker pool for up to N milliseconds and reports how far it got.
///
/// `client` must outlive the server that serves these routes.
halt::http::router make_routes(halt::http::client& client, std::string upstream_url);

}  // namespace data_service
