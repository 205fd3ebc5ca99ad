// Owning pointers for the OpenSSL objects the JWT code uses, so that every
// early return frees what it made.
//
// Usage:
//
//   BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
//   PkeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
//   if (key == nullptr) return absl::InvalidArgumentError("not a private key");
#ifndef SESSION_GATEWAY_UPSTREAM_OPENSSL_PTR_H_
#define SESSION_GATEWAY_UPSTREAM_OPENSSL_PTR_H_

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>

#include <memory>

namespace session_gateway {
namespace upstream {

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

}  // namespace upstream
}  // namespace session_gateway

#endif  // SESSION_GATEWAY_UPSTREAM_OPENSSL_PTR_H_
