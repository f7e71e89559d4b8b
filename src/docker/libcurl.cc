#include "docker/libcurl.h"

#include <mutex>

#include "base/shared_library.h"

namespace swarmwall::docker {

const LibCurl* LoadLibCurl(std::string& error) {
  static LibCurl api;
  static std::string load_error;
  static std::once_flag once;
  std::call_once(once, [] {
    // The soname libcurl4 (Debian 12) and libcurl4t64 (later) both ship.
    static SharedLibrary lib("libcurl.so.4", "libcurl4");
    bool ok = lib.Get(api.global_init, "curl_global_init") && lib.Get(api.easy_init, "curl_easy_init") &&
              lib.Get(api.easy_setopt, "curl_easy_setopt") && lib.Get(api.easy_perform, "curl_easy_perform") &&
              lib.Get(api.easy_getinfo, "curl_easy_getinfo") && lib.Get(api.easy_strerror, "curl_easy_strerror") &&
              lib.Get(api.easy_cleanup, "curl_easy_cleanup") && lib.Get(api.slist_append, "curl_slist_append") &&
              lib.Get(api.slist_free_all, "curl_slist_free_all");
    if (!ok) {
      load_error = lib.error();
      return;
    }
    api.global_init(CURL_GLOBAL_DEFAULT);
  });
  if (!load_error.empty()) {
    error = load_error;
    return nullptr;
  }
  return &api;
}

}  // namespace swarmwall::docker
