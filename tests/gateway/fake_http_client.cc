#include "gateway/fake_http_client.h"

#include "gtest/gtest.h"

namespace session_gateway {
namespace testing {
namespace {

constexpr absl::Duration kWaitBound = absl::Seconds(10);

}  // namespace

upstream::HttpResult FakeHttpClient::Response(int status, std::string body,
                                              std::vector<std::pair<std::string, std::string>> headers) {
  upstream::HttpResult result;
  result.status = absl::OkStatus();
  result.request_sent = true;
  result.response.status = status;
  result.response.headers = std::move(headers);
  result.response.body = std::move(body);
  return result;
}

upstream::HttpResult FakeHttpClient::Failure(absl::Status status, bool request_sent) {
  upstream::HttpResult result;
  result.status = std::move(status);
  result.request_sent = request_sent;
  return result;
}

uint64_t FakeHttpClient::Start(upstream::HttpRequest request, Callback done) {
  absl::MutexLock lock(&mu_);
  const uint64_t id = exchanges_.size() + 1;
  exchanges_.push_back(Exchange{id, std::move(request), std::move(done)});
  return id;
}

void FakeHttpClient::Cancel(uint64_t id) {
  absl::MutexLock lock(&mu_);
  if (id >= 1 && id <= exchanges_.size()) exchanges_[id - 1].cancelled = true;
}

bool FakeHttpClient::WaitForExchanges(size_t count) {
  absl::MutexLock lock(&mu_);
  auto started = [this, count]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return exchanges_.size() >= count; };
  return mu_.AwaitWithTimeout(absl::Condition(&started), kWaitBound);
}

bool FakeHttpClient::WaitForCancel(size_t index) {
  absl::MutexLock lock(&mu_);
  auto cancelled = [this, index]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return index < exchanges_.size() && exchanges_[index].cancelled;
  };
  return mu_.AwaitWithTimeout(absl::Condition(&cancelled), kWaitBound);
}

size_t FakeHttpClient::exchanges() const {
  absl::MutexLock lock(&mu_);
  return exchanges_.size();
}

upstream::HttpRequest FakeHttpClient::request(size_t index) const {
  absl::MutexLock lock(&mu_);
  if (index >= exchanges_.size()) {
    ADD_FAILURE() << "no exchange #" << index;
    return {};
  }
  return exchanges_[index].request;
}

bool FakeHttpClient::cancelled(size_t index) const {
  absl::MutexLock lock(&mu_);
  return index < exchanges_.size() && exchanges_[index].cancelled;
}

std::string FakeHttpClient::header(size_t index, const std::string& name) const {
  std::string value;
  int seen = 0;
  for (const auto& [header, header_value] : request(index).headers) {
    if (header == name) {
      value = header_value;
      ++seen;
    }
  }
  EXPECT_LE(seen, 1) << name << " sent " << seen << " times";
  return value;
}

void FakeHttpClient::Complete(size_t index, upstream::HttpResult result) {
  Callback done;
  {
    absl::MutexLock lock(&mu_);
    if (index >= exchanges_.size() || !exchanges_[index].done) {
      ADD_FAILURE() << "exchange #" << index << " is not pending";
      return;
    }
    done = std::move(exchanges_[index].done);
    exchanges_[index].done = nullptr;
  }
  std::move(done)(std::move(result));
}

void FakeHttpClient::CompleteAllPending(const upstream::HttpResult& result) {
  for (size_t i = 0; i < exchanges(); ++i) {
    bool pending;
    {
      absl::MutexLock lock(&mu_);
      pending = static_cast<bool>(exchanges_[i].done);
    }
    if (pending) Complete(i, result);
  }
}

}  // namespace testing
}  // namespace session_gateway
