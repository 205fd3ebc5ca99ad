#include "upstream/jwt_signer.h"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <cstdint>
#include <limits>
#include <memory>
#include <regex>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/read_file.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "support/jwt_verifier.h"

namespace session_gateway {
namespace upstream {
namespace {

using ::session_gateway::testing::VerifyEs512Jwt;
using ::testing::HasSubstr;
using ::testing::Not;

// 2023-11-14T22:13:20Z plus a fraction, which iat must drop.
// The scopes most tests sign with; the gateway passes each route's own.
const std::vector<std::string> kScopes = {"*.read", "*.write"};

const absl::Time kNow =
    absl::FromUnixSeconds(1700000000) + absl::Milliseconds(750);

struct PkeyFree {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;

std::string ReadTestdata(absl::string_view name) {
  const std::string path =
      absl::StrCat(SESSION_GATEWAY_JWT_TESTDATA_DIR, "/", name);
  absl::StatusOr<std::string> contents = ReadFile(path);
  EXPECT_TRUE(contents.ok()) << contents.status();
  return contents.value_or("");
}

std::string TestdataPath(absl::string_view name) {
  return absl::StrCat(SESSION_GATEWAY_JWT_TESTDATA_DIR, "/", name);
}

std::string Unbase64Url(absl::string_view encoded) {
  std::string decoded;
  EXPECT_TRUE(absl::WebSafeBase64Unescape(encoded, &decoded)) << encoded;
  return decoded;
}

absl::string_view AsView(const unsigned char* bytes, size_t size) {
  return absl::string_view(reinterpret_cast<const char*>(bytes), size);
}

PkeyPtr LoadPrivateKey(absl::string_view pem) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  PkeyPtr key(PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr));
  BIO_free(bio);
  EXPECT_NE(key, nullptr);
  return key;
}

PkeyPtr LoadPublicKey(absl::string_view pem) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  PkeyPtr key(PEM_read_bio_PUBKEY(bio, nullptr, nullptr, nullptr));
  BIO_free(bio);
  EXPECT_NE(key, nullptr);
  return key;
}

std::string DrainBio(BIO* bio) {
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<size_t>(size));
}

std::string PublicPemOf(absl::string_view private_pem) {
  PkeyPtr key = LoadPrivateKey(private_pem);
  BIO* bio = BIO_new(BIO_s_mem());
  EXPECT_EQ(PEM_write_bio_PUBKEY(bio, key.get()), 1);
  std::string pem = DrainBio(bio);
  BIO_free(bio);
  return pem;
}

JwtOptions DefaultOptions() {
  JwtOptions options;
  options.issuer = "session-gateway/0.1.0";
  return options;
}

std::unique_ptr<JwtSigner> MakeSigner(JwtOptions options = DefaultOptions()) {
  absl::StatusOr<std::unique_ptr<JwtSigner>> signer = JwtSigner::FromPem(
      ReadTestdata("ec_p521_private.pem"), std::move(options));
  EXPECT_TRUE(signer.ok()) << signer.status();
  return signer.ok() ? *std::move(signer) : nullptr;
}

std::vector<std::string> Parts(absl::string_view token) {
  return absl::StrSplit(token, '.');
}

// Signs "<header>.<claims>" the JOSE way without going through JwtSigner,
// so that the verifier can be fed tokens the signer would never produce.
std::string SignIndependently(absl::string_view header_json,
                              absl::string_view claims_json) {
  const std::string input =
      absl::StrCat(absl::WebSafeBase64Escape(header_json), ".",
                   absl::WebSafeBase64Escape(claims_json));
  PkeyPtr key = LoadPrivateKey(ReadTestdata("ec_p521_private.pem"));
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  EXPECT_EQ(EVP_DigestSignInit(ctx, nullptr, EVP_sha512(), nullptr, key.get()),
            1);
  std::vector<unsigned char> der(
      static_cast<size_t>(EVP_PKEY_get_size(key.get())));
  size_t der_size = der.size();
  EXPECT_EQ(EVP_DigestSign(ctx, der.data(), &der_size,
                           reinterpret_cast<const unsigned char*>(input.data()),
                           input.size()),
            1);
  EVP_MD_CTX_free(ctx);
  const unsigned char* cursor = der.data();
  ECDSA_SIG* sig = d2i_ECDSA_SIG(nullptr, &cursor, static_cast<long>(der_size));
  unsigned char raw[132];
  EXPECT_EQ(BN_bn2binpad(ECDSA_SIG_get0_r(sig), raw, 66), 66);
  EXPECT_EQ(BN_bn2binpad(ECDSA_SIG_get0_s(sig), raw + 66, 66), 66);
  ECDSA_SIG_free(sig);
  return absl::StrCat(input, ".", absl::WebSafeBase64Escape(AsView(raw, 132)));
}

// The signature checked with OpenSSL directly, reading the first 66 bytes
// as R and the last 66 as S, independently of VerifyEs512Jwt.
bool OpenSslAcceptsSignature(absl::string_view token,
                             absl::string_view public_pem) {
  const std::vector<std::string> parts = Parts(token);
  if (parts.size() != 3) return false;
  const std::string raw = Unbase64Url(parts[2]);
  if (raw.size() != 132) return false;
  const auto* bytes = reinterpret_cast<const unsigned char*>(raw.data());
  ECDSA_SIG* sig = ECDSA_SIG_new();
  ECDSA_SIG_set0(sig, BN_bin2bn(bytes, 66, nullptr),
                 BN_bin2bn(bytes + 66, 66, nullptr));
  unsigned char* der = nullptr;
  const int der_size = i2d_ECDSA_SIG(sig, &der);
  ECDSA_SIG_free(sig);
  const std::string input = absl::StrCat(parts[0], ".", parts[1]);
  PkeyPtr key = LoadPublicKey(public_pem);
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  const bool ok =
      EVP_DigestVerifyInit(ctx, nullptr, EVP_sha512(), nullptr, key.get()) ==
          1 &&
      EVP_DigestVerify(ctx, der, static_cast<size_t>(der_size),
                       reinterpret_cast<const unsigned char*>(input.data()),
                       input.size()) == 1;
  EVP_MD_CTX_free(ctx);
  OPENSSL_free(der);
  ERR_clear_error();
  return ok;
}

std::string ExtractJti(const std::string& claims) {
  static const std::regex kJti(R"re("jti":"([^"]*)")re");
  std::smatch match;
  return std::regex_search(claims, match, kJti) ? match[1].str() : "";
}

// Every line of a PEM body long enough to be recognisable.
void ExpectNoPemText(absl::string_view message, absl::string_view pem) {
  for (absl::string_view line : absl::StrSplit(pem, '\n')) {
    if (line.size() < 8 || absl::StartsWith(line, "-----")) continue;
    EXPECT_THAT(std::string(message), Not(HasSubstr(std::string(line))));
  }
  EXPECT_THAT(std::string(message), Not(HasSubstr("BEGIN")));
}

TEST(JwtSignerTest, SignedTokenVerifiesWithThePublicKey) {
  std::unique_ptr<JwtSigner> signer = MakeSigner();
  ASSERT_NE(signer, nullptr);
  absl::StatusOr<std::string> token = signer->Sign(kNow, kScopes);
  ASSERT_TRUE(token.ok()) << token.status();

  const std::string public_pem = ReadTestdata("ec_p521_public.pem");
  absl::StatusOr<std::string> claims = VerifyEs512Jwt(*token, public_pem);
  ASSERT_TRUE(claims.ok()) << claims.status();
  EXPECT_EQ(*claims, Unbase64Url(Parts(*token)[1]));
  EXPECT_TRUE(OpenSslAcceptsSignature(*token, public_pem));
}

TEST(JwtSignerTest, SignatureIsRawRAndSNotDer) {
  std::unique_ptr<JwtSigner> signer = MakeSigner();
  ASSERT_NE(signer, nullptr);
  for (int i = 0; i < 20; ++i) {
    absl::StatusOr<std::string> token = signer->Sign(kNow, kScopes);
    ASSERT_TRUE(token.ok()) << token.status();
    const std::vector<std::string> parts = Parts(*token);
    ASSERT_EQ(parts.size(), 3u);
    EXPECT_EQ(parts[2].size(), 176u);
    EXPECT_EQ(Unbase64Url(parts[2]).size(), 132u);
    EXPECT_THAT(*token, Not(HasSubstr("=")));
  }
}

TEST(JwtSignerTest, HeaderNamesAlgorithmTypeAndKey) {
  std::unique_ptr<JwtSigner> signer = MakeSigner();
  ASSERT_NE(signer, nullptr);
  absl::StatusOr<std::string> token = signer->Sign(kNow, kScopes);
  ASSERT_TRUE(token.ok()) << token.status();
  EXPECT_EQ(Unbase64Url(Parts(*token)[0]),
            absl::StrCat(R"({"alg":"ES512","typ":"JWT","kid":")",
                         signer->key_id(), R"("})"));
}

TEST(JwtSignerTest, ClaimsCarryConfiguredValuesForFixedTime) {
  std::unique_ptr<JwtSigner> signer = MakeSigner();
  ASSERT_NE(signer, nullptr);
  absl::StatusOr<std::string> token = signer->Sign(kNow, kScopes);
  ASSERT_TRUE(token.ok()) << token.status();
  absl::StatusOr<std::string> claims =
      VerifyEs512Jwt(*token, ReadTestdata("ec_p521_public.pem"));
  ASSERT_TRUE(claims.ok()) << claims.status();

  const std::string jti = ExtractJti(*claims);
  EXPECT_TRUE(std::regex_match(
      jti, std::regex("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-"
                      "[0-9a-f]{12}")))
      << jti;
  EXPECT_EQ(*claims, absl::StrCat(R"({"scopes":["*.read","*.write"],)",
                                  R"("iss":"session-gateway/0.1.0",)",
                                  R"("iat":1700000000,"nbf":1700000000,)",
                                  R"("exp":1700000060,"jti":")", jti, R"("})"));
}

TEST(JwtSignerTest, LifetimeSetsExpiryInWholeSeconds) {
  JwtOptions options = DefaultOptions();
  options.lifetime = absl::Seconds(90) + absl::Milliseconds(900);
  std::unique_ptr<JwtSigner> signer = MakeSigner(std::move(options));
  ASSERT_NE(signer, nullptr);
  absl::StatusOr<std::string> token = signer->Sign(kNow, kScopes);
  ASSERT_TRUE(token.ok()) << token.status();
  EXPECT_THAT(Unbase64Url(Parts(*token)[1]),
              HasSubstr(R"("iat":1700000000,"nbf":1700000000,)"
                        R"("exp":1700000090,)"));
}

TEST(JwtSignerTest, EmptyScopesAreAnEmptyArray) {
  std::unique_ptr<JwtSigner> signer = MakeSigner();
  ASSERT_NE(signer, nullptr);
  absl::StatusOr<std::string> token = signer->Sign(kNow, {});
  ASSERT_TRUE(token.ok()) << token.status();
  EXPECT_THAT(Unbase64Url(Parts(*token)[1]),
              HasSubstr(R"({"scopes":[],"iss":)"));
}

TEST(JwtSignerTest, StringClaimsAreJsonEscaped) {
  JwtOptions options;
  options.issuer = "caf\xc3\xa9\t/";
  std::unique_ptr<JwtSigner> signer = MakeSigner(std::move(options));
  ASSERT_NE(signer, nullptr);
  const std::vector<std::string> scopes = {"quote\"back\\slash", "line\nbreak\x01"};
  absl::StatusOr<std::string> token = signer->Sign(kNow, scopes);
  ASSERT_TRUE(token.ok()) << token.status();
  absl::StatusOr<std::string> claims =
      VerifyEs512Jwt(*token, ReadTestdata("ec_p521_public.pem"));
  ASSERT_TRUE(claims.ok()) << claims.status();
  EXPECT_THAT(
      *claims,
      HasSubstr(R"({"scopes":["quote\"back\\slash","line\nbreak\u0001"],)"
                "\"iss\":\"caf\xc3\xa9\\t/\","));
}

TEST(JwtSignerTest, EachTokenCarriesTheScopesItWasSignedFor) {
  std::unique_ptr<JwtSigner> signer = MakeSigner();
  ASSERT_NE(signer, nullptr);
  const std::vector<std::string> write = {"transactions.write"};
  const std::vector<std::string> read = {"transactions.read", "buyers.read"};
  absl::StatusOr<std::string> first = signer->Sign(kNow, write);
  absl::StatusOr<std::string> second = signer->Sign(kNow, read);
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_THAT(Unbase64Url(Parts(*first)[1]),
              HasSubstr(R"({"scopes":["transactions.write"],"iss":)"));
  EXPECT_THAT(Unbase64Url(Parts(*second)[1]),
              HasSubstr(R"({"scopes":["transactions.read","buyers.read"],"iss":)"));
}

TEST(JwtSignerTest, RejectsScopesThatAreNotUtf8) {
  std::unique_ptr<JwtSigner> signer = MakeSigner();
  ASSERT_NE(signer, nullptr);
  const std::vector<std::string> scopes = {"ok", "\xc0\xaf"};  // overlong '/'
  absl::StatusOr<std::string> token = signer->Sign(kNow, scopes);
  EXPECT_EQ(token.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(token.status().message()), HasSubstr("scope #1"));
}

TEST(JwtSignerTest, JtiAndSignatureDifferBetweenTokens) {
  std::unique_ptr<JwtSigner> signer = MakeSigner();
  ASSERT_NE(signer, nullptr);
  absl::StatusOr<std::string> first = signer->Sign(kNow, kScopes);
  absl::StatusOr<std::string> second = signer->Sign(kNow, kScopes);
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_TRUE(second.ok()) << second.status();
  const std::string first_jti = ExtractJti(Unbase64Url(Parts(*first)[1]));
  const std::string second_jti = ExtractJti(Unbase64Url(Parts(*second)[1]));
  EXPECT_FALSE(first_jti.empty());
  EXPECT_NE(first_jti, second_jti);
  EXPECT_NE(Parts(*first)[2], Parts(*second)[2]);
}

TEST(JwtSignerTest, KeyIdMatchesThumbprintFromOpenSslCli) {
  std::unique_ptr<JwtSigner> signer = MakeSigner();
  ASSERT_NE(signer, nullptr);
  // Written by testdata/generate.sh with openssl, sha256 and base64 only.
  EXPECT_EQ(signer->key_id(), ReadTestdata("ec_p521_kid.txt"));
}

TEST(JwtSignerTest, KeyIdMatchesThumbprintOfPublicKeyFile) {
  std::unique_ptr<JwtSigner> signer = MakeSigner();
  ASSERT_NE(signer, nullptr);
  // The uncompressed point 04 || X || Y ends the SubjectPublicKeyInfo.
  PkeyPtr key = LoadPublicKey(ReadTestdata("ec_p521_public.pem"));
  unsigned char* der = nullptr;
  const int der_size = i2d_PUBKEY(key.get(), &der);
  ASSERT_GT(der_size, 133);
  const std::string point(reinterpret_cast<const char*>(der) + der_size - 133,
                          133);
  OPENSSL_free(der);
  ASSERT_EQ(point[0], '\x04');
  const std::string jwk =
      absl::StrCat(R"({"crv":"P-521","kty":"EC","x":")",
                   absl::WebSafeBase64Escape(point.substr(1, 66)), R"(","y":")",
                   absl::WebSafeBase64Escape(point.substr(67, 66)), R"("})");
  unsigned char digest[32];
  unsigned int digest_size = 0;
  ASSERT_EQ(EVP_Digest(jwk.data(), jwk.size(), digest, &digest_size,
                       EVP_sha256(), nullptr),
            1);
  EXPECT_EQ(signer->key_id(),
            absl::WebSafeBase64Escape(AsView(digest, digest_size)));
  EXPECT_EQ(signer->key_id().size(), 43u);
}

TEST(JwtSignerTest, TraditionalEcPemIsTheSameKey) {
  absl::StatusOr<std::unique_ptr<JwtSigner>> signer =
      JwtSigner::FromPem(ReadTestdata("ec_p521_sec1.pem"), DefaultOptions());
  ASSERT_TRUE(signer.ok()) << signer.status();
  EXPECT_EQ((*signer)->key_id(), ReadTestdata("ec_p521_kid.txt"));
}

TEST(JwtSignerTest, FromFileLoadsTheKey) {
  absl::StatusOr<std::unique_ptr<JwtSigner>> signer = JwtSigner::FromFile(
      TestdataPath("ec_p521_private.pem"), DefaultOptions());
  ASSERT_TRUE(signer.ok()) << signer.status();
  EXPECT_EQ((*signer)->key_id(), ReadTestdata("ec_p521_kid.txt"));
  absl::StatusOr<std::string> token = (*signer)->Sign(kNow, kScopes);
  ASSERT_TRUE(token.ok()) << token.status();
  EXPECT_TRUE(VerifyEs512Jwt(*token, ReadTestdata("ec_p521_public.pem")).ok());
}

TEST(JwtSignerTest, FromFileReportsMissingFile) {
  absl::StatusOr<std::unique_ptr<JwtSigner>> signer =
      JwtSigner::FromFile(TestdataPath("no_such_key.pem"), DefaultOptions());
  EXPECT_EQ(signer.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(signer.status().message()),
              HasSubstr("no_such_key.pem"));
}

TEST(JwtSignerTest, FromFileRejectionDoesNotQuoteTheFile) {
  const std::string pem = ReadTestdata("rsa_private.pem");
  absl::StatusOr<std::unique_ptr<JwtSigner>> signer =
      JwtSigner::FromFile(TestdataPath("rsa_private.pem"), DefaultOptions());
  EXPECT_EQ(signer.status().code(), absl::StatusCode::kInvalidArgument);
  ExpectNoPemText(signer.status().message(), pem);
}

TEST(JwtSignerTest, RejectsRsaKey) {
  const std::string pem = ReadTestdata("rsa_private.pem");
  absl::StatusOr<std::unique_ptr<JwtSigner>> signer =
      JwtSigner::FromPem(pem, DefaultOptions());
  EXPECT_EQ(signer.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(signer.status().message()), HasSubstr("RSA"));
  EXPECT_THAT(std::string(signer.status().message()), HasSubstr("P-521"));
  ExpectNoPemText(signer.status().message(), pem);
}

TEST(JwtSignerTest, RejectsP256Key) {
  const std::string pem = ReadTestdata("ec_p256_private.pem");
  absl::StatusOr<std::unique_ptr<JwtSigner>> signer =
      JwtSigner::FromPem(pem, DefaultOptions());
  EXPECT_EQ(signer.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(signer.status().message()), HasSubstr("P-521"));
  ExpectNoPemText(signer.status().message(), pem);
}

TEST(JwtSignerTest, RejectsPublicKeyAsPrivateKey) {
  absl::StatusOr<std::unique_ptr<JwtSigner>> signer =
      JwtSigner::FromPem(ReadTestdata("ec_p521_public.pem"), DefaultOptions());
  EXPECT_EQ(signer.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(JwtSignerTest, RejectsGarbageWithoutQuotingIt) {
  const std::string real = ReadTestdata("ec_p521_private.pem");
  const std::vector<std::string> inputs = {
      "",
      "not a pem at all, but a secret-looking string",
      "-----BEGIN PRIVATE KEY-----\n"
      "c2VjcmV0LWtleS1tYXRlcmlhbC1zaG91bGQtbmV2ZXItbGVhaw==\n"
      "-----END PRIVATE KEY-----\n",
      "-----BEGIN PRIVATE KEY-----\n"
      "!!!! this is not base64 at all !!!!\n"
      "-----END PRIVATE KEY-----\n",
      // A real key cut in half.
      real.substr(0, real.size() / 2),
      // A real key with its body damaged.
      absl::StrReplaceAll(real, {{"A", "B"}}),
  };
  for (const std::string& pem : inputs) {
    absl::StatusOr<std::unique_ptr<JwtSigner>> signer =
        JwtSigner::FromPem(pem, DefaultOptions());
    EXPECT_EQ(signer.status().code(), absl::StatusCode::kInvalidArgument)
        << signer.status();
    ExpectNoPemText(signer.status().message(), pem);
    EXPECT_THAT(std::string(signer.status().message()),
                Not(HasSubstr("secret-looking")));
  }
  // Whatever OpenSSL queued while failing must not leak into later calls.
  EXPECT_EQ(ERR_peek_error(), 0u);
}

TEST(JwtSignerTest, RejectsEncryptedKeyWithoutPrompting) {
  PkeyPtr key = LoadPrivateKey(ReadTestdata("ec_p521_private.pem"));
  BIO* bio = BIO_new(BIO_s_mem());
  static const char kPassphrase[] = "correct horse";
  ASSERT_EQ(PEM_write_bio_PKCS8PrivateKey(bio, key.get(), EVP_aes_256_cbc(),
                                          kPassphrase, sizeof(kPassphrase) - 1,
                                          nullptr, nullptr),
            1);
  const std::string encrypted = DrainBio(bio);
  BIO_free(bio);
  ASSERT_THAT(encrypted, HasSubstr("ENCRYPTED PRIVATE KEY"));
  absl::StatusOr<std::unique_ptr<JwtSigner>> signer =
      JwtSigner::FromPem(encrypted, DefaultOptions());
  EXPECT_EQ(signer.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(JwtSignerTest, RejectsInvalidOptions) {
  const std::string pem = ReadTestdata("ec_p521_private.pem");
  std::vector<JwtOptions> bad(5, DefaultOptions());
  bad[0].lifetime = absl::ZeroDuration();
  bad[1].lifetime = absl::Seconds(-5);
  bad[2].lifetime = absl::Milliseconds(500);
  bad[3].lifetime = absl::InfiniteDuration();
  bad[4].issuer = "bad \xff utf-8";
  for (JwtOptions& options : bad) {
    EXPECT_EQ(JwtSigner::FromPem(pem, std::move(options)).status().code(),
              absl::StatusCode::kInvalidArgument);
  }
}

TEST(JwtSignerTest, RejectsTimesItCannotEncode) {
  std::unique_ptr<JwtSigner> signer = MakeSigner();
  ASSERT_NE(signer, nullptr);
  EXPECT_EQ(signer->Sign(absl::InfiniteFuture(), kScopes).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(signer->Sign(absl::InfinitePast(), kScopes).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(signer
                ->Sign(absl::FromUnixSeconds(
                    std::numeric_limits<int64_t>::max() - 10), kScopes)
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(JwtSignerTest, ConcurrentSignersAllVerify) {
  std::unique_ptr<JwtSigner> signer = MakeSigner();
  ASSERT_NE(signer, nullptr);
  const std::string public_pem = ReadTestdata("ec_p521_public.pem");
  constexpr int kThreads = 8;
  constexpr int kTokensPerThread = 25;
  std::vector<std::vector<std::string>> tokens(kThreads);
  std::vector<int> failures(kThreads, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kTokensPerThread; ++i) {
        absl::StatusOr<std::string> token = signer->Sign(kNow, kScopes);
        if (!token.ok() || !VerifyEs512Jwt(*token, public_pem).ok()) {
          ++failures[static_cast<size_t>(t)];
          continue;
        }
        tokens[static_cast<size_t>(t)].push_back(*std::move(token));
      }
    });
  }
  for (std::thread& thread : threads) thread.join();

  std::set<std::string> jtis;
  for (int t = 0; t < kThreads; ++t) {
    EXPECT_EQ(failures[static_cast<size_t>(t)], 0) << "thread " << t;
    for (const std::string& token : tokens[static_cast<size_t>(t)]) {
      EXPECT_TRUE(OpenSslAcceptsSignature(token, public_pem));
      jtis.insert(ExtractJti(Unbase64Url(Parts(token)[1])));
    }
  }
  EXPECT_EQ(jtis.size(), static_cast<size_t>(kThreads * kTokensPerThread));
}

TEST(VerifyEs512JwtTest, AcceptsTokenSignedByOpenSslCli) {
  absl::StatusOr<std::string> claims = VerifyEs512Jwt(
      ReadTestdata("cli_signed.jwt"), ReadTestdata("ec_p521_public.pem"));
  ASSERT_TRUE(claims.ok()) << claims.status();
  EXPECT_EQ(*claims,
            R"({"iss":"openssl-cli","scopes":["*.read"],"iat":1700000000})");
}

TEST(VerifyEs512JwtTest, RejectsTamperedClaims) {
  std::unique_ptr<JwtSigner> signer = MakeSigner();
  ASSERT_NE(signer, nullptr);
  absl::StatusOr<std::string> token = signer->Sign(kNow, kScopes);
  ASSERT_TRUE(token.ok()) << token.status();
  const std::vector<std::string> parts = Parts(*token);
  const std::string claims = Unbase64Url(parts[1]);
  const std::string forged = absl::StrReplaceAll(
      claims, {{R"("exp":1700000060)", R"("exp":1800000060)"}});
  ASSERT_NE(forged, claims);
  const std::string tampered = absl::StrCat(
      parts[0], ".", absl::WebSafeBase64Escape(forged), ".", parts[2]);
  EXPECT_EQ(VerifyEs512Jwt(tampered, ReadTestdata("ec_p521_public.pem"))
                .status()
                .code(),
            absl::StatusCode::kUnauthenticated);
}

TEST(VerifyEs512JwtTest, RejectsTamperedSignature) {
  std::unique_ptr<JwtSigner> signer = MakeSigner();
  ASSERT_NE(signer, nullptr);
  absl::StatusOr<std::string> token = signer->Sign(kNow, kScopes);
  ASSERT_TRUE(token.ok()) << token.status();
  const std::vector<std::string> parts = Parts(*token);
  // One bit in R, then one bit in S.
  for (size_t index : {size_t{10}, size_t{100}}) {
    std::string raw = Unbase64Url(parts[2]);
    raw[index] = static_cast<char>(raw[index] ^ 0x01);
    const std::string tampered = absl::StrCat(parts[0], ".", parts[1], ".",
                                              absl::WebSafeBase64Escape(raw));
    EXPECT_EQ(VerifyEs512Jwt(tampered, ReadTestdata("ec_p521_public.pem"))
                  .status()
                  .code(),
              absl::StatusCode::kUnauthenticated)
        << "byte " << index;
  }
  // R and S swapped is a different, invalid signature.
  const std::string raw = Unbase64Url(parts[2]);
  const std::string swapped = absl::StrCat(
      parts[0], ".", parts[1], ".",
      absl::WebSafeBase64Escape(raw.substr(66) + raw.substr(0, 66)));
  EXPECT_EQ(VerifyEs512Jwt(swapped, ReadTestdata("ec_p521_public.pem"))
                .status()
                .code(),
            absl::StatusCode::kUnauthenticated);
}

TEST(VerifyEs512JwtTest, RejectsWrongKey) {
  std::unique_ptr<JwtSigner> signer = MakeSigner();
  ASSERT_NE(signer, nullptr);
  absl::StatusOr<std::string> token = signer->Sign(kNow, kScopes);
  ASSERT_TRUE(token.ok()) << token.status();
  EXPECT_EQ(VerifyEs512Jwt(*token, ReadTestdata("other_p521_public.pem"))
                .status()
                .code(),
            absl::StatusCode::kUnauthenticated);
  EXPECT_FALSE(
      OpenSslAcceptsSignature(*token, ReadTestdata("other_p521_public.pem")));
}

TEST(VerifyEs512JwtTest, RejectsKeysThatAreNotP521) {
  std::unique_ptr<JwtSigner> signer = MakeSigner();
  ASSERT_NE(signer, nullptr);
  absl::StatusOr<std::string> token = signer->Sign(kNow, kScopes);
  ASSERT_TRUE(token.ok()) << token.status();
  for (absl::string_view name : {"rsa_private.pem", "ec_p256_private.pem"}) {
    EXPECT_EQ(
        VerifyEs512Jwt(*token, PublicPemOf(ReadTestdata(name))).status().code(),
        absl::StatusCode::kInvalidArgument)
        << name;
  }
  EXPECT_EQ(VerifyEs512Jwt(*token, "garbage").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(VerifyEs512Jwt(*token, "").status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(VerifyEs512JwtTest, RejectsMalformedTokens) {
  std::unique_ptr<JwtSigner> signer = MakeSigner();
  ASSERT_NE(signer, nullptr);
  absl::StatusOr<std::string> token = signer->Sign(kNow, kScopes);
  ASSERT_TRUE(token.ok()) << token.status();
  const std::vector<std::string> parts = Parts(*token);
  const std::string raw_signature = Unbase64Url(parts[2]);
  const std::vector<std::string> malformed = {
      "",
      absl::StrCat(parts[0], ".", parts[1]),
      absl::StrCat(*token, ".", parts[1]),
      absl::StrCat(parts[0], "=.", parts[1], ".", parts[2]),
      absl::StrCat(parts[0], ".", parts[1], ".", parts[2], "=="),
      absl::StrCat(parts[0], ".", parts[1], "+.", parts[2]),
      absl::StrCat(parts[0], ".", parts[1], ".",
                   absl::WebSafeBase64Escape(raw_signature.substr(0, 131))),
      absl::StrCat(parts[0], ".", parts[1], ".",
                   absl::WebSafeBase64Escape(raw_signature + "x")),
      // Header alg is not ES512, even though the signature is fine.
      absl::StrCat(absl::WebSafeBase64Escape(R"({"alg":"none"})"), ".",
                   parts[1], ".", parts[2]),
      absl::StrCat(absl::WebSafeBase64Escape(R"({"alg":"HS512"})"), ".",
                   parts[1], ".", parts[2]),
      absl::StrCat(absl::WebSafeBase64Escape(R"({"typ":"JWT"})"), ".", parts[1],
                   ".", parts[2]),
      absl::StrCat(absl::WebSafeBase64Escape(R"({"alg":"ES512","alg":"none"})"),
                   ".", parts[1], ".", parts[2]),
      absl::StrCat(absl::WebSafeBase64Escape(R"({"alg":"ES512"} trailing)"),
                   ".", parts[1], ".", parts[2]),
      absl::StrCat(absl::WebSafeBase64Escape(R"(["ES512"])"), ".", parts[1],
                   ".", parts[2]),
  };
  for (const std::string& bad : malformed) {
    EXPECT_EQ(
        VerifyEs512Jwt(bad, ReadTestdata("ec_p521_public.pem")).status().code(),
        absl::StatusCode::kInvalidArgument)
        << bad;
  }
}

TEST(VerifyEs512JwtTest, ReadsHeaderAsJson) {
  // Escapes, whitespace and extra members of any type are all fine.
  const std::string token = SignIndependently(
      R"( { "typ" : "JWT", "alg" : "\u0045S512", "x": [1, -2.5e3, true,)"
      R"( null, {"y": "\ud83d\ude00"}] } )",
      R"({"iss":"independent"})");
  absl::StatusOr<std::string> claims =
      VerifyEs512Jwt(token, ReadTestdata("ec_p521_public.pem"));
  ASSERT_TRUE(claims.ok()) << claims.status();
  EXPECT_EQ(*claims, R"({"iss":"independent"})");
}

TEST(VerifyEs512JwtTest, RejectsSignedClaimsThatAreNotAnObject) {
  for (absl::string_view claims :
       {R"([1,2])", R"("text")", R"({"iss":)", "{\"bad\":\"\xff\"}",
        R"({"a":01})", R"({"a":"\ud800"})"}) {
    const std::string token =
        SignIndependently(R"({"alg":"ES512","typ":"JWT"})", claims);
    EXPECT_EQ(VerifyEs512Jwt(token, ReadTestdata("ec_p521_public.pem"))
                  .status()
                  .code(),
              absl::StatusCode::kInvalidArgument)
        << claims;
  }
}

TEST(VerifyEs512JwtTest, RejectsDeeplyNestedJsonWithoutCrashing) {
  const std::string deep = absl::StrCat(R"({"a":)", std::string(100000, '['),
                                        std::string(100000, ']'), "}");
  const std::string token =
      SignIndependently(R"({"alg":"ES512","typ":"JWT"})", deep);
  EXPECT_EQ(
      VerifyEs512Jwt(token, ReadTestdata("ec_p521_public.pem")).status().code(),
      absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace upstream
}  // namespace session_gateway
