// An HttpClient for in-process tests of the forwarder: it records every
// request and leaves each exchange pending until the test completes it,
// on the test's own thread, with the result the test chooses.
//
// Usage:
//
//   FakeHttpClient http;
//   ... start a gRPC call that reaches the forwarder ...
//   ASSERT_TRUE(http.WaitForExchanges(1));
//   EXPECT_EQ(http.request(0).url, "http://upstream.test/payment-service-definitions/x/sessions");
//   http.Complete(0, FakeHttpClient::Response(201, R"({"status":"succeeded"})"));
#ifndef SESSION_GATEWAY_TESTS_GATEWAY_FAKE_HTTP_CLIENT_H_
#define SESSION_GATEWAY_TESTS_GATEWAY_FAKE_HTTP_CLIENT_H_

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "upstream/http_client.h"

namespace session_gateway {
namespace testing {

class FakeHttpClient final : public upstream::HttpClient {
 public:
  // A complete HTTP answer, with a JSON content type unless `headers` say
  // otherwise.
  static upstream::HttpResult Response(
      int status, std::string body,
      std::vector<std::pair<std::string, std::string>> headers = {{"content-type", "application/json"}});

  // A failure with no HTTP answer; `request_sent` says whether the
  // upstream may have seen the request.
  static upstream::HttpResult Failure(absl::Status status, bool request_sent);

  // Records the exchange; its callback runs only from Complete().
  uint64_t Start(upstream::HttpRequest request, Callback done) override;

  // Records the cancellation. As the contract allows, the callback does not
  // run here: the test completes the exchange (typically with
  // absl::CancelledError(), as the real client would).
  void Cancel(uint64_t id) override;

  // Waits (up to 10 s, a bound against hangs rather than a timing check)
  // until at least `count` exchanges have started.
  bool WaitForExchanges(size_t count);
  // Waits, likewise, until exchange `index` has been cancelled.
  bool WaitForCancel(size_t index);

  size_t exchanges() const;
  // The request exchange `index` (0-based, in start order) sent.
  upstream::HttpRequest request(size_t index) const;
  bool cancelled(size_t index) const;
  // The value of header `name` in request `index`, "" if absent; fails
  // the test if it appears more than once.
  std::string header(size_t index, const std::string& name) const;

  // Runs the callback of exchange `index` with `result` on the calling
  // thread. Each exchange completes exactly once.
  void Complete(size_t index, upstream::HttpResult result);

  // Completes every exchange still pending with `result`: lets a test end
  // without leaving calls waiting on an answer.
  void CompleteAllPending(const upstream::HttpResult& result);

 private:
  struct Exchange {
    uint64_t id;
    upstream::HttpRequest request;
    Callback done;  // Empty once completed.
    bool cancelled = false;
  };

  mutable absl::Mutex mu_;
  std::vector<Exchange> exchanges_ ABSL_GUARDED_BY(mu_);
};

}  // namespace testing
}  // namespace session_gateway

#endif  // SESSION_GATEWAY_TESTS_GATEWAY_FAKE_HTTP_CLIENT_H_
