// A test-only ES512 JWT verifier: checks the tokens the gateway's
// JwtSigner makes, in unit tests and in integration tests that read the
// Authorization header a stub upstream received. Production code only
// signs (upstream/jwt_signer.h); nothing in the gateway verifies tokens.
//
// Usage:
//
//   absl::StatusOr<std::string> claims =
//       testing::VerifyEs512Jwt(token, ReadFile("ec_p521_public.pem").value());
//   ASSERT_TRUE(claims.ok()) << claims.status();
//   // *claims == R"({"scopes":["transactions.write"],"iss":...})"
#ifndef SESSION_GATEWAY_TESTS_SUPPORT_JWT_VERIFIER_H_
#define SESSION_GATEWAY_TESTS_SUPPORT_JWT_VERIFIER_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace session_gateway {
namespace testing {

// Checks a compact JWS that claims to be ES512 against `public_key_pem`, a
// "-----BEGIN PUBLIC KEY-----" (SubjectPublicKeyInfo) block holding an EC
// P-521 key, and returns the decoded claims JSON text.
//
// Succeeds only if the token has exactly three base64url parts without
// padding, the header is a JSON object whose "alg" is "ES512", the claims
// are a JSON object, and the signature is a valid 132-byte raw R || S
// ECDSA P-521 signature over SHA-512 of "<header>.<claims>". It does not
// look at "kid", "exp", "nbf" or any other claim: deciding whether the
// claims are acceptable is left to the caller.
//
// Returns kInvalidArgument for a malformed token or an unusable key and
// kUnauthenticated if the signature does not verify.
absl::StatusOr<std::string> VerifyEs512Jwt(absl::string_view jwt,
                                           absl::string_view public_key_pem);

}  // namespace testing
}  // namespace session_gateway

#endif  // SESSION_GATEWAY_TESTS_SUPPORT_JWT_VERIFIER_H_
