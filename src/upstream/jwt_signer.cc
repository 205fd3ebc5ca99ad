#include "upstream/jwt_signer.h"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/rand.h>

#include <array>
#include <climits>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/json_text.h"
#include "common/read_file.h"
#include "common/uuid.h"
#include "upstream/openssl_ptr.h"

namespace session_gateway {
namespace upstream {
namespace {

// P-521 coordinates and ECDSA R and S are ceil(521 / 8) bytes; JOSE
// (RFC 7518 section 3.4) fixes them at exactly that width.
constexpr size_t kP521Bytes = 66;
constexpr size_t kSignatureBytes = 2 * kP521Bytes;


// OpenSSL queues errors per thread. Anything left behind would be blamed on
// the next unrelated OpenSSL call on this thread, so every failure path
// drains the queue. Only the static reason text is kept: the queue's
// free-form "data" can quote the input, which may be key material.
std::string TakeOpenSslError() {
  const unsigned long code = ERR_peek_last_error();
  ERR_clear_error();
  const char* reason = code == 0 ? nullptr : ERR_reason_error_string(code);
  return reason == nullptr ? std::string("unknown OpenSSL error")
                           : std::string(reason);
}

// Without an explicit callback OpenSSL asks for a passphrase on the
// terminal, which would hang a server given an encrypted key.
int RefusePassphrase(char* /*buf*/, int /*size*/, int /*rwflag*/,
                     void* /*userdata*/) {
  return -1;
}

absl::StatusOr<BioPtr> MemoryBio(absl::string_view pem,
                                 absl::string_view what) {
  if (pem.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(what, " PEM is empty"));
  }
  if (pem.size() > static_cast<size_t>(INT_MAX)) {
    return absl::InvalidArgumentError(absl::StrCat(what, " PEM is too large"));
  }
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (bio == nullptr) {
    return absl::InternalError(
        absl::StrCat("cannot buffer ", what, " PEM: ", TakeOpenSslError()));
  }
  return bio;
}

// Explicit-parameter EC keys are refused along with every other curve:
// they have no group name, and accepting arbitrary curve parameters is a
// well-known way to get a weak key past a check like this one.
absl::Status RequireP521(const EVP_PKEY* key, absl::string_view what) {
  if (!EVP_PKEY_is_a(key, "EC")) {
    const char* type = EVP_PKEY_get0_type_name(key);
    return absl::InvalidArgumentError(
        absl::StrCat(what, " is of type ", type == nullptr ? "unknown" : type,
                     "; an EC P-521 key is required"));
  }
  char group[80] = {};
  size_t group_length = 0;
  if (EVP_PKEY_get_group_name(key, group, sizeof(group), &group_length) != 1) {
    ERR_clear_error();
    return absl::InvalidArgumentError(
        absl::StrCat(what, " has no named curve; an EC P-521 key is required"));
  }
  int nid = OBJ_sn2nid(group);
  if (nid == NID_undef) nid = EC_curve_nist2nid(group);
  if (nid != NID_secp521r1) {
    return absl::InvalidArgumentError(absl::StrCat(
        what, " is on curve ", group, "; an EC P-521 key is required"));
  }
  return absl::OkStatus();
}

// RFC 7638: SHA-256 over the required JWK members in lexicographic order,
// with no whitespace.
absl::StatusOr<std::string> JwkThumbprint(const EVP_PKEY* key) {
  BIGNUM* raw_x = nullptr;
  BIGNUM* raw_y = nullptr;
  const int got_x =
      EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_EC_PUB_X, &raw_x);
  const int got_y =
      EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_EC_PUB_Y, &raw_y);
  const BignumPtr x(raw_x);
  const BignumPtr y(raw_y);
  if (got_x != 1 || got_y != 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot get the public point of the private key: ",
                     TakeOpenSslError()));
  }
  unsigned char x_bytes[kP521Bytes];
  unsigned char y_bytes[kP521Bytes];
  if (BN_bn2binpad(x.get(), x_bytes, kP521Bytes) < 0 ||
      BN_bn2binpad(y.get(), y_bytes, kP521Bytes) < 0) {
    ERR_clear_error();
    return absl::InvalidArgumentError(
        "the private key's public point does not fit P-521");
  }
  auto as_view = [](const unsigned char* bytes, size_t size) {
    return absl::string_view(reinterpret_cast<const char*>(bytes), size);
  };
  const std::string jwk = absl::StrCat(
      R"({"crv":"P-521","kty":"EC","x":")",
      absl::WebSafeBase64Escape(as_view(x_bytes, kP521Bytes)), R"(","y":")",
      absl::WebSafeBase64Escape(as_view(y_bytes, kP521Bytes)), R"("})");
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int digest_size = 0;
  if (EVP_Digest(jwk.data(), jwk.size(), digest, &digest_size, EVP_sha256(),
                 nullptr) != 1) {
    return absl::InternalError(
        absl::StrCat("SHA-256 failed: ", TakeOpenSslError()));
  }
  return absl::WebSafeBase64Escape(as_view(digest, digest_size));
}

absl::Status ValidateOptions(const JwtOptions& options) {
  if (!IsValidUtf8(options.issuer)) {
    return absl::InvalidArgumentError("JWT issuer is not valid UTF-8");
  }
  if (options.lifetime == absl::InfiniteDuration() ||
      options.lifetime < absl::Seconds(1)) {
    return absl::InvalidArgumentError(
        absl::StrCat("JWT lifetime must be a finite duration of at least 1s, "
                     "got ",
                     absl::FormatDuration(options.lifetime)));
  }
  return absl::OkStatus();
}

// A version 4 UUID (RFC 4122 section 4.4). The bytes come from OpenSSL's
// CSPRNG rather than a general-purpose generator because the jti is what
// the API uses to spot a replayed token, so it must not be guessable; the
// CSPRNG is also safe to call from many threads at once.
absl::StatusOr<std::string> RandomUuid() {
  std::array<uint8_t, 16> bytes;
  if (RAND_bytes(bytes.data(), static_cast<int>(bytes.size())) != 1) {
    return absl::InternalError(
        absl::StrCat("cannot generate a jti: ", TakeOpenSslError()));
  }
  return FormatUuidV4(bytes);
}

}  // namespace

void JwtSigner::KeyDeleter::operator()(evp_pkey_st* key) const {
  EVP_PKEY_free(key);
}

JwtSigner::JwtSigner(KeyPtr key, std::string key_id, JwtOptions options)
    : key_(std::move(key)),
      key_id_(std::move(key_id)),
      options_(std::move(options)),
      encoded_header_(absl::WebSafeBase64Escape(absl::StrCat(
          R"({"alg":"ES512","typ":"JWT","kid":")", key_id_, R"("})"))) {}

JwtSigner::~JwtSigner() = default;

absl::StatusOr<std::unique_ptr<JwtSigner>> JwtSigner::FromPem(
    absl::string_view pkcs8_pem, JwtOptions options) {
  if (absl::Status status = ValidateOptions(options); !status.ok()) {
    return status;
  }
  absl::StatusOr<BioPtr> bio = MemoryBio(pkcs8_pem, "private key");
  if (!bio.ok()) return bio.status();
  KeyPtr key(
      PEM_read_bio_PrivateKey(bio->get(), nullptr, RefusePassphrase, nullptr));
  if (key == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot read the private key; expected an unencrypted "
                     "PEM \"PRIVATE KEY\" block (OpenSSL: ",
                     TakeOpenSslError(), ")"));
  }
  if (absl::Status status = RequireP521(key.get(), "the private key");
      !status.ok()) {
    return status;
  }
  absl::StatusOr<std::string> key_id = JwkThumbprint(key.get());
  if (!key_id.ok()) return key_id.status();
  return std::unique_ptr<JwtSigner>(
      new JwtSigner(std::move(key), *std::move(key_id), std::move(options)));
}

absl::StatusOr<std::unique_ptr<JwtSigner>> JwtSigner::FromFile(
    const std::string& path, JwtOptions options) {
  absl::StatusOr<std::string> pem = ReadFile(path);
  if (!pem.ok()) {
    return absl::Status(pem.status().code(),
                        absl::StrCat("private key file: ", pem.status().message()));
  }
  absl::StatusOr<std::unique_ptr<JwtSigner>> signer =
      FromPem(*pem, std::move(options));
  if (!signer.ok()) {
    signer = absl::Status(signer.status().code(),
                          absl::StrCat(path, ": ", signer.status().message()));
  }
  // The key now lives inside OpenSSL; don't leave a copy in freed memory.
  OPENSSL_cleanse(pem->data(), pem->size());
  return signer;
}

absl::StatusOr<std::string> JwtSigner::Sign(
    absl::Time now, absl::Span<const std::string> scopes) const {
  if (now == absl::InfiniteFuture() || now == absl::InfinitePast()) {
    return absl::InvalidArgumentError("cannot sign a JWT at an infinite time");
  }
  const int64_t issued_at = absl::ToUnixSeconds(now);
  const int64_t lifetime = absl::ToInt64Seconds(options_.lifetime);
  if (issued_at > std::numeric_limits<int64_t>::max() - lifetime) {
    return absl::InvalidArgumentError("JWT expiry time overflows");
  }
  absl::StatusOr<std::string> jti = RandomUuid();
  if (!jti.ok()) return jti.status();

  std::string claims = R"({"scopes":[)";
  for (size_t i = 0; i < scopes.size(); ++i) {
    if (i > 0) claims.push_back(',');
    if (!AppendJsonString(scopes[i], &claims)) {
      return absl::InvalidArgumentError(
          absl::StrCat("JWT scope #", i, " is not valid UTF-8"));
    }
  }
  claims.append(R"(],"iss":)");
  // ValidateOptions() checked the issuer's UTF-8 when the signer was built.
  AppendJsonString(options_.issuer, &claims);
  absl::StrAppend(&claims, R"(,"iat":)", issued_at, R"(,"nbf":)", issued_at,
                  R"(,"exp":)", issued_at + lifetime, R"(,"jti":")", *jti,
                  R"("})");

  std::string token =
      absl::StrCat(encoded_header_, ".", absl::WebSafeBase64Escape(claims));

  // Each call gets its own context: the key is only read, which OpenSSL
  // allows from many threads at once, but a context is single-threaded.
  const MdCtxPtr ctx(EVP_MD_CTX_new());
  if (ctx == nullptr || EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha512(),
                                           nullptr, key_.get()) != 1) {
    return absl::InternalError(
        absl::StrCat("cannot start ES512 signing: ", TakeOpenSslError()));
  }
  const int max_der_size = EVP_PKEY_get_size(key_.get());
  if (max_der_size <= 0) {
    return absl::InternalError("cannot size the ES512 signature");
  }
  std::vector<unsigned char> der(static_cast<size_t>(max_der_size));
  size_t der_size = der.size();
  if (EVP_DigestSign(ctx.get(), der.data(), &der_size,
                     reinterpret_cast<const unsigned char*>(token.data()),
                     token.size()) != 1) {
    return absl::InternalError(
        absl::StrCat("ES512 signing failed: ", TakeOpenSslError()));
  }

  // OpenSSL produces a DER SEQUENCE of two INTEGERs; JWS wants the two
  // numbers side by side at fixed width instead.
  const unsigned char* cursor = der.data();
  const EcdsaSigPtr sig(
      d2i_ECDSA_SIG(nullptr, &cursor, static_cast<long>(der_size)));
  if (sig == nullptr) {
    return absl::InternalError(
        absl::StrCat("cannot parse the ECDSA signature: ", TakeOpenSslError()));
  }
  const BIGNUM* r = nullptr;
  const BIGNUM* s = nullptr;
  ECDSA_SIG_get0(sig.get(), &r, &s);
  unsigned char raw[kSignatureBytes];
  if (BN_bn2binpad(r, raw, kP521Bytes) < 0 ||
      BN_bn2binpad(s, raw + kP521Bytes, kP521Bytes) < 0) {
    ERR_clear_error();
    return absl::InternalError("ECDSA signature does not fit P-521");
  }
  absl::StrAppend(&token, ".",
                  absl::WebSafeBase64Escape(absl::string_view(
                      reinterpret_cast<const char*>(raw), sizeof(raw))));
  return token;
}

}  // namespace upstream
}  // namespace session_gateway
