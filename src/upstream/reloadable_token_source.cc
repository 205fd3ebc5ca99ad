#include "upstream/reloadable_token_source.h"

#include <utility>

namespace session_gateway {
namespace upstream {
namespace {

absl::StatusOr<std::shared_ptr<const TokenSource>> Load(const ReloadableTokenSource::Loader& loader) {
  absl::StatusOr<std::unique_ptr<TokenSource>> loaded = loader();
  if (!loaded.ok()) return loaded.status();
  if (*loaded == nullptr) return absl::InternalError("the credentials loader returned no source");
  return std::shared_ptr<const TokenSource>(*std::move(loaded));
}

}  // namespace

absl::StatusOr<std::unique_ptr<ReloadableTokenSource>> ReloadableTokenSource::Create(Loader loader) {
  absl::StatusOr<std::shared_ptr<const TokenSource>> first = Load(loader);
  if (!first.ok()) return first.status();
  return std::unique_ptr<ReloadableTokenSource>(new ReloadableTokenSource(std::move(loader), *std::move(first)));
}

absl::Status ReloadableTokenSource::Reload() {
  absl::MutexLock reload_lock(&reload_mu_);
  // The files are read without mu_ held, so requests keep signing meanwhile.
  absl::StatusOr<std::shared_ptr<const TokenSource>> next = Load(loader_);
  if (!next.ok()) return next.status();
  absl::MutexLock lock(&mu_);
  current_ = *std::move(next);
  return absl::OkStatus();
}

std::shared_ptr<const TokenSource> ReloadableTokenSource::Current() const {
  absl::ReaderMutexLock lock(&mu_);
  return current_;
}

absl::StatusOr<std::string> ReloadableTokenSource::AuthorizationHeader(
    absl::Time now, absl::Span<const std::string> scopes) const {
  // A copy of the pointer keeps the old source alive for a request that
  // started signing before a reload swapped it out.
  return Current()->AuthorizationHeader(now, scopes);
}

}  // namespace upstream
}  // namespace session_gateway
