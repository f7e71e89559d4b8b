// libcurl, loaded when the first Docker request is made rather than when
// swarmwall starts. Linked, it pulls some 30 shared libraries (TLS, LDAP,
// Kerberos, ...) whose loading took ~7 ms of every command's start, while
// most commands (apply, plan, status, check, trace) never speak to Docker.
// The API is libcurl's own, called through the pointers below.
#pragma once

#ifndef CURL_DISABLE_TYPECHECK
#define CURL_DISABLE_TYPECHECK   // the type-checking macros would hide the calls
#endif
#include <curl/curl.h>

#include <string>

namespace swarmwall::docker {

struct LibCurl {
  decltype(&curl_global_init) global_init = nullptr;
  decltype(&curl_easy_init) easy_init = nullptr;
  decltype(&curl_easy_setopt) easy_setopt = nullptr;
  decltype(&curl_easy_perform) easy_perform = nullptr;
  decltype(&curl_easy_getinfo) easy_getinfo = nullptr;
  decltype(&curl_easy_strerror) easy_strerror = nullptr;
  decltype(&curl_easy_cleanup) easy_cleanup = nullptr;
  decltype(&curl_slist_append) slist_append = nullptr;
  decltype(&curl_slist_free_all) slist_free_all = nullptr;
};

// Loaded and initialised once (thread-safe); nullptr with ERROR saying what
// to install when libcurl cannot be loaded.
const LibCurl* LoadLibCurl(std::string& error);

}  // namespace swarmwall::docker
