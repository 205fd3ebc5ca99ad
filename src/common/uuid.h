// Version 4 (random) UUIDs in their canonical text form, from random bytes
// the caller draws: a request id can use a fast generator, a JWT "jti",
// which must not be guessable, a CSPRNG.
//
// Usage:
//
//   std::array<uint8_t, 16> bytes = ...;  // 16 random bytes
//   std::string id = FormatUuidV4(bytes);
//   // "1b4e28ba-2fa1-41d2-883f-0016d3cca427"
#ifndef SESSION_GATEWAY_COMMON_UUID_H_
#define SESSION_GATEWAY_COMMON_UUID_H_

#include <array>
#include <cstdint>
#include <string>

namespace session_gateway {

// The RFC 4122 version 4 UUID made of `random`: its version and variant
// bits are overwritten (4 and 10xx), the other 122 bits kept, written as
// 36 lowercase characters, 8-4-4-4-12.
std::string FormatUuidV4(std::array<uint8_t, 16> random);

}  // namespace session_gateway

#endif  // SESSION_GATEWAY_COMMON_UUID_H_
