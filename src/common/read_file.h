// Reading a whole file into memory: key files, certificates, tokens.
//
// Usage:
//
//   absl::StatusOr<std::string> pem = ReadFile("/etc/session-gateway/key.pem");
//   if (!pem.ok()) return pem.status();  // "cannot open /etc/...: No such file ..."
#ifndef SESSION_GATEWAY_COMMON_READ_FILE_H_
#define SESSION_GATEWAY_COMMON_READ_FILE_H_

#include <string>

#include "absl/status/statusor.h"

namespace session_gateway {

// The bytes of the file at `path`, exactly as stored. kNotFound "cannot
// open <path>" if it cannot be opened (missing, a permission, a directory)
// and kInternal "cannot read <path>" if reading fails part-way. Messages
// name the path but never quote the contents, which may be secret.
absl::StatusOr<std::string> ReadFile(const std::string& path);

}  // namespace session_gateway

#endif  // SESSION_GATEWAY_COMMON_READ_FILE_H_
