#include "gateway/call_log.h"

#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <string>

#include "absl/strings/str_cat.h"

namespace session_gateway {
namespace gateway {
namespace {

constexpr char kHex[] = "0123456789abcdef";

// Appends "YYYY-MM-DDTHH:MM:SS.mmmZ", the same text as absl::FormatTime
// with "%Y-%m-%dT%H:%M:%E3SZ" in UTC (fraction truncated). Formatting the
// date and time of day goes through absl's civil-time code; a busy gateway
// logs many calls within one second, so each thread keeps the last second
// it formatted and only appends the milliseconds.
void AppendTimestamp(absl::Time t, std::string& out) {
  if (t == absl::InfiniteFuture() || t == absl::InfinitePast()) {
    out.append(absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", t, absl::UTCTimeZone()));
    return;
  }
  const int64_t millis = absl::ToUnixMillis(t);  // Rounds toward -infinity.
  int64_t seconds = millis / 1000, ms = millis % 1000;
  if (ms < 0) {
    ms += 1000;
    --seconds;
  }
  thread_local int64_t cached_second = INT64_MIN;
  thread_local std::string cached_text;
  if (seconds != cached_second) {
    cached_text = absl::FormatTime("%Y-%m-%dT%H:%M:%S", absl::FromUnixSeconds(seconds),
                                   absl::UTCTimeZone());
    cached_second = seconds;
  }
  out.append(cached_text);
  const char frac[] = {'.', static_cast<char>('0' + ms / 100), static_cast<char>('0' + ms / 10 % 10),
                       static_cast<char>('0' + ms % 10), 'Z'};
  out.append(frac, sizeof frac);
}

// "%.1f" of the latency in milliseconds, as the forwarder prints it today.
void AppendLatencyMs(absl::Duration latency, std::string& out, bool json) {
  const double ms = absl::ToDoubleMilliseconds(latency);
  if (!std::isfinite(ms)) {
    // Only an infinite Duration gets here; JSON has no infinity.
    out.append(json ? "null" : (ms > 0 ? "inf" : "-inf"));
    return;
  }
  char buffer[32];
  const int n = std::snprintf(buffer, sizeof buffer, "%.1f", ms);
  if (n > 0) out.append(buffer, static_cast<size_t>(n) < sizeof buffer ? static_cast<size_t>(n)
                                                                       : sizeof buffer - 1);
}

// Text values: visible ASCII as is (so today's lines stay byte for byte
// the same), anything else as \xHH so that a value cannot end the line or
// add a field.
void AppendTextValue(absl::string_view value, std::string& out) {
  for (char c : value) {
    const auto u = static_cast<unsigned char>(c);
    if (u >= 0x21 && u <= 0x7e) {
      out.push_back(c);
    } else {
      const char escaped[] = {'\\', 'x', kHex[u >> 4], kHex[u & 0xF]};
      out.append(escaped, sizeof escaped);
    }
  }
}

void AppendUnicodeEscape(uint32_t unit, std::string& out) {
  const char escaped[] = {'\\', 'u', kHex[(unit >> 12) & 0xF], kHex[(unit >> 8) & 0xF],
                          kHex[(unit >> 4) & 0xF], kHex[unit & 0xF]};
  out.append(escaped, sizeof escaped);
}

// Decodes one UTF-8 sequence at the start of `s` (whose first byte is
// >= 0x80). Returns its length and sets `*code_point`, or returns 0 for an
// invalid sequence (overlong forms, surrogates, > U+10FFFF, truncation).
size_t DecodeUtf8(absl::string_view s, uint32_t* code_point) {
  const auto b0 = static_cast<unsigned char>(s[0]);
  size_t length;
  uint32_t cp, min;
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    length = 2, cp = b0 & 0x1F, min = 0x80;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    length = 3, cp = b0 & 0x0F, min = 0x800;
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    length = 4, cp = b0 & 0x07, min = 0x10000;
  } else {
    return 0;
  }
  if (s.size() < length) return 0;
  for (size_t i = 1; i < length; ++i) {
    const auto b = static_cast<unsigned char>(s[i]);
    if ((b & 0xC0) != 0x80) return 0;
    cp = cp << 6 | (b & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  *code_point = cp;
  return length;
}

// A JSON string, quotes included, in pure ASCII (see FormatTo).
void AppendJsonString(absl::string_view value, std::string& out) {
  out.push_back('"');
  size_t i = 0;
  while (i < value.size()) {
    const char c = value[i];
    const auto u = static_cast<unsigned char>(c);
    if (u >= 0x80) {
      uint32_t cp = 0;
      const size_t length = DecodeUtf8(value.substr(i), &cp);
      if (length == 0) {
        AppendUnicodeEscape(0xFFFD, out);  // One replacement per bad byte.
        ++i;
        continue;
      }
      if (cp >= 0x10000) {
        cp -= 0x10000;
        AppendUnicodeEscape(0xD800 + (cp >> 10), out);
        AppendUnicodeEscape(0xDC00 + (cp & 0x3FF), out);
      } else {
        AppendUnicodeEscape(cp, out);
      }
      i += length;
      continue;
    }
    switch (c) {
      case '"':
        out.append("\\\"");
        break;
      case '\\':
        out.append("\\\\");
        break;
      case '\n':
        out.append("\\n");
        break;
      case '\r':
        out.append("\\r");
        break;
      case '\t':
        out.append("\\t");
        break;
      default:
        if (u < 0x20 || u == 0x7f) {
          AppendUnicodeEscape(u, out);
        } else {
          out.push_back(c);
        }
    }
    ++i;
  }
  out.push_back('"');
}

void FormatText(const CallRecord& r, std::string& out) {
  AppendTimestamp(r.timestamp, out);
  out.append(" session-gateway: call method=");
  AppendTextValue(r.method, out);
  out.append(" request_id=");
  AppendTextValue(r.request_id, out);
  absl::StrAppend(&out, " upstream_status=", r.upstream_status, " grpc_code=");
  AppendTextValue(r.grpc_code, out);
  absl::StrAppend(&out, " attempts=", r.attempts, " latency_ms=");
  AppendLatencyMs(r.latency, out, /*json=*/false);
  if (!r.trace_id.empty()) {
    out.append(" trace_id=");
    AppendTextValue(r.trace_id, out);
  }
  if (r.shed) out.append(" shed=true");
  out.push_back('\n');
}

void FormatJson(const CallRecord& r, std::string& out) {
  out.append("{\"timestamp\":\"");
  AppendTimestamp(r.timestamp, out);  // Digits, '-', ':', '.', 'T', 'Z' only.
  out.append("\",\"method\":");
  AppendJsonString(r.method, out);
  out.append(",\"code\":");
  AppendJsonString(r.grpc_code, out);
  absl::StrAppend(&out, ",\"upstream_status\":", r.upstream_status, ",\"attempts\":", r.attempts,
                  ",\"latency_ms\":");
  AppendLatencyMs(r.latency, out, /*json=*/true);
  out.append(",\"request_id\":");
  AppendJsonString(r.request_id, out);
  out.append(",\"trace_id\":");
  AppendJsonString(r.trace_id, out);
  out.append(r.shed ? ",\"shed\":true}\n" : ",\"shed\":false}\n");
}

}  // namespace

bool AbslParseFlag(absl::string_view text, LogFormat* format, std::string* error) {
  if (text == "text") {
    *format = LogFormat::kText;
    return true;
  }
  if (text == "json") {
    *format = LogFormat::kJson;
    return true;
  }
  *error = "must be text or json";
  return false;
}

std::string AbslUnparseFlag(LogFormat format) {
  return format == LogFormat::kJson ? "json" : "text";
}

void FormatTo(const CallRecord& record, LogFormat format, std::string* out) {
  if (format == LogFormat::kJson) {
    FormatJson(record, *out);
  } else {
    FormatText(record, *out);
  }
}

std::string Format(const CallRecord& record, LogFormat format) {
  std::string line;
  line.reserve(256);
  FormatTo(record, format, &line);
  return line;
}

bool CallLogSink::WriteLine(absl::string_view line) {
  while (!line.empty()) {
    const ssize_t n = ::write(fd_, line.data(), line.size());
    if (n <= 0) {
      if (n < 0 && errno == EINTR) continue;
      // n == 0 cannot happen for a non-empty write to a file, pipe or
      // socket; were it to, retrying could spin forever.
      lines_dropped_.fetch_add(1, std::memory_order_relaxed);
      return false;
    }
    line.remove_prefix(static_cast<size_t>(n));
  }
  lines_written_.fetch_add(1, std::memory_order_relaxed);
  return true;
}

bool CallLogSink::Write(const CallRecord& record, LogFormat format) {
  // Reused per thread: gRPC's callback threads and the HTTP client's thread
  // finish calls, so there are few of them, and each keeps its capacity.
  thread_local std::string buffer;
  buffer.clear();
  FormatTo(record, format, &buffer);
  const bool written = WriteLine(buffer);
  // Escaping can make a line with a hostile value six times its size; do
  // not keep that much per thread.
  if (buffer.capacity() > 16384) std::string().swap(buffer);
  return written;
}

}  // namespace gateway
}  // namespace session_gateway
