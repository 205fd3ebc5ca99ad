// Where the gateway's upstream credentials come from: a static bearer token
// or ES512 JWTs signed with the merchant's key, as the official SDKs make
// them.
//
// Each request asks for the OAuth scopes of its own REST operation, so that
// a signed token grants no more than that one call needs. Signing costs a
// P-521 signature (about 200 us of CPU), so the gateway puts a
// CachingTokenSource in front of the signer: one token per scope set,
// reused for the first half of its lifetime and replaced in the background
// after that, so that calls do not wait on a signature.
//
// Usage:
//
//   std::unique_ptr<TokenSource> tokens = std::make_unique<CachingTokenSource>(
//       std::make_unique<JwtTokenSource>(std::move(signer)), jwt_lifetime, &executor);
//   const std::vector<std::string> scopes = {"transactions.write"};
//   absl::StatusOr<std::string> header = tokens->AuthorizationHeader(absl::Now(), scopes);
//   // *header == "Bearer eyJ..."
#ifndef SESSION_GATEWAY_UPSTREAM_TOKEN_SOURCE_H_
#define SESSION_GATEWAY_UPSTREAM_TOKEN_SOURCE_H_

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "common/executor.h"
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

// Signs a new short-lived JWT each time it is asked, carrying exactly the
// requested scopes. Wrap it in a CachingTokenSource to reuse tokens.
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

// Reuses the tokens of `inner` (typically a JwtTokenSource), one per
// distinct list of scopes:
//
//  - for the first half of a token's lifetime, it is handed out as is;
//  - in the third quarter it is still handed out, and the first call that
//    sees it there starts a replacement on `refresher`, which takes over
//    when signed: no call waits for it;
//  - in the last quarter (or once expired, or when the clock has gone back
//    before it was issued) a new token is signed inline by the call that
//    needs it, as is the very first token of each scope list.
//
// So under steady traffic only the first call per scope list waits on a
// signature, and no token is sent with less than a quarter of its lifetime
// left. A token is a bearer credential for its whole lifetime anyway, so
// reusing it (also across the attempts of a retried call) grants nothing a
// fresh one would not. Thread-safe.
class CachingTokenSource : public TokenSource {
 public:
  // `inner` must make tokens valid for `lifetime` (whole seconds count, as
  // in JwtOptions::lifetime) from the second `now` falls in. `refresher`
  // runs background refreshes and must outlive this object.
  CachingTokenSource(std::unique_ptr<TokenSource> inner, absl::Duration lifetime, Executor* refresher);

  // Waits for a background refresh in flight, if any.
  ~CachingTokenSource() override;

  absl::StatusOr<std::string> AuthorizationHeader(absl::Time now,
                                                  absl::Span<const std::string> scopes) const override;

 private:
  struct Entry {
    std::string header;
    absl::Time issued;  // Rounded down to the second, as the JWT's iat.
    bool refreshing = false;
  };

  // Signs a token for `scopes` at `now` and stores it under `key`.
  absl::StatusOr<std::string> Mint(const std::string& key, absl::Span<const std::string> scopes,
                                   absl::Time now) const ABSL_LOCKS_EXCLUDED(mu_);

  const std::unique_ptr<TokenSource> inner_;
  const absl::Duration lifetime_;
  Executor* const refresher_;
  mutable absl::Mutex mu_;
  mutable absl::flat_hash_map<std::string, Entry> entries_ ABSL_GUARDED_BY(mu_);
  mutable int refreshes_in_flight_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace upstream
}  // namespace session_gateway

#endif  // SESSION_GATEWAY_UPSTREAM_TOKEN_SOURCE_H_
