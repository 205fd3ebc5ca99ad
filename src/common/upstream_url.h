// The REST upstream's base URL, checked once at start-up rather than on
// every call: a URL with no host, a bad port, a query or fragment (the
// routes' paths would be appended after it) or user info (a password in a
// flag, echoed in logs, and never sent as credentials) fails or misroutes
// every call, so the gateway must refuse to start with it.
//
// Usage:
//
//   absl::StatusOr<std::string> base = ParseUpstreamBase(flag_value);
//   if (!base.ok()) UsageError(absl::StrCat("--upstream: ", base.status().message()));
//   forwarder_options.upstream_base = *base;
#ifndef SESSION_GATEWAY_COMMON_UPSTREAM_URL_H_
#define SESSION_GATEWAY_COMMON_UPSTREAM_URL_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace session_gateway {

// Accepts an absolute http:// or https:// URL with a host, an optional port
// from 1 to 65535 and an optional path; returns it as libcurl normalizes
// it, without trailing slashes ("https://api.example.com/v1"). Refuses,
// with kInvalidArgument, anything else: surrounding or embedded blanks and
// control characters, user info, a query, a fragment.
//
// Error messages never quote the URL, which may hold a password or a key.
absl::StatusOr<std::string> ParseUpstreamBase(absl::string_view url);

}  // namespace session_gateway

#endif  // SESSION_GATEWAY_COMMON_UPSTREAM_URL_H_
