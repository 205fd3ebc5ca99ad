// Where the gateway's upstream credentials come from: a static bearer token
// or a fresh ES512 JWT signed for each request, as the official SDKs do.
//
// Usage:
//
//   std::unique_ptr<TokenSource> tokens = StaticTokenSource::Create(token);
//   absl::StatusOr<std::string> header = tokens->AuthorizationHeader(absl::Now());
//   // *header == "Bearer <token>"
#ifndef SESSION_GATEWAY_UPSTREAM_TOKEN_SOURCE_H_
#define SESSION_GATEWAY_UPSTREAM_TOKEN_SOURCE_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "upstream/jwt_signer.h"

namespace session_gateway {
namespace upstream {

class TokenSource {
 public:
  virtual ~TokenSource() = default;
  // The Authorization header value for a request sent at `now`, e.g.
  // "Bearer eyJ...". Thread-safe. Error messages never contain secrets.
  virtual absl::StatusOr<std::string> AuthorizationHeader(absl::Time now) const = 0;
};

// Sends the same token every time.
class StaticTokenSource : public TokenSource {
 public:
  explicit StaticTokenSource(std::string token) : header_("Bearer " + std::move(token)) {}
  absl::StatusOr<std::string> AuthorizationHeader(absl::Time) const override { return header_; }

 private:
  std::string header_;
};

// Signs a new short-lived JWT for every request.
class JwtTokenSource : public TokenSource {
 public:
  explicit JwtTokenSource(std::unique_ptr<JwtSigner> signer) : signer_(std::move(signer)) {}
  absl::StatusOr<std::string> AuthorizationHeader(absl::Time now) const override {
    absl::StatusOr<std::string> jwt = signer_->Sign(now);
    if (!jwt.ok()) return jwt.status();
    return "Bearer " + *jwt;
  }

 private:
  std::unique_ptr<JwtSigner> signer_;
};

}  // namespace upstream
}  // namespace session_gateway

#endif  // SESSION_GATEWAY_UPSTREAM_TOKEN_SOURCE_H_
