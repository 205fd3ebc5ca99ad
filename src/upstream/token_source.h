// Where the gateway's upstream credentials come from: a static bearer token
// or a fresh ES512 JWT signed for each request, as the official SDKs do.
//
// Each request asks for the OAuth scopes of its own REST operation, so that
// a signed token grants no more than that one call needs.
//
// Usage:
//
//   std::unique_ptr<TokenSource> tokens = std::make_unique<StaticTokenSource>(token);
//   const std::vector<std::string> scopes = {"transactions.write"};
//   absl::StatusOr<std::string> header = tokens->AuthorizationHeader(absl::Now(), scopes);
//   // *header == "Bearer <token>"
#ifndef SESSION_GATEWAY_UPSTREAM_TOKEN_SOURCE_H_
#define SESSION_GATEWAY_UPSTREAM_TOKEN_SOURCE_H_

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "upstream/jwt_signer.h"

namespace session_gateway {
namespace upstream {

class TokenSource {
 public:
  virtual ~TokenSource() = default;
  // The Authorization header value for a request sent at `now` that needs
  // `scopes`, e.g. "Bearer eyJ...". Thread-safe. Error messages never
  // contain secrets.
  virtual absl::StatusOr<std::string> AuthorizationHeader(
      absl::Time now, absl::Span<const std::string> scopes) const = 0;
};

// Sends the same token every time. Its scopes were fixed when it was
// issued, so the requested ones are ignored.
class StaticTokenSource : public TokenSource {
 public:
  explicit StaticTokenSource(std::string token) : header_("Bearer " + std::move(token)) {}
  absl::StatusOr<std::string> AuthorizationHeader(absl::Time,
                                                  absl::Span<const std::string>) const override {
    return header_;
  }

 private:
  std::string header_;
};

// Signs a new short-lived JWT for every request, carrying exactly the
// requested scopes.
class JwtTokenSource : public TokenSource {
 public:
  explicit JwtTokenSource(std::unique_ptr<JwtSigner> signer) : signer_(std::move(signer)) {}
  absl::StatusOr<std::string> AuthorizationHeader(
      absl::Time now, absl::Span<const std::string> scopes) const override {
    absl::StatusOr<std::string> jwt = signer_->Sign(now, scopes);
    if (!jwt.ok()) return jwt.status();
    return "Bearer " + *jwt;
  }

 private:
  std::unique_ptr<JwtSigner> signer_;
};

// Asks `inner` for the same fixed scopes whatever a request needs: the
// operator's override (--jwt_scopes) for a key whose grants differ from
// what the API's document declares.
class FixedScopesTokenSource : public TokenSource {
 public:
  FixedScopesTokenSource(std::unique_ptr<TokenSource> inner, std::vector<std::string> scopes)
      : inner_(std::move(inner)), scopes_(std::move(scopes)) {}
  absl::StatusOr<std::string> AuthorizationHeader(absl::Time now,
                                                  absl::Span<const std::string>) const override {
    return inner_->AuthorizationHeader(now, scopes_);
  }

 private:
  std::unique_ptr<TokenSource> inner_;
  std::vector<std::string> scopes_;
};

}  // namespace upstream
}  // namespace session_gateway

#endif  // SESSION_GATEWAY_UPSTREAM_TOKEN_SOURCE_H_
