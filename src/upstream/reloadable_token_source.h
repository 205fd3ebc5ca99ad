// Upstream credentials that can be re-read while the gateway serves: the
// operator rotates the API key (or token) file and sends SIGHUP, and later
// requests are signed with the new one, without a restart that would cut
// calls in flight.
//
// The loader builds the real source (JwtTokenSource, StaticTokenSource,
// ...) from its files; this class only swaps the result in. A failed
// reload keeps the credentials in use: a half-written or wrong file must
// not leave the gateway with none.
//
// Usage:
//
//   auto tokens = ReloadableTokenSource::Create([] { return LoadFromFlags(); });
//   if (!tokens.ok()) UsageError(tokens.status().message());
//   ...on SIGHUP:
//   if (absl::Status s = (*tokens)->Reload(); !s.ok()) Log(s.message());
#ifndef SESSION_GATEWAY_UPSTREAM_RELOADABLE_TOKEN_SOURCE_H_
#define SESSION_GATEWAY_UPSTREAM_RELOADABLE_TOKEN_SOURCE_H_

#include <functional>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "upstream/token_source.h"

namespace session_gateway {
namespace upstream {

class ReloadableTokenSource : public TokenSource {
 public:
  // Builds a token source from files. It must return a source or an error
  // (never null), with messages that hold no secret.
  using Loader = std::function<absl::StatusOr<std::unique_ptr<TokenSource>>()>;

  // Runs `loader` once; its error if that fails.
  static absl::StatusOr<std::unique_ptr<ReloadableTokenSource>> Create(Loader loader);

  // Runs the loader again. On success, requests from now on use the new
  // source (requests already signing finish with the old one); on failure
  // the current source stays and the loader's error is returned. Reloads
  // run one at a time. Thread-safe.
  absl::Status Reload();

  // The current source's header. Thread-safe; never waits for a reload's
  // file reading.
  absl::StatusOr<std::string> AuthorizationHeader(absl::Time now,
                                                  absl::Span<const std::string> scopes) const override;

 private:
  ReloadableTokenSource(Loader loader, std::shared_ptr<const TokenSource> current)
      : loader_(std::move(loader)), current_(std::move(current)) {}

  std::shared_ptr<const TokenSource> Current() const;

  const Loader loader_;
  absl::Mutex reload_mu_;  // Serializes Reload(); held while the loader runs.
  mutable absl::Mutex mu_;
  std::shared_ptr<const TokenSource> current_ ABSL_GUARDED_BY(mu_);
};

}  // namespace upstream
}  // namespace session_gateway

#endif  // SESSION_GATEWAY_UPSTREAM_RELOADABLE_TOKEN_SOURCE_H_
