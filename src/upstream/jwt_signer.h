// Signs the bearer tokens the gateway presents to Gr4vy's REST API.
//
// Gr4vy does not hand out long-lived API tokens: every request carries a
// fresh, short-lived ES512 JWT signed with the merchant's EC P-521 private
// key, exactly as the official SDKs build it. The header names the key by
// its RFC 7638 JWK thumbprint ("kid"), and the claims carry the scopes the
// request needs (given per token, since each REST operation requires its
// own), the issuer, the validity window and a random "jti".
//
// Usage:
//
//   session_gateway::upstream::JwtOptions options;
//   options.issuer = "session-gateway/0.1.0";
//   absl::StatusOr<std::unique_ptr<session_gateway::upstream::JwtSigner>>
//       signer = session_gateway::upstream::JwtSigner::FromFile(
//           "/etc/session-gateway/private_key.pem", std::move(options));
//   if (!signer.ok()) return signer.status();
//   const std::vector<std::string> scopes = {"transactions.write"};
//   absl::StatusOr<std::string> token = (*signer)->Sign(absl::Now(), scopes);
//   if (!token.ok()) return token.status();
//   // request.SetHeader("Authorization", absl::StrCat("Bearer ", *token));
//
// A JwtSigner is immutable once built, so one instance can be shared by all
// request threads. Nothing here throws, and no error message ever contains
// key material. This library only signs; tests check tokens with the
// verifier in tests/support/jwt_verifier.h.

#ifndef SESSION_GATEWAY_UPSTREAM_JWT_SIGNER_H_
#define SESSION_GATEWAY_UPSTREAM_JWT_SIGNER_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/span.h"

// OpenSSL's key type, declared here so that this header does not pull the
// OpenSSL headers into every file that signs requests.
struct evp_pkey_st;

namespace session_gateway {
namespace upstream {

// What goes into every token a JwtSigner produces.
struct JwtOptions {
  // The "iss" claim, e.g. "session-gateway/0.1.0". Must be valid UTF-8.
  std::string issuer;

  // How long a token stays valid: "exp" is "iat" plus this, in whole
  // seconds (any fraction is dropped). Must be at least one second. Keep it
  // short: the token is a bearer credential and a new one is cheap.
  absl::Duration lifetime = absl::Seconds(60);
};

class JwtSigner {
 public:
  // Builds a signer from a PEM private key.
  //
  // `pkcs8_pem` is an unencrypted "-----BEGIN PRIVATE KEY-----" (PKCS#8)
  // block, as Gr4vy's dashboard issues it; OpenSSL's traditional
  // "-----BEGIN EC PRIVATE KEY-----" form is accepted too. Encrypted keys are
  // rejected rather than prompting for a passphrase.
  //
  // Returns kInvalidArgument if the PEM cannot be read, if the key is not an
  // EC key on the P-521 curve, or if `options` is invalid (see JwtOptions).
  static absl::StatusOr<std::unique_ptr<JwtSigner>> FromPem(
      absl::string_view pkcs8_pem, JwtOptions options);

  // Like FromPem, reading the PEM from the file at `path`. Returns
  // kNotFound if the file cannot be opened and kInternal if reading fails;
  // otherwise the same errors as FromPem.
  static absl::StatusOr<std::unique_ptr<JwtSigner>> FromFile(
      const std::string& path, JwtOptions options);

  JwtSigner(const JwtSigner&) = delete;
  JwtSigner& operator=(const JwtSigner&) = delete;
  ~JwtSigner();

  // Returns a new compact JWS, "<header>.<claims>.<signature>", whose
  // "scopes" claim is `scopes` in this order (may be empty), whose "iat"
  // and "nbf" are `now` rounded down to whole seconds and whose "exp" is
  // that plus the configured lifetime. Every call draws a new random "jti"
  // and a new ECDSA nonce, so no two tokens are alike.
  //
  // Safe to call concurrently from any number of threads. Returns
  // kInvalidArgument if `now` is infinite, "exp" would overflow or a scope
  // is not valid UTF-8, and kInternal if OpenSSL fails to sign or to
  // produce random bytes.
  absl::StatusOr<std::string> Sign(absl::Time now, absl::Span<const std::string> scopes) const;

  // The RFC 7638 JWK thumbprint of the public key, as written into each
  // token's "kid" header: 43 base64url characters.
  const std::string& key_id() const { return key_id_; }

 private:
  struct KeyDeleter {
    void operator()(evp_pkey_st* key) const;
  };
  using KeyPtr = std::unique_ptr<evp_pkey_st, KeyDeleter>;

  JwtSigner(KeyPtr key, std::string key_id, JwtOptions options);

  const KeyPtr key_;
  const std::string key_id_;
  const JwtOptions options_;
  // base64url of the header JSON, which is the same for every token.
  const std::string encoded_header_;
};

}  // namespace upstream
}  // namespace session_gateway

#endif  // SESSION_GATEWAY_UPSTREAM_JWT_SIGNER_H_
