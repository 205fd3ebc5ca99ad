#include "support/http_message.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace session_gateway {
namespace testing {
namespace {

// Longest chunk-size or trailer line accepted; a peer that sends more
// without a newline is broken, and buffering it would be unbounded.
constexpr size_t kMaxLineBytes = 8192;

bool IsTokenChar(char c) {
  if (absl::ascii_isalnum(static_cast<unsigned char>(c))) return true;
  return absl::string_view("!#$%&'*+-.^_`|~").find(c) !=
         absl::string_view::npos;
}

bool IsToken(absl::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), IsTokenChar);
}

absl::string_view TrimBlanks(absl::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) {
    s.remove_suffix(1);
  }
  return s;
}

// Splits a head into lines without their terminators; the blank line that
// ends the head is dropped.
std::vector<absl::string_view> HeadLines(absl::string_view head) {
  std::vector<absl::string_view> lines;
  for (absl::string_view line : absl::StrSplit(head, '\n')) {
    absl::ConsumeSuffix(&line, "\r");
    lines.push_back(line);
  }
  while (!lines.empty() && lines.back().empty()) lines.pop_back();
  return lines;
}

absl::Status ParseFields(const std::vector<absl::string_view>& lines,
                         HttpHead* head) {
  for (size_t i = 1; i < lines.size(); ++i) {
    absl::string_view line = lines[i];
    if (line.empty()) {
      return absl::InvalidArgumentError("empty line inside the head");
    }
    if (line.front() == ' ' || line.front() == '\t') {
      return absl::InvalidArgumentError("obsolete header line folding");
    }
    size_t colon = line.find(':');
    if (colon == absl::string_view::npos || !IsToken(line.substr(0, colon))) {
      return absl::InvalidArgumentError(
          absl::StrCat("malformed header line \"", line, "\""));
    }
    head->headers.emplace_back(absl::AsciiStrToLower(line.substr(0, colon)),
                               std::string(TrimBlanks(line.substr(colon + 1))));
  }
  return absl::OkStatus();
}

bool ParseVersion(absl::string_view text, int* minor) {
  if (!absl::ConsumePrefix(&text, "HTTP/1.") || text.size() != 1 ||
      !absl::ascii_isdigit(static_cast<unsigned char>(text[0]))) {
    return false;
  }
  *minor = text[0] - '0';
  return true;
}

bool ParseHex(absl::string_view text, uint64_t* value) {
  if (text.empty() || text.size() > 15) return false;
  uint64_t v = 0;
  for (char c : text) {
    int digit;
    if (c >= '0' && c <= '9') {
      digit = c - '0';
    } else if (c >= 'a' && c <= 'f') {
      digit = c - 'a' + 10;
    } else if (c >= 'A' && c <= 'F') {
      digit = c - 'A' + 10;
    } else {
      return false;
    }
    v = v * 16 + static_cast<uint64_t>(digit);
  }
  *value = v;
  return true;
}

// Finds the end of the line starting at `pos`; npos if it has not fully
// arrived.
size_t LineEnd(absl::string_view input, size_t pos) {
  return input.find('\n', pos);
}

absl::StatusOr<BodyFraming> FramingFromFields(const HttpHead& head) {
  BodyFraming framing;
  if (head.Has("transfer-encoding")) {
    std::vector<std::string> codings =
        absl::StrSplit(absl::AsciiStrToLower(head.Get("transfer-encoding")),
                       ',', absl::SkipWhitespace());
    for (std::string& coding : codings) {
      coding = std::string(TrimBlanks(coding));
    }
    // Chunked must come last; other codings around it would need
    // decompression, which nothing in these tests uses.
    if (codings.size() != 1 || codings[0] != "chunked") {
      return absl::InvalidArgumentError(
          absl::StrCat("unsupported Transfer-Encoding \"",
                       head.Get("transfer-encoding"), "\""));
    }
    framing.kind = BodyFraming::Kind::kChunked;
    return framing;
  }
  if (head.Has("content-length")) {
    // Repeated identical values are allowed by RFC 9110; different ones are
    // an attack or a bug.
    std::string joined = head.Get("content-length");
    uint64_t length = 0;
    bool first = true;
    for (absl::string_view part : absl::StrSplit(joined, ',')) {
      part = TrimBlanks(part);
      uint64_t v;
      if (part.empty() ||
          !std::all_of(part.begin(), part.end(),
                       [](char c) { return c >= '0' && c <= '9'; }) ||
          !absl::SimpleAtoi(part, &v) || (!first && v != length)) {
        return absl::InvalidArgumentError(
            absl::StrCat("bad Content-Length \"", joined, "\""));
      }
      length = v;
      first = false;
    }
    framing.kind = BodyFraming::Kind::kLength;
    framing.length = length;
    return framing;
  }
  framing.kind = BodyFraming::Kind::kUntilClose;
  return framing;
}

}  // namespace

std::string JoinedFieldValues(const std::vector<std::pair<std::string, std::string>>& fields,
                              absl::string_view name) {
  std::string joined;
  for (const auto& field : fields) {
    if (!absl::EqualsIgnoreCase(field.first, name)) continue;
    if (!joined.empty()) joined += ", ";
    joined += field.second;
  }
  return joined;
}

bool HttpHead::Has(absl::string_view name) const {
  return std::any_of(headers.begin(), headers.end(), [&](const auto& field) {
    return absl::EqualsIgnoreCase(field.first, name);
  });
}

bool HttpHead::KeepAlive() const {
  std::string connection = Get("connection");
  if (HasToken(connection, "close")) return false;
  if (minor_version >= 1) return true;
  return HasToken(connection, "keep-alive");
}

size_t FindHeadEnd(absl::string_view buffer) {
  for (size_t i = buffer.find('\n'); i != absl::string_view::npos;
       i = buffer.find('\n', i + 1)) {
    if (i + 1 < buffer.size() && buffer[i + 1] == '\n') return i + 2;
    if (i + 2 < buffer.size() && buffer[i + 1] == '\r' &&
        buffer[i + 2] == '\n') {
      return i + 3;
    }
  }
  return absl::string_view::npos;
}

absl::StatusOr<HttpHead> ParseRequestHead(absl::string_view text) {
  std::vector<absl::string_view> lines = HeadLines(text);
  if (lines.empty()) return absl::InvalidArgumentError("empty request head");
  std::vector<absl::string_view> parts = absl::StrSplit(lines[0], ' ');
  HttpHead head;
  if (parts.size() != 3 || !IsToken(parts[0]) || parts[1].empty() ||
      !ParseVersion(parts[2], &head.minor_version)) {
    return absl::InvalidArgumentError(
        absl::StrCat("malformed request line \"", lines[0], "\""));
  }
  head.method = std::string(parts[0]);
  head.target = std::string(parts[1]);
  absl::Status status = ParseFields(lines, &head);
  if (!status.ok()) return status;
  return head;
}

absl::StatusOr<HttpHead> ParseResponseHead(absl::string_view text) {
  std::vector<absl::string_view> lines = HeadLines(text);
  if (lines.empty()) return absl::InvalidArgumentError("empty response head");
  absl::string_view line = lines[0];
  HttpHead head;
  // "HTTP/1.1 200 OK"; the reason phrase may be empty or absent.
  std::vector<absl::string_view> parts =
      absl::StrSplit(line, absl::MaxSplits(' ', 2));
  if (parts.size() < 2 || !ParseVersion(parts[0], &head.minor_version) ||
      parts[1].size() != 3 || !absl::SimpleAtoi(parts[1], &head.status) ||
      head.status < 100) {
    return absl::InvalidArgumentError(
        absl::StrCat("malformed status line \"", line, "\""));
  }
  if (parts.size() == 3) head.reason = std::string(parts[2]);
  absl::Status status = ParseFields(lines, &head);
  if (!status.ok()) return status;
  return head;
}

bool HasToken(absl::string_view list, absl::string_view token) {
  for (absl::string_view item : absl::StrSplit(list, ',')) {
    if (absl::EqualsIgnoreCase(TrimBlanks(item), token)) return true;
  }
  return false;
}

const char* ReasonPhrase(int status) {
  switch (status) {
    case 100:
      return "Continue";
    case 200:
      return "OK";
    case 201:
      return "Created";
    case 202:
      return "Accepted";
    case 204:
      return "No Content";
    case 301:
      return "Moved Permanently";
    case 302:
      return "Found";
    case 304:
      return "Not Modified";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 409:
      return "Conflict";
    case 413:
      return "Content Too Large";
    case 415:
      return "Unsupported Media Type";
    case 422:
      return "Unprocessable Content";
    case 429:
      return "Too Many Requests";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    default:
      return "Unknown";
  }
}

absl::StatusOr<BodyFraming> RequestBodyFraming(const HttpHead& head) {
  absl::StatusOr<BodyFraming> framing = FramingFromFields(head);
  if (framing.ok() && framing->kind == BodyFraming::Kind::kUntilClose) {
    framing->kind = BodyFraming::Kind::kNone;
  }
  return framing;
}

absl::StatusOr<BodyFraming> ResponseBodyFraming(const HttpHead& head,
                                                bool request_was_head) {
  if (request_was_head || head.status < 200 || head.status == 204 ||
      head.status == 304) {
    return BodyFraming();
  }
  return FramingFromFields(head);
}

BodyDecoder::BodyDecoder(BodyFraming framing, uint64_t max_body_bytes)
    : framing_(framing), max_body_bytes_(max_body_bytes) {
  switch (framing.kind) {
    case BodyFraming::Kind::kNone:
      state_ = State::kDone;
      break;
    case BodyFraming::Kind::kLength:
      state_ = framing.length == 0 ? State::kDone : State::kLength;
      remaining_ = framing.length;
      break;
    case BodyFraming::Kind::kChunked:
      state_ = State::kChunkSize;
      break;
    case BodyFraming::Kind::kUntilClose:
      state_ = State::kUntilClose;
      break;
  }
}

absl::Status BodyDecoder::Append(absl::string_view data, std::string* body) {
  if (decoded_ + data.size() > max_body_bytes_) {
    return absl::ResourceExhaustedError(
        absl::StrCat("body larger than ", max_body_bytes_, " bytes"));
  }
  decoded_ += data.size();
  body->append(data.data(), data.size());
  return absl::OkStatus();
}

absl::StatusOr<size_t> BodyDecoder::Feed(absl::string_view input,
                                         std::string* body) {
  if (framing_.kind == BodyFraming::Kind::kLength &&
      framing_.length > max_body_bytes_) {
    return absl::ResourceExhaustedError(
        absl::StrCat("declared body of ", framing_.length,
                     " bytes is larger than ", max_body_bytes_));
  }
  size_t pos = 0;
  while (pos < input.size() && state_ != State::kDone) {
    switch (state_) {
      case State::kLength:
      case State::kChunkData: {
        size_t take = static_cast<size_t>(
            std::min<uint64_t>(remaining_, input.size() - pos));
        absl::Status status = Append(input.substr(pos, take), body);
        if (!status.ok()) return status;
        pos += take;
        remaining_ -= take;
        if (remaining_ == 0) {
          state_ =
              state_ == State::kLength ? State::kDone : State::kChunkDataEnd;
        }
        break;
      }
      case State::kUntilClose: {
        absl::Status status = Append(input.substr(pos), body);
        if (!status.ok()) return status;
        pos = input.size();
        break;
      }
      case State::kChunkSize: {
        size_t end = LineEnd(input, pos);
        if (end == absl::string_view::npos) {
          if (input.size() - pos > kMaxLineBytes) {
            return absl::InvalidArgumentError("chunk-size line too long");
          }
          return pos;
        }
        absl::string_view line = input.substr(pos, end - pos);
        absl::ConsumeSuffix(&line, "\r");
        // Chunk extensions (";name=value") carry nothing we need.
        line = TrimBlanks(line.substr(0, line.find(';')));
        uint64_t size;
        if (!ParseHex(line, &size)) {
          return absl::InvalidArgumentError(
              absl::StrCat("bad chunk size \"", line, "\""));
        }
        pos = end + 1;
        remaining_ = size;
        state_ = size == 0 ? State::kTrailer : State::kChunkData;
        break;
      }
      case State::kChunkDataEnd: {
        if (input[pos] == '\n') {
          pos += 1;
        } else if (input[pos] == '\r') {
          if (pos + 1 >= input.size()) return pos;
          if (input[pos + 1] != '\n') {
            return absl::InvalidArgumentError(
                "chunk data not followed by CRLF");
          }
          pos += 2;
        } else {
          return absl::InvalidArgumentError("chunk data not followed by CRLF");
        }
        state_ = State::kChunkSize;
        break;
      }
      case State::kTrailer: {
        size_t end = LineEnd(input, pos);
        if (end == absl::string_view::npos) {
          if (input.size() - pos > kMaxLineBytes) {
            return absl::InvalidArgumentError("trailer line too long");
          }
          return pos;
        }
        absl::string_view line = input.substr(pos, end - pos);
        absl::ConsumeSuffix(&line, "\r");
        pos = end + 1;
        // Trailer fields are read and dropped; an empty line ends them.
        if (line.empty()) state_ = State::kDone;
        break;
      }
      case State::kDone:
        break;
    }
  }
  return pos;
}

absl::Status BodyDecoder::FinishAtEof() {
  if (state_ == State::kDone) return absl::OkStatus();
  if (state_ == State::kUntilClose) {
    state_ = State::kDone;
    return absl::OkStatus();
  }
  if (framing_.kind == BodyFraming::Kind::kLength) {
    return absl::DataLossError(absl::StrCat("connection closed after ",
                                            decoded_, " of ", framing_.length,
                                            " body bytes"));
  }
  return absl::DataLossError(absl::StrCat(
      "connection closed inside a chunked body after ", decoded_, " bytes"));
}

}  // namespace testing
}  // namespace session_gateway
