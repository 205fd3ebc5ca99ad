// Just enough HTTP/1.1 message parsing for the stub upstream and its test
// clients: message heads, body framing (Content-Length, chunked, or
// read-until-close) and an incremental body decoder.
//
// Both ends share this code, so a parsing bug could hide itself in the
// self-tests; they therefore also talk to the stub through libcurl, the
// client the gateway itself uses.
//
// Usage:
//
//   size_t head_size = FindHeadEnd(buffer);
//   if (head_size == absl::string_view::npos) { /* read more */ }
//   absl::StatusOr<HttpHead> head =
//       ParseRequestHead(absl::string_view(buffer).substr(0, head_size));
//   absl::StatusOr<BodyFraming> framing = RequestBodyFraming(*head);
//   BodyDecoder decoder(*framing, /*max_body_bytes=*/1 << 20);
//   std::string body;
//   absl::StatusOr<size_t> used =
//       decoder.Feed(absl::string_view(buffer).substr(head_size), &body);
//   // ... read more and Feed() again until decoder.done().

#ifndef SESSION_GATEWAY_TEST_SUPPORT_HTTP_MESSAGE_H_
#define SESSION_GATEWAY_TEST_SUPPORT_HTTP_MESSAGE_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace session_gateway {
namespace testing {

// The start line and header fields of a request or a response.
// The values of every field in `fields` named `name` (any case), joined
// with ", " as RFC 9110 allows for list-valued fields; "" if there is none.
std::string JoinedFieldValues(const std::vector<std::pair<std::string, std::string>>& fields,
                              absl::string_view name);

struct HttpHead {
  // Request heads only.
  std::string method;
  std::string target;  // Raw request target, query included.

  // Response heads only.
  int status = 0;
  std::string reason;

  // The x in HTTP/1.x.
  int minor_version = 1;

  // In arrival order, names lowercased, values with surrounding blanks
  // removed. Repeated fields stay separate.
  std::vector<std::pair<std::string, std::string>> headers;

  // The values of every field named `name` (any case), joined with ", " as
  // RFC 9110 allows for list-valued fields; "" if there is none.
  std::string Get(absl::string_view name) const { return JoinedFieldValues(headers, name); }
  bool Has(absl::string_view name) const;

  // Whether the connection stays open after this message: HTTP/1.1 unless
  // "Connection: close", HTTP/1.0 only with "Connection: keep-alive".
  bool KeepAlive() const;
};

// Length of the head at the start of `buffer`, through the blank line that
// ends it ("\r\n\r\n", or a bare "\n\n" from sloppy peers), or npos if the
// blank line has not arrived yet.
size_t FindHeadEnd(absl::string_view buffer);

// Parse a complete head as located by FindHeadEnd. kInvalidArgument on
// anything malformed (including obsolete line folding, which RFC 9112 lets
// a server reject).
absl::StatusOr<HttpHead> ParseRequestHead(absl::string_view head);
absl::StatusOr<HttpHead> ParseResponseHead(absl::string_view head);

// Whether comma-separated `list` contains `token`, ignoring case.
bool HasToken(absl::string_view list, absl::string_view token);

// "OK", "Created", ...; "Unknown" for codes without a standard phrase.
const char* ReasonPhrase(int status);

// How the body of a message is delimited.
struct BodyFraming {
  enum class Kind { kNone, kLength, kChunked, kUntilClose };
  Kind kind = Kind::kNone;
  uint64_t length = 0;  // kLength only.
};

// Request bodies are chunked, Content-Length-delimited, or absent (a
// request can never be read until close). kInvalidArgument for a bad
// Content-Length or an unknown transfer coding.
absl::StatusOr<BodyFraming> RequestBodyFraming(const HttpHead& head);

// Response bodies per RFC 9112 section 6.3: none for HEAD, 1xx, 204 and
// 304; otherwise chunked, Content-Length, or until the connection closes.
absl::StatusOr<BodyFraming> ResponseBodyFraming(const HttpHead& head,
                                                bool request_was_head);

// Incremental decoder of one message body. Feed it bytes as they arrive;
// it stops at the end of the body, so the bytes after it (a pipelined
// request) stay with the caller.
class BodyDecoder {
 public:
  // Bodies larger than `max_body_bytes` fail with kResourceExhausted.
  BodyDecoder(BodyFraming framing, uint64_t max_body_bytes);

  // Decodes a prefix of `input`, appending body bytes to `body`; returns
  // how many bytes of `input` it used. It may use fewer than all of them
  // when a chunk-size line is still incomplete; feed the rest again with
  // more data appended. kInvalidArgument on malformed chunked framing.
  absl::StatusOr<size_t> Feed(absl::string_view input, std::string* body);

  // Whether the whole body has been decoded.
  bool done() const { return state_ == State::kDone; }

  // Call when the peer closed the connection. OK if that completes the
  // body (read-until-close framing, or already done); otherwise kDataLoss
  // saying how much was missing.
  absl::Status FinishAtEof();

  // Body bytes decoded so far.
  uint64_t decoded_bytes() const { return decoded_; }

 private:
  enum class State {
    kLength,
    kUntilClose,
    kChunkSize,
    kChunkData,
    kChunkDataEnd,
    kTrailer,
    kDone
  };

  absl::Status Append(absl::string_view data, std::string* body);

  BodyFraming framing_;
  uint64_t max_body_bytes_;
  State state_;
  uint64_t remaining_ = 0;  // In the current chunk, or of the length.
  uint64_t decoded_ = 0;
};

}  // namespace testing
}  // namespace session_gateway

#endif  // SESSION_GATEWAY_TEST_SUPPORT_HTTP_MESSAGE_H_
