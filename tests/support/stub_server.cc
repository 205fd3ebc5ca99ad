#include "support/stub_server.h"

#include <errno.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <memory>
#include <system_error>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "rapidjson/stringbuffer.h"
#include "rapidjson/writer.h"

namespace session_gateway {
namespace testing {
namespace {

constexpr size_t kMaxHeadBytes = size_t{64} * 1024;
constexpr absl::string_view kControlPrefix = "/__stub/";

// The server side never gives up on a write: a test that stops reading is
// bounded by the process's --max_lifetime instead.
absl::Status SendForever(int fd, absl::string_view data) {
  return SendAll(fd, data, absl::InfiniteFuture());
}

void WriteString(rapidjson::Writer<rapidjson::StringBuffer>* writer,
                 absl::string_view s) {
  writer->String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
}

std::string ErrorJson(absl::string_view message) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  writer.StartObject();
  writer.Key("error");
  WriteString(&writer, message);
  writer.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize());
}

// A complete response for the control endpoints and protocol errors.
std::string SimpleResponse(int status, absl::string_view body, bool close,
                           absl::string_view extra_fields = "") {
  return absl::StrCat(
      "HTTP/1.1 ", status, " ", ReasonPhrase(status),
      "\r\nContent-Type: application/json\r\nContent-Length: ", body.size(),
      "\r\n", extra_fields, close ? "Connection: close\r\n" : "", "\r\n", body);
}

// Closing with unread input makes the kernel send RST, which can destroy
// the error response before the client reads it; so stop writing, let the
// client finish sending (for at most a second), then close.
void LingeringClose(int fd) {
  ::shutdown(fd, SHUT_WR);
  absl::Time deadline = absl::Now() + absl::Seconds(1);
  char discard[4096];
  while (WaitReadable(fd, deadline).ok()) {
    ssize_t n = ::recv(fd, discard, sizeof(discard), MSG_DONTWAIT);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) return;
  }
}

bool StatusHasNoBody(int status) {
  return status < 200 || status == 204 || status == 304;
}

// The status line and fields of a scripted response. Fields the step sets
// itself win over the defaults; `*close_after` says whether the connection
// must close once the response is out.
std::string ScriptedHead(const StubStep& step, const HttpHead& request,
                         uint64_t content_length, bool* close_after) {
  std::string out = absl::StrCat("HTTP/1.1 ", step.status, " ",
                                 ReasonPhrase(step.status), "\r\n");
  bool has_type = false;
  bool has_framing = false;
  bool has_connection = false;
  *close_after = !request.KeepAlive();
  for (const auto& field : step.headers) {
    absl::StrAppend(&out, field.first, ": ", field.second, "\r\n");
    if (absl::EqualsIgnoreCase(field.first, "content-type")) has_type = true;
    if (absl::EqualsIgnoreCase(field.first, "content-length") ||
        absl::EqualsIgnoreCase(field.first, "transfer-encoding")) {
      has_framing = true;
    }
    if (absl::EqualsIgnoreCase(field.first, "connection")) {
      has_connection = true;
      if (HasToken(field.second, "close")) *close_after = true;
    }
  }
  if (!has_type) out += "Content-Type: application/json\r\n";
  if (!has_framing && !StatusHasNoBody(step.status)) {
    absl::StrAppend(&out, "Content-Length: ", content_length, "\r\n");
  }
  if (!has_connection) {
    if (*close_after) {
      out += "Connection: close\r\n";
    } else if (request.minor_version == 0) {
      out += "Connection: keep-alive\r\n";
    }
  }
  out += "\r\n";
  return out;
}

}  // namespace

StubServer::StubServer(const StubServerOptions& options) : options_(options) {}

absl::Status StubServer::Listen(int port) {
  absl::StatusOr<UniqueFd> listener = ListenLoopback(port, &port_);
  if (!listener.ok()) return listener.status();
  listener_ = std::move(*listener);
  return absl::OkStatus();
}

void StubServer::ShutdownListener() {
  // shutdown() rather than close(): it wakes a thread blocked in accept()
  // without freeing the descriptor number under it.
  if (listener_.valid()) ::shutdown(listener_.get(), SHUT_RDWR);
}

void StubServer::AcceptLoop() {
  for (;;) {
    int fd = ::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
          errno == ENOMEM) {
        // Out of descriptors: back off instead of spinning; hanging
        // connections free up as their clients give up.
        absl::SleepFor(absl::Milliseconds(10));
        continue;
      }
      return;  // The listener was shut down.
    }
    auto connection = std::make_unique<Connection>();
    connection->fd.reset(fd);
    if (live_connections_.fetch_add(1) >= options_.max_connections) {
      live_connections_.fetch_sub(1);
      continue;  // Closed by ~Connection.
    }
    DisableNagle(fd);
    try {
      std::thread([this, c = std::move(connection)]() mutable {
        ServeConnection(c.get());
        c.reset();
        live_connections_.fetch_sub(1);
      }).detach();
    } catch (const std::system_error&) {
      // No thread for it: the lambda (and the connection) is gone, which
      // closes the socket; the client sees a reset, as with a full server.
      live_connections_.fetch_sub(1);
    }
  }
}

void StubServer::ServeConnection(Connection* connection) {
  for (;;) {
    Request request;
    if (ReadRequest(connection, &request) != ReadResult::kRequest) break;
    bool keep_open = absl::StartsWith(request.head.target, kControlPrefix)
                         ? HandleControl(connection, request)
                         : HandleScripted(connection, request);
    if (!keep_open) break;
  }
  if (connection->id != 0) {
    absl::MutexLock lock(&mu_);
    --open_connections_;
  }
}

StubServer::ReadResult StubServer::ReadRequest(Connection* connection,
                                               Request* request) {
  std::string& input = connection->input;
  int fd = connection->fd.get();
  // Returns false once the peer is gone.
  auto receive = [&]() {
    char chunk[64 * 1024];
    for (;;) {
      ssize_t n = ::recv(fd, chunk, sizeof(chunk), 0);
      if (n > 0) {
        input.append(chunk, static_cast<size_t>(n));
        return true;
      }
      if (n < 0 && errno == EINTR) continue;
      return false;
    }
  };
  auto reject = [&](int status, absl::string_view message) {
    SendForever(fd, SimpleResponse(status, ErrorJson(message), true))
        .IgnoreError();
    LingeringClose(fd);
    return ReadResult::kAnswered;
  };

  size_t head_size;
  for (;;) {
    // RFC 9112 asks servers to skip blank lines before a request line.
    size_t blanks = input.find_first_not_of("\r\n");
    input.erase(0, blanks == std::string::npos ? input.size() : blanks);
    head_size = FindHeadEnd(input);
    if (head_size != absl::string_view::npos) break;
    if (input.size() > kMaxHeadBytes) break;
    if (!receive()) return ReadResult::kClosed;
  }
  if (head_size == absl::string_view::npos || head_size > kMaxHeadBytes) {
    return reject(431, "request head too large");
  }
  absl::StatusOr<HttpHead> head =
      ParseRequestHead(absl::string_view(input).substr(0, head_size));
  if (!head.ok()) return reject(400, head.status().message());
  input.erase(0, head_size);
  request->head = std::move(*head);

  absl::StatusOr<BodyFraming> framing = RequestBodyFraming(request->head);
  if (!framing.ok()) return reject(400, framing.status().message());
  if (framing->kind == BodyFraming::Kind::kLength &&
      framing->length > options_.max_request_body_bytes) {
    return reject(413, "request body too large");
  }
  BodyDecoder decoder(*framing, options_.max_request_body_bytes);
  // curl sends "Expect: 100-continue" before large bodies and would wait a
  // second for this go-ahead before sending anyway.
  if (!decoder.done() &&
      HasToken(request->head.Get("expect"), "100-continue")) {
    SendForever(fd, "HTTP/1.1 100 Continue\r\n\r\n").IgnoreError();
  }
  for (;;) {
    absl::StatusOr<size_t> used = decoder.Feed(input, &request->body);
    if (!used.ok()) {
      return reject(absl::IsResourceExhausted(used.status()) ? 413 : 400,
                    used.status().message());
    }
    input.erase(0, *used);
    if (decoder.done()) return ReadResult::kRequest;
    if (!receive()) return ReadResult::kClosed;
  }
}

bool StubServer::HandleControl(Connection* connection, const Request& request) {
  const HttpHead& head = request.head;
  bool keep_alive = head.KeepAlive();
  absl::string_view path = head.target;
  path = path.substr(0, path.find('?'));
  path.remove_prefix(kControlPrefix.size());

  const char* method = nullptr;  // The one the endpoint wants.
  int status = 200;
  std::string body;
  if (path == "script") {
    method = "POST";
    if (head.method == method) {
      absl::StatusOr<std::vector<StubStep>> steps =
          ParseStubScript(request.body);
      if (!steps.ok()) {
        status = 400;
        body = ErrorJson(steps.status().message());
      } else {
        absl::MutexLock lock(&mu_);
        if (queue_.size() + steps->size() > options_.max_queued_steps) {
          status = 400;
          body = ErrorJson(absl::StrCat("more than ", options_.max_queued_steps,
                                        " steps queued"));
        } else {
          for (StubStep& step : *steps) queue_.push_back(std::move(step));
          body = absl::StrCat(R"({"queued":)", queue_.size(), "}");
        }
      }
    }
  } else if (path == "requests") {
    method = "GET";
    if (head.method == method) body = RequestsJson();
  } else if (path == "reset") {
    method = "POST";
    if (head.method == method) {
      absl::MutexLock lock(&mu_);
      queue_.clear();
      records_.clear();
      recorded_body_bytes_ = 0;
      dropped_records_ = 0;
      requests_ = 0;
      connections_ = 0;
      ++generation_;
      body = "{}";
    }
  } else if (path == "stats") {
    method = "GET";
    if (head.method == method) body = StatsJson();
  }

  std::string extra;
  if (method == nullptr) {
    status = 404;
    body = ErrorJson(absl::StrCat("unknown control endpoint ", head.target));
  } else if (head.method != method) {
    status = 405;
    body = ErrorJson(absl::StrCat(head.target, " takes ", method));
    extra = absl::StrCat("Allow: ", method, "\r\n");
  }
  bool sent = SendForever(connection->fd.get(),
                          SimpleResponse(status, body, !keep_alive, extra))
                  .ok();
  return sent && keep_alive;
}

bool StubServer::HandleScripted(Connection* connection,
                                const Request& request) {
  StubStep step;
  int64_t number;
  int64_t connection_id;
  {
    absl::MutexLock lock(&mu_);
    if (connection->id == 0) {
      connection->id = next_connection_id_++;
      ++open_connections_;
    }
    if (connection->counted_generation != generation_) {
      connection->counted_generation = generation_;
      ++connections_;
    }
    number = ++requests_;
    connection_id = connection->id;
    if (!queue_.empty()) {
      step = std::move(queue_.front());
      queue_.pop_front();
    }
    Record record;
    record.method = request.head.method;
    record.target = request.head.target;
    record.headers = request.head.headers;
    record.body = request.body;
    record.connection = connection_id;
    RecordLocked(std::move(record));
  }
  if (options_.log_requests) {
    std::fprintf(stderr,
                 "stub_upstream: request %lld on connection %lld: %s %s -> %s "
                 "%d\n",
                 static_cast<long long>(number),
                 static_cast<long long>(connection_id),
                 request.head.method.c_str(), request.head.target.c_str(),
                 std::string(ActionName(step.action)).c_str(), step.status);
  }
  if (step.delay_ms > 0) absl::SleepFor(absl::Milliseconds(step.delay_ms));
  return Perform(connection, request, step, number);
}

bool StubServer::Perform(Connection* connection, const Request& request,
                         const StubStep& step, int64_t request_number) {
  int fd = connection->fd.get();
  const HttpHead& head = request.head;
  bool head_only = head.method == "HEAD" || StatusHasNoBody(step.status);
  std::string body =
      step.body.has_value() ? *step.body : DefaultSessionBody(request_number);
  bool close_after = false;

  switch (step.action) {
    case StubStep::Action::kRespond: {
      std::string out = ScriptedHead(step, head, body.size(), &close_after);
      if (!head_only) out += body;
      return SendForever(fd, out).ok() && !close_after;
    }
    case StubStep::Action::kReset: {
      // A zero linger time makes close() abort the connection with RST
      // instead of the orderly FIN.
      linger abort_on_close = {1, 0};
      ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &abort_on_close,
                   sizeof(abort_on_close));
      return false;
    }
    case StubStep::Action::kClose:
      return false;
    case StubStep::Action::kHang:
      HoldUntilPeerCloses(connection);
      return false;
    case StubStep::Action::kHeadersThenStall:
      if (SendForever(fd, ScriptedHead(step, head, body.size(), &close_after))
              .ok()) {
        HoldUntilPeerCloses(connection);
      }
      return false;
    case StubStep::Action::kDrip: {
      std::string out = ScriptedHead(step, head, body.size(), &close_after);
      if (!head_only) out += body;
      for (size_t i = 0; i < out.size(); ++i) {
        if (i > 0) absl::SleepFor(absl::Milliseconds(step.drip_interval_ms));
        if (!SendForever(fd, absl::string_view(out).substr(i, 1)).ok()) {
          return false;
        }
      }
      return !close_after;
    }
    case StubStep::Action::kTruncate: {
      // Declare at least one byte so that even an empty body comes up
      // short.
      uint64_t declared = std::max<uint64_t>(body.size(), 1);
      std::string out = ScriptedHead(step, head, declared, &close_after);
      out += body.substr(0, body.size() / 2);
      SendForever(fd, out).IgnoreError();
      return false;
    }
    case StubStep::Action::kHuge: {
      if (!SendForever(fd,
                       ScriptedHead(step, head, step.size_bytes, &close_after))
               .ok()) {
        return false;
      }
      if (head_only) return !close_after;
      // Streamed from one reusable block so a gigabyte body costs 64 KiB.
      const std::string pad(size_t{64} * 1024, 'x');
      if (!SendForever(fd, HugeBodyPrefix()).ok()) return false;
      uint64_t left = step.size_bytes - MinHugeBodyBytes();
      while (left > 0) {
        size_t n = static_cast<size_t>(std::min<uint64_t>(left, pad.size()));
        if (!SendForever(fd, absl::string_view(pad).substr(0, n)).ok()) {
          return false;
        }
        left -= n;
      }
      return SendForever(fd, HugeBodySuffix()).ok() && !close_after;
    }
    case StubStep::Action::kRaw:
      SendForever(fd, body).IgnoreError();
      return false;
  }
  return false;
}

void StubServer::HoldUntilPeerCloses(Connection* connection) {
  char discard[4096];
  for (;;) {
    ssize_t n = ::recv(connection->fd.get(), discard, sizeof(discard), 0);
    if (n > 0) continue;
    if (n < 0 && errno == EINTR) continue;
    return;
  }
}

void StubServer::RecordLocked(Record record) {
  recorded_body_bytes_ += record.body.size();
  records_.push_back(std::move(record));
  while (records_.size() > 1 &&
         (records_.size() > options_.max_records ||
          recorded_body_bytes_ > options_.max_recorded_body_bytes)) {
    recorded_body_bytes_ -= records_.front().body.size();
    records_.pop_front();
    ++dropped_records_;
  }
}

std::string StubServer::RequestsJson() {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  absl::MutexLock lock(&mu_);
  writer.StartArray();
  for (const Record& record : records_) {
    writer.StartObject();
    writer.Key("method");
    WriteString(&writer, record.method);
    writer.Key("path");
    WriteString(&writer, record.target);
    writer.Key("headers");
    writer.StartObject();
    // A JSON object cannot repeat a key, so repeated fields are joined the
    // way RFC 9110 lets a recipient combine them.
    std::vector<std::pair<std::string, std::string>> merged;
    for (const auto& field : record.headers) {
      auto it = std::find_if(merged.begin(), merged.end(), [&](const auto& m) {
        return m.first == field.first;
      });
      if (it == merged.end()) {
        merged.push_back(field);
      } else {
        absl::StrAppend(&it->second, ", ", field.second);
      }
    }
    for (const auto& field : merged) {
      writer.Key(field.first.data(),
                 static_cast<rapidjson::SizeType>(field.first.size()));
      WriteString(&writer, field.second);
    }
    writer.EndObject();
    writer.Key("body");
    WriteString(&writer, record.body);
    writer.Key("connection");
    writer.Int64(record.connection);
    writer.EndObject();
  }
  writer.EndArray();
  return std::string(buffer.GetString(), buffer.GetSize());
}

std::string StubServer::StatsJson() {
  absl::MutexLock lock(&mu_);
  return absl::StrCat(R"({"connections":)", connections_, R"(,"requests":)",
                      requests_, R"(,"open_connections":)", open_connections_,
                      R"(,"pending_steps":)", queue_.size(),
                      R"(,"dropped_records":)", dropped_records_, "}");
}

}  // namespace testing
}  // namespace session_gateway
