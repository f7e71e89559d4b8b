// Whether this build runs under AddressSanitizer (SWARMWALL_SANITIZE; GCC
// says so by __SANITIZE_ADDRESS__, clang by __has_feature): random-input unit
// tests then run fewer seeds, since the instrumented code is several times
// slower and CI runs them after the lab on both cores; they look for memory
// errors on paths the first seeds already take, and the release build runs
// every seed.
#pragma once

namespace swarmwall {

#if defined(__SANITIZE_ADDRESS__)
inline constexpr bool kSanitized = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
inline constexpr bool kSanitized = true;
#else
inline constexpr bool kSanitized = false;
#endif
#else
inline constexpr bool kSanitized = false;
#endif

}  // namespace swarmwall
