#include "upstream/token_source.h"

#include <cstdint>
#include <utility>

#include "absl/strings/str_cat.h"

namespace session_gateway {
namespace upstream {
namespace {

// One cache key per ordered scope list; length prefixes keep {"a,b"} and
// {"a", "b"} apart whatever the scopes contain.
std::string ScopesKey(absl::Span<const std::string> scopes) {
  std::string key;
  for (const std::string& scope : scopes) absl::StrAppend(&key, scope.size(), ":", scope);
  return key;
}

// The JWT's iat: `now` rounded down to whole seconds.
absl::Time IssuedAt(absl::Time now) { return absl::FromUnixSeconds(absl::ToUnixSeconds(now)); }

}  // namespace

CachingTokenSource::CachingTokenSource(std::unique_ptr<TokenSource> inner, absl::Duration lifetime,
                                       Executor* refresher)
    : inner_(std::move(inner)),
      lifetime_(absl::Seconds(absl::ToInt64Seconds(lifetime))),
      refresher_(refresher) {}

CachingTokenSource::~CachingTokenSource() {
  absl::MutexLock lock(&mu_);
  mu_.Await(absl::Condition(
      +[](int* in_flight) { return *in_flight == 0; }, &refreshes_in_flight_));
}

absl::StatusOr<std::string> CachingTokenSource::Mint(const std::string& key,
                                                     absl::Span<const std::string> scopes,
                                                     absl::Time now) const {
  // Signed without the lock, so that one signature never holds up calls
  // that have a token to reuse.
  absl::StatusOr<std::string> header = inner_->AuthorizationHeader(now, scopes);
  absl::MutexLock lock(&mu_);
  Entry& entry = entries_[key];
  entry.refreshing = false;
  // A slower, older signature must not replace a newer token.
  if (header.ok() && (entry.header.empty() || IssuedAt(now) >= entry.issued)) {
    entry.header = *header;
    entry.issued = IssuedAt(now);
  }
  return header;
}

absl::StatusOr<std::string> CachingTokenSource::AuthorizationHeader(
    absl::Time now, absl::Span<const std::string> scopes) const {
  std::string key = ScopesKey(scopes);
  std::string reused;
  bool start_refresh = false;
  {
    absl::MutexLock lock(&mu_);
    auto it = entries_.find(key);
    if (it != entries_.end() && !it->second.header.empty() && now >= it->second.issued) {
      Entry& entry = it->second;
      const absl::Duration age = now - entry.issued;
      if (age < lifetime_ / 2) return entry.header;
      if (age < lifetime_ * 3 / 4) {
        reused = entry.header;
        start_refresh = !entry.refreshing;
        if (start_refresh) {
          entry.refreshing = true;
          ++refreshes_in_flight_;
        }
      }
    }
  }
  if (reused.empty()) return Mint(key, scopes, now);
  // Started after unlocking: Run() may run the task at once (an inline
  // executor), and the task takes mu_.
  if (start_refresh) {
    refresher_->Run([this, key = std::move(key), scopes = std::vector<std::string>(scopes.begin(), scopes.end()),
                     now] {
      // A failed refresh keeps the current token: a later call tries
      // again, or signs inline once the token is too old.
      static_cast<void>(Mint(key, scopes, now));
      absl::MutexLock lock(&mu_);
      --refreshes_in_flight_;
    });
  }
  return reused;
}

}  // namespace upstream
}  // namespace session_gateway
