#include "docker/libcurl.h"

#include <dlfcn.h>

#include <mutex>

namespace swarmwall::docker {

const LibCurl* LoadLibCurl(std::string& error) {
  static LibCurl api;
  static std::string load_error;
  static std::once_flag once;
  std::call_once(once, [] {
    // The soname libcurl4 (Debian 12) and libcurl4t64 (later) both ship.
    void* lib = dlopen("libcurl.so.4", RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
      const char* why = dlerror();
      load_error = std::string("cannot load libcurl.so.4 (install the libcurl4 package): ") + (why ? why : "");
      return;
    }
    bool ok = true;
    auto get = [&](auto& fn, const char* name) {
      fn = reinterpret_cast<std::remove_reference_t<decltype(fn)>>(dlsym(lib, name));
      if (!fn) ok = false;
    };
    get(api.global_init, "curl_global_init");
    get(api.easy_init, "curl_easy_init");
    get(api.easy_setopt, "curl_easy_setopt");
    get(api.easy_perform, "curl_easy_perform");
    get(api.easy_getinfo, "curl_easy_getinfo");
    get(api.easy_strerror, "curl_easy_strerror");
    get(api.easy_cleanup, "curl_easy_cleanup");
    get(api.slist_append, "curl_slist_append");
    get(api.slist_free_all, "curl_slist_free_all");
    if (!ok) {
      load_error = "libcurl.so.4 lacks a function swarmwall calls";
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
