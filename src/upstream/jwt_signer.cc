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

#include <climits>
#include <cstddef>
#include <cstdint>
#include <fstream>
#include <iterator>
#include <limits>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace session_gateway {
namespace upstream {
namespace {

// P-521 coordinates and ECDSA R and S are ceil(521 / 8) bytes; JOSE
// (RFC 7518 section 3.4) fixes them at exactly that width.
constexpr size_t kP521Bytes = 66;
constexpr size_t kSignatureBytes = 2 * kP521Bytes;

struct BioFree {
  void operator()(BIO* bio) const { BIO_free(bio); }
};
struct PkeyFree {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
struct MdCtxFree {
  void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
};
struct EcdsaSigFree {
  void operator()(ECDSA_SIG* sig) const { ECDSA_SIG_free(sig); }
};
struct BignumFree {
  void operator()(BIGNUM* bn) const { BN_free(bn); }
};
using BioPtr = std::unique_ptr<BIO, BioFree>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, MdCtxFree>;
using EcdsaSigPtr = std::unique_ptr<ECDSA_SIG, EcdsaSigFree>;
using BignumPtr = std::unique_ptr<BIGNUM, BignumFree>;

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

bool IsValidUtf8(absl::string_view text) {
  size_t i = 0;
  while (i < text.size()) {
    const auto lead = static_cast<unsigned char>(text[i]);
    if (lead < 0x80) {
      ++i;
      continue;
    }
    size_t continuation;
    uint32_t code_point;
    uint32_t smallest;  // below this the encoding is an overlong one
    if ((lead & 0xE0) == 0xC0) {
      continuation = 1;
      code_point = lead & 0x1F;
      smallest = 0x80;
    } else if ((lead & 0xF0) == 0xE0) {
      continuation = 2;
      code_point = lead & 0x0F;
      smallest = 0x800;
    } else if ((lead & 0xF8) == 0xF0) {
      continuation = 3;
      code_point = lead & 0x07;
      smallest = 0x10000;
    } else {
      return false;
    }
    if (text.size() - i <= continuation) return false;
    for (size_t k = 1; k <= continuation; ++k) {
      const auto byte = static_cast<unsigned char>(text[i + k]);
      if ((byte & 0xC0) != 0x80) return false;
      code_point = (code_point << 6) | (byte & 0x3F);
    }
    if (code_point < smallest || code_point > 0x10FFFF ||
        (code_point >= 0xD800 && code_point <= 0xDFFF)) {
      return false;
    }
    i += continuation + 1;
  }
  return true;
}

void AppendJsonString(absl::string_view text, std::string* out) {
  static constexpr char kHex[] = "0123456789abcdef";
  out->push_back('"');
  for (const char c : text) {
    switch (c) {
      case '"':
        out->append("\\\"");
        break;
      case '\\':
        out->append("\\\\");
        break;
      case '\b':
        out->append("\\b");
        break;
      case '\f':
        out->append("\\f");
        break;
      case '\n':
        out->append("\\n");
        break;
      case '\r':
        out->append("\\r");
        break;
      case '\t':
        out->append("\\t");
        break;
      default: {
        const auto byte = static_cast<unsigned char>(c);
        if (byte < 0x20) {
          out->append("\\u00");
          out->push_back(kHex[byte >> 4]);
          out->push_back(kHex[byte & 0x0F]);
        } else {
          out->push_back(c);
        }
      }
    }
  }
  out->push_back('"');
}

void AppendUtf8(uint32_t code_point, std::string* out) {
  if (code_point < 0x80) {
    out->push_back(static_cast<char>(code_point));
  } else if (code_point < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (code_point >> 6)));
    out->push_back(static_cast<char>(0x80 | (code_point & 0x3F)));
  } else if (code_point < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (code_point >> 12)));
    out->push_back(static_cast<char>(0x80 | ((code_point >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (code_point & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (code_point >> 18)));
    out->push_back(static_cast<char>(0x80 | ((code_point >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((code_point >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (code_point & 0x3F)));
  }
}

// Just enough JSON (RFC 8259) to tell whether a token's header and claims
// are well-formed objects and to read the header's "alg". Pulling in the
// project's protobuf-based converter for that would tie this small library
// to the generated protos.
class JsonObjectReader {
 public:
  // True if `text` is exactly one JSON object with no duplicate top-level
  // keys. Its string-valued top-level members go into `*strings`.
  static bool Read(absl::string_view text,
                   std::map<std::string, std::string>* strings) {
    if (!IsValidUtf8(text)) return false;
    JsonObjectReader reader(text);
    reader.SkipWhitespace();
    if (!reader.Object(1, strings)) return false;
    reader.SkipWhitespace();
    return reader.pos_ == text.size();
  }

 private:
  // Bounds the recursion, so that a hostile "[[[[..." cannot exhaust the
  // stack.
  static constexpr int kMaxDepth = 64;

  explicit JsonObjectReader(absl::string_view text) : text_(text) {}

  bool AtEnd() const { return pos_ >= text_.size(); }
  char Peek() const { return text_[pos_]; }

  bool Consume(char c) {
    if (AtEnd() || Peek() != c) return false;
    ++pos_;
    return true;
  }

  void SkipWhitespace() {
    while (!AtEnd() && (Peek() == ' ' || Peek() == '\t' || Peek() == '\n' ||
                        Peek() == '\r')) {
      ++pos_;
    }
  }

  // `strings` is non-null only for the top-level object.
  bool Object(int depth, std::map<std::string, std::string>* strings) {
    if (depth > kMaxDepth || !Consume('{')) return false;
    SkipWhitespace();
    if (Consume('}')) return true;
    std::set<std::string> keys;
    while (true) {
      SkipWhitespace();
      std::string key;
      if (!String(&key)) return false;
      SkipWhitespace();
      if (!Consume(':')) return false;
      std::string string_value;
      bool is_string = false;
      if (!Value(depth, &string_value, &is_string)) return false;
      if (strings != nullptr) {
        if (!keys.insert(key).second) return false;
        if (is_string) (*strings)[key] = std::move(string_value);
      }
      SkipWhitespace();
      if (Consume('}')) return true;
      if (!Consume(',')) return false;
    }
  }

  bool Array(int depth) {
    if (depth > kMaxDepth || !Consume('[')) return false;
    SkipWhitespace();
    if (Consume(']')) return true;
    while (true) {
      std::string ignored;
      bool is_string = false;
      if (!Value(depth, &ignored, &is_string)) return false;
      SkipWhitespace();
      if (Consume(']')) return true;
      if (!Consume(',')) return false;
    }
  }

  bool Value(int depth, std::string* string_value, bool* is_string) {
    SkipWhitespace();
    if (AtEnd()) return false;
    switch (Peek()) {
      case '{':
        return Object(depth + 1, nullptr);
      case '[':
        return Array(depth + 1);
      case '"':
        *is_string = true;
        return String(string_value);
      case 't':
        return Literal("true");
      case 'f':
        return Literal("false");
      case 'n':
        return Literal("null");
      default:
        return Number();
    }
  }

  bool Literal(absl::string_view word) {
    if (text_.substr(pos_, word.size()) != word) return false;
    pos_ += word.size();
    return true;
  }

  bool Digits() {
    const size_t start = pos_;
    while (!AtEnd() && Peek() >= '0' && Peek() <= '9') ++pos_;
    return pos_ > start;
  }

  bool Number() {
    Consume('-');
    if (!Consume('0') && !Digits()) return false;
    if (Consume('.') && !Digits()) return false;
    if (Consume('e') || Consume('E')) {
      if (!Consume('+')) Consume('-');
      if (!Digits()) return false;
    }
    return true;
  }

  bool Hex4(uint32_t* out) {
    if (text_.size() - pos_ < 4) return false;
    uint32_t value = 0;
    for (int i = 0; i < 4; ++i) {
      const char c = text_[pos_++];
      uint32_t digit;
      if (c >= '0' && c <= '9') {
        digit = static_cast<uint32_t>(c - '0');
      } else if (c >= 'a' && c <= 'f') {
        digit = static_cast<uint32_t>(c - 'a' + 10);
      } else if (c >= 'A' && c <= 'F') {
        digit = static_cast<uint32_t>(c - 'A' + 10);
      } else {
        return false;
      }
      value = (value << 4) | digit;
    }
    *out = value;
    return true;
  }

  bool String(std::string* out) {
    if (!Consume('"')) return false;
    while (!AtEnd()) {
      const char c = text_[pos_++];
      if (c == '"') return true;
      if (static_cast<unsigned char>(c) < 0x20) return false;
      if (c != '\\') {
        out->push_back(c);
        continue;
      }
      if (AtEnd()) return false;
      switch (text_[pos_++]) {
        case '"':
          out->push_back('"');
          break;
        case '\\':
          out->push_back('\\');
          break;
        case '/':
          out->push_back('/');
          break;
        case 'b':
          out->push_back('\b');
          break;
        case 'f':
          out->push_back('\f');
          break;
        case 'n':
          out->push_back('\n');
          break;
        case 'r':
          out->push_back('\r');
          break;
        case 't':
          out->push_back('\t');
          break;
        case 'u': {
          uint32_t code_point;
          if (!Hex4(&code_point)) return false;
          if (code_point >= 0xDC00 && code_point <= 0xDFFF) return false;
          if (code_point >= 0xD800 && code_point <= 0xDBFF) {
            uint32_t low;
            if (!Consume('\\') || !Consume('u') || !Hex4(&low) ||
                low < 0xDC00 || low > 0xDFFF) {
              return false;
            }
            code_point =
                0x10000 + ((code_point - 0xD800) << 10) + (low - 0xDC00);
          }
          AppendUtf8(code_point, out);
          break;
        }
        default:
          return false;
      }
    }
    return false;
  }

  absl::string_view text_;
  size_t pos_ = 0;
};

// Accepts only the canonical unpadded base64url form. Re-encoding and
// comparing rejects padding, stray characters and non-zero trailing bits,
// so one token has exactly one spelling.
bool DecodeBase64Url(absl::string_view encoded, std::string* decoded) {
  if (encoded.size() % 4 == 1) return false;
  for (const char c : encoded) {
    const bool alphabet = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                          (c >= '0' && c <= '9') || c == '-' || c == '_';
    if (!alphabet) return false;
  }
  if (!absl::WebSafeBase64Unescape(encoded, decoded)) return false;
  return absl::WebSafeBase64Escape(*decoded) == encoded;
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
  unsigned char bytes[16];
  if (RAND_bytes(bytes, sizeof(bytes)) != 1) {
    return absl::InternalError(
        absl::StrCat("cannot generate a jti: ", TakeOpenSslError()));
  }
  bytes[6] = static_cast<unsigned char>((bytes[6] & 0x0F) | 0x40);
  bytes[8] = static_cast<unsigned char>((bytes[8] & 0x3F) | 0x80);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string uuid;
  uuid.reserve(36);
  for (size_t i = 0; i < sizeof(bytes); ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) uuid.push_back('-');
    uuid.push_back(kHex[bytes[i] >> 4]);
    uuid.push_back(kHex[bytes[i] & 0x0F]);
  }
  return uuid;
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
  std::ifstream file(path, std::ios::in | std::ios::binary);
  if (!file.is_open()) {
    return absl::NotFoundError(
        absl::StrCat("cannot open private key file ", path));
  }
  std::string pem((std::istreambuf_iterator<char>(file)),
                  std::istreambuf_iterator<char>());
  absl::StatusOr<std::unique_ptr<JwtSigner>> signer;
  if (file.bad()) {
    signer = absl::InternalError(
        absl::StrCat("cannot read private key file ", path));
  } else {
    signer = FromPem(pem, std::move(options));
    if (!signer.ok()) {
      signer =
          absl::Status(signer.status().code(),
                       absl::StrCat(path, ": ", signer.status().message()));
    }
  }
  // The key now lives inside OpenSSL; don't leave a copy in freed memory.
  OPENSSL_cleanse(pem.data(), pem.size());
  return signer;
}

absl::StatusOr<std::string> JwtSigner::Sign(
    absl::Time now, absl::Span<const std::string> scopes) const {
  if (now == absl::InfiniteFuture() || now == absl::InfinitePast()) {
    return absl::InvalidArgumentError("cannot sign a JWT at an infinite time");
  }
  for (size_t i = 0; i < scopes.size(); ++i) {
    if (!IsValidUtf8(scopes[i])) {
      return absl::InvalidArgumentError(
          absl::StrCat("JWT scope #", i, " is not valid UTF-8"));
    }
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
    AppendJsonString(scopes[i], &claims);
  }
  claims.append(R"(],"iss":)");
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

absl::StatusOr<std::string> VerifyEs512Jwt(absl::string_view jwt,
                                           absl::string_view public_key_pem) {
  const std::vector<absl::string_view> parts = absl::StrSplit(jwt, '.');
  if (parts.size() != 3) {
    return absl::InvalidArgumentError(absl::StrCat(
        "a compact JWS has 3 dot-separated parts, got ", parts.size()));
  }
  std::string header;
  std::string claims;
  std::string signature;
  if (!DecodeBase64Url(parts[0], &header)) {
    return absl::InvalidArgumentError("JWT header is not base64url");
  }
  if (!DecodeBase64Url(parts[1], &claims)) {
    return absl::InvalidArgumentError("JWT claims are not base64url");
  }
  if (!DecodeBase64Url(parts[2], &signature)) {
    return absl::InvalidArgumentError("JWT signature is not base64url");
  }
  std::map<std::string, std::string> header_strings;
  if (!JsonObjectReader::Read(header, &header_strings)) {
    return absl::InvalidArgumentError("JWT header is not a JSON object");
  }
  // The algorithm is pinned rather than taken from the token, so a forged
  // "alg":"none" or an HMAC header can never select a weaker check.
  const auto alg = header_strings.find("alg");
  if (alg == header_strings.end() || alg->second != "ES512") {
    return absl::InvalidArgumentError("JWT header alg is not ES512");
  }
  if (signature.size() != kSignatureBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("ES512 signature must be ", kSignatureBytes,
                     " bytes, got ", signature.size()));
  }

  absl::StatusOr<BioPtr> bio = MemoryBio(public_key_pem, "public key");
  if (!bio.ok()) return bio.status();
  const PkeyPtr key(
      PEM_read_bio_PUBKEY(bio->get(), nullptr, RefusePassphrase, nullptr));
  if (key == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot read the public key; expected a PEM \"PUBLIC "
                     "KEY\" block (OpenSSL: ",
                     TakeOpenSslError(), ")"));
  }
  if (absl::Status status = RequireP521(key.get(), "the public key");
      !status.ok()) {
    return status;
  }

  const auto* raw = reinterpret_cast<const unsigned char*>(signature.data());
  BignumPtr r(BN_bin2bn(raw, kP521Bytes, nullptr));
  BignumPtr s(BN_bin2bn(raw + kP521Bytes, kP521Bytes, nullptr));
  EcdsaSigPtr sig(ECDSA_SIG_new());
  if (r == nullptr || s == nullptr || sig == nullptr ||
      ECDSA_SIG_set0(sig.get(), r.get(), s.get()) != 1) {
    return absl::InternalError(
        absl::StrCat("cannot build the ECDSA signature: ", TakeOpenSslError()));
  }
  // ECDSA_SIG_set0 took ownership of both numbers.
  static_cast<void>(r.release());
  static_cast<void>(s.release());
  const int der_size = i2d_ECDSA_SIG(sig.get(), nullptr);
  if (der_size <= 0) {
    return absl::InternalError(absl::StrCat(
        "cannot encode the ECDSA signature: ", TakeOpenSslError()));
  }
  std::vector<unsigned char> der(static_cast<size_t>(der_size));
  unsigned char* der_cursor = der.data();
  if (i2d_ECDSA_SIG(sig.get(), &der_cursor) != der_size) {
    return absl::InternalError(absl::StrCat(
        "cannot encode the ECDSA signature: ", TakeOpenSslError()));
  }

  const absl::string_view signing_input =
      jwt.substr(0, parts[0].size() + 1 + parts[1].size());
  const MdCtxPtr ctx(EVP_MD_CTX_new());
  if (ctx == nullptr || EVP_DigestVerifyInit(ctx.get(), nullptr, EVP_sha512(),
                                             nullptr, key.get()) != 1) {
    return absl::InternalError(
        absl::StrCat("cannot start ES512 verification: ", TakeOpenSslError()));
  }
  const int verified = EVP_DigestVerify(
      ctx.get(), der.data(), der.size(),
      reinterpret_cast<const unsigned char*>(signing_input.data()),
      signing_input.size());
  if (verified != 1) {
    // A bad signature also leaves entries on the error queue.
    ERR_clear_error();
    return absl::UnauthenticatedError("JWT signature does not verify");
  }
  if (!JsonObjectReader::Read(claims, nullptr)) {
    return absl::InvalidArgumentError("JWT claims are not a JSON object");
  }
  return claims;
}

}  // namespace upstream
}  // namespace session_gateway
