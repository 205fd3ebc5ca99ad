#include "common/host_port.h"

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace session_gateway {
namespace {

absl::Status Malformed(absl::string_view address, absl::string_view why) {
  return absl::InvalidArgumentError(
      absl::StrCat("must be host:port with a port from 0 to 65535 (", why, "), got \"", address, "\""));
}

}  // namespace

absl::StatusOr<HostPort> ParseHostPort(absl::string_view address) {
  const size_t colon = address.rfind(':');
  if (colon == absl::string_view::npos) return Malformed(address, "no port");
  absl::string_view host = address.substr(0, colon);
  const absl::string_view port_text = address.substr(colon + 1);
  if (!host.empty() && host.front() == '[') {
    if (host.size() < 3 || host.back() != ']') return Malformed(address, "unbalanced brackets");
    host = host.substr(1, host.size() - 2);
  } else if (host.find(':') != absl::string_view::npos) {
    return Malformed(address, "an IPv6 address goes in brackets");
  }
  if (host.empty()) return Malformed(address, "no host");
  for (char c : host) {
    if (absl::ascii_isspace(c) || absl::ascii_iscntrl(c)) return Malformed(address, "blank in the host");
  }
  // SimpleAtoi alone would take "+80" and " 80".
  if (port_text.empty() || port_text.size() > 5) return Malformed(address, "bad port");
  for (char c : port_text) {
    if (!absl::ascii_isdigit(c)) return Malformed(address, "bad port");
  }
  HostPort parsed;
  if (!absl::SimpleAtoi(port_text, &parsed.port) || parsed.port > 65535) {
    return Malformed(address, "port out of range");
  }
  parsed.host = std::string(host);
  return parsed;
}

}  // namespace session_gateway
