#include "support/jwt_verifier.h"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <climits>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/json_text.h"
#include "upstream/openssl_ptr.h"

namespace session_gateway {
namespace testing {
namespace {

constexpr size_t kP521Bytes = 66;
constexpr size_t kSignatureBytes = 2 * kP521Bytes;

using upstream::BioPtr;
using upstream::BignumPtr;
using upstream::EcdsaSigPtr;
using upstream::MdCtxPtr;
using upstream::PkeyPtr;

// The EC P-521 public key in `pem`. Only named curves are accepted, as the
// signer does; for a test that is the whole point of the check.
absl::StatusOr<PkeyPtr> ReadP521PublicKey(absl::string_view pem) {
  if (pem.empty() || pem.size() > static_cast<size_t>(INT_MAX)) {
    return absl::InvalidArgumentError("public key PEM is empty or too large");
  }
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  PkeyPtr key(bio == nullptr ? nullptr
                             : PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr));
  if (key == nullptr) {
    ERR_clear_error();
    return absl::InvalidArgumentError("cannot read the public key PEM");
  }
  char group[80] = {};
  size_t group_length = 0;
  const bool named = EVP_PKEY_is_a(key.get(), "EC") &&
                     EVP_PKEY_get_group_name(key.get(), group, sizeof(group), &group_length) == 1;
  ERR_clear_error();
  if (!named || absl::string_view(group) != "secp521r1") {
    return absl::InvalidArgumentError("the public key is not an EC P-521 key");
  }
  return key;
}

// Just enough JSON (RFC 8259) to tell whether a token's header and claims
// are well-formed objects and to read the header's "alg", independently of
// the protobuf-based converter the gateway itself uses.
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
          char utf8[4];
          out->append(utf8, EncodeUtf8(code_point, utf8));
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

}  // namespace

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

  absl::StatusOr<PkeyPtr> key = ReadP521PublicKey(public_key_pem);
  if (!key.ok()) return key.status();

  const auto* raw = reinterpret_cast<const unsigned char*>(signature.data());
  BignumPtr r(BN_bin2bn(raw, kP521Bytes, nullptr));
  BignumPtr s(BN_bin2bn(raw + kP521Bytes, kP521Bytes, nullptr));
  EcdsaSigPtr sig(ECDSA_SIG_new());
  if (r == nullptr || s == nullptr || sig == nullptr ||
      ECDSA_SIG_set0(sig.get(), r.get(), s.get()) != 1) {
    ERR_clear_error();
    return absl::InternalError("cannot build the ECDSA signature");
  }
  // ECDSA_SIG_set0 took ownership of both numbers.
  static_cast<void>(r.release());
  static_cast<void>(s.release());
  const int der_size = i2d_ECDSA_SIG(sig.get(), nullptr);
  if (der_size <= 0) {
    ERR_clear_error();
    return absl::InternalError("cannot encode the ECDSA signature");
  }
  std::vector<unsigned char> der(static_cast<size_t>(der_size));
  unsigned char* der_cursor = der.data();
  if (i2d_ECDSA_SIG(sig.get(), &der_cursor) != der_size) {
    ERR_clear_error();
    return absl::InternalError("cannot encode the ECDSA signature");
  }

  const absl::string_view signing_input =
      jwt.substr(0, parts[0].size() + 1 + parts[1].size());
  const MdCtxPtr ctx(EVP_MD_CTX_new());
  if (ctx == nullptr || EVP_DigestVerifyInit(ctx.get(), nullptr, EVP_sha512(),
                                             nullptr, key->get()) != 1) {
    ERR_clear_error();
    return absl::InternalError("cannot start ES512 verification");
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

}  // namespace testing
}  // namespace session_gateway
