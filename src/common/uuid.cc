#include "common/uuid.h"

#include <cstddef>

namespace session_gateway {

std::string FormatUuidV4(std::array<uint8_t, 16> random) {
  random[6] = static_cast<uint8_t>((random[6] & 0x0F) | 0x40);  // Version 4.
  random[8] = static_cast<uint8_t>((random[8] & 0x3F) | 0x80);  // RFC 4122 variant.
  static constexpr char kHex[] = "0123456789abcdef";
  std::string uuid;
  uuid.reserve(36);
  for (size_t i = 0; i < random.size(); ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) uuid.push_back('-');
    uuid.push_back(kHex[random[i] >> 4]);
    uuid.push_back(kHex[random[i] & 0x0F]);
  }
  return uuid;
}

}  // namespace session_gateway
