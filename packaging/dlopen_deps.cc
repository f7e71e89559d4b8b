// Not installed: swarmwall loads libnftables and libcurl when first used
// (src/base/shared_library.h), so dpkg-shlibdeps does not see them in its
// binary. This program links both, and scripts/package.sh runs
// dpkg-shlibdeps on it to compute the package's dependencies on them.
#include <curl/curl.h>
#include <nftables/libnftables.h>

int main() {
  nft_ctx* ctx = nft_ctx_new(NFT_CTX_DEFAULT);
  nft_ctx_free(ctx);
  return curl_version() == nullptr;
}
