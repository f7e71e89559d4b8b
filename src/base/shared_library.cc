#include "base/shared_library.h"

#include <dlfcn.h>

namespace swarmwall {

SharedLibrary::SharedLibrary(const char* soname, const char* package) : soname_(soname) {
  handle_ = dlopen(soname, RTLD_NOW | RTLD_LOCAL);
  if (!handle_) {
    const char* why = dlerror();
    error_ = std::string("cannot load ") + soname + " (install the " + package + " package): " + (why ? why : "");
  }
}

void* SharedLibrary::Find(const char* symbol) {
  if (!handle_) return nullptr;
  void* address = dlsym(handle_, symbol);
  if (!address && error_.empty()) error_ = soname_ + " lacks " + symbol + ", which swarmwall calls";
  return address;
}

}  // namespace swarmwall
