#include "support/http_client.h"

#include <errno.h>
#include <sys/socket.h>
#include <sys/types.h>

#include <algorithm>
#include <cstring>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace session_gateway {
namespace testing {
namespace {

// A status line plus fields beyond this is not something the stub sends.
constexpr size_t kMaxHeadBytes = size_t{64} * 1024;

bool HasField(const HttpHeaders& headers, absl::string_view name) {
  return std::any_of(headers.begin(), headers.end(), [&](const auto& field) {
    return absl::EqualsIgnoreCase(field.first, name);
  });
}

absl::Status Annotate(const absl::Status& status, absl::string_view context) {
  return absl::Status(status.code(),
                      absl::StrCat(context, ": ", status.message()));
}

}  // namespace

std::string HttpResponse::Header(absl::string_view name) const {
  return JoinedFieldValues(headers, name);
}

std::string FormatRequest(absl::string_view method, absl::string_view target,
                          absl::string_view body, const HttpHeaders& headers) {
  std::string out = absl::StrCat(method, " ", target, " HTTP/1.1\r\n");
  if (!HasField(headers, "host")) out += "Host: 127.0.0.1\r\n";
  for (const auto& field : headers) {
    absl::StrAppend(&out, field.first, ": ", field.second, "\r\n");
  }
  bool body_expected =
      !body.empty() || method == "POST" || method == "PUT" || method == "PATCH";
  if (body_expected && !HasField(headers, "content-length") &&
      !HasField(headers, "transfer-encoding")) {
    absl::StrAppend(&out, "Content-Length: ", body.size(), "\r\n");
  }
  out += "\r\n";
  out.append(body.data(), body.size());
  return out;
}

absl::StatusOr<std::unique_ptr<HttpConnection>> HttpConnection::Connect(
    int port, absl::Duration timeout) {
  absl::StatusOr<UniqueFd> fd = ConnectLoopback(port, absl::Now() + timeout);
  if (!fd.ok()) return fd.status();
  return std::unique_ptr<HttpConnection>(new HttpConnection(std::move(*fd)));
}

absl::Status HttpConnection::Send(absl::string_view bytes,
                                  absl::Duration timeout) {
  if (!fd_.valid()) return absl::FailedPreconditionError("connection closed");
  return SendAll(fd_.get(), bytes, absl::Now() + timeout);
}

absl::Status HttpConnection::ReadMore(absl::Time deadline, bool* eof) {
  *eof = false;
  if (!fd_.valid()) return absl::FailedPreconditionError("connection closed");
  absl::Status ready = WaitReadable(fd_.get(), deadline);
  if (!ready.ok()) return ready;
  char chunk[64 * 1024];
  ssize_t n = ::recv(fd_.get(), chunk, sizeof(chunk), MSG_DONTWAIT);
  if (n > 0) {
    buffer_.append(chunk, static_cast<size_t>(n));
    bytes_received_ += static_cast<size_t>(n);
    return absl::OkStatus();
  }
  if (n == 0) {
    *eof = true;
    return absl::OkStatus();
  }
  int err = errno;
  if (err == EAGAIN || err == EWOULDBLOCK || err == EINTR) {
    return absl::OkStatus();
  }
  std::string message = absl::StrCat("recv: ", std::strerror(err));
  if (err == ECONNRESET) return absl::AbortedError(message);
  return absl::UnavailableError(message);
}

absl::StatusOr<HttpResponse> HttpConnection::ReadResponse(
    absl::Duration timeout, bool request_was_head) {
  absl::Time deadline = absl::Now() + timeout;
  for (;;) {
    size_t head_size;
    while ((head_size = FindHeadEnd(buffer_)) == absl::string_view::npos) {
      if (buffer_.size() > kMaxHeadBytes) {
        return absl::InvalidArgumentError("response head too large");
      }
      bool eof;
      absl::Status status = ReadMore(deadline, &eof);
      if (!status.ok()) {
        return Annotate(status, absl::StrCat("reading the response head (",
                                             buffer_.size(), " bytes so far)"));
      }
      if (eof && buffer_.empty()) {
        return absl::UnavailableError(
            "connection closed before any byte of the response");
      }
      if (eof) {
        return absl::DataLossError(
            absl::StrCat("connection closed inside the response head after ",
                         buffer_.size(), " bytes"));
      }
    }
    absl::StatusOr<HttpHead> head =
        ParseResponseHead(absl::string_view(buffer_).substr(0, head_size));
    if (!head.ok()) return head.status();
    buffer_.erase(0, head_size);
    if (head->status == 101) {
      return absl::UnimplementedError("protocol upgrades are not supported");
    }
    // 100 Continue and other interim responses precede the real one.
    if (head->status < 200) continue;

    absl::StatusOr<BodyFraming> framing =
        ResponseBodyFraming(*head, request_was_head);
    if (!framing.ok()) return framing.status();
    BodyDecoder decoder(*framing, kMaxBodyBytes);
    HttpResponse response;
    response.status = head->status;
    response.reason = head->reason;
    response.headers = std::move(head->headers);
    for (;;) {
      absl::StatusOr<size_t> used = decoder.Feed(buffer_, &response.body);
      if (!used.ok()) return used.status();
      buffer_.erase(0, *used);
      if (decoder.done()) return response;
      bool eof;
      absl::Status status = ReadMore(deadline, &eof);
      if (!status.ok()) {
        return Annotate(
            status, absl::StrCat("reading the response body (",
                                 decoder.decoded_bytes(), " bytes so far)"));
      }
      if (eof) {
        absl::Status finished = decoder.FinishAtEof();
        if (!finished.ok()) return finished;
        return response;
      }
    }
  }
}

absl::StatusOr<HttpResponse> HttpConnection::RoundTrip(
    absl::string_view method, absl::string_view target, absl::string_view body,
    const HttpHeaders& headers, absl::Duration timeout) {
  absl::Time deadline = absl::Now() + timeout;
  absl::Status sent = Send(FormatRequest(method, target, body, headers),
                           deadline - absl::Now());
  if (!sent.ok()) return Annotate(sent, "sending the request");
  return ReadResponse(deadline - absl::Now(), method == "HEAD");
}

absl::StatusOr<HttpResponse> HttpFetch(int port, absl::string_view method,
                                       absl::string_view target,
                                       absl::string_view body,
                                       const HttpHeaders& headers,
                                       absl::Duration timeout) {
  absl::Time deadline = absl::Now() + timeout;
  absl::StatusOr<std::unique_ptr<HttpConnection>> connection =
      HttpConnection::Connect(port, timeout);
  if (!connection.ok()) return connection.status();
  HttpHeaders with_close = headers;
  if (!HasField(headers, "connection")) {
    with_close.emplace_back("Connection", "close");
  }
  return (*connection)
      ->RoundTrip(method, target, body, with_close, deadline - absl::Now());
}

}  // namespace testing
}  // namespace session_gateway
