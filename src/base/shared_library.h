// A shared library opened when a command first needs it (dlopen) and its
// functions looked up by name: for the libraries most commands never call
// (libcurl, libnftables), whose loading at start cost every process
// milliseconds before main.
#pragma once

#include <string>

namespace swarmwall {

class SharedLibrary {
 public:
  // Opens SONAME now; PACKAGE (the Debian package that ships it) is named
  // in error() when it cannot be opened. Never closed.
  SharedLibrary(const char* soname, const char* package);
  bool ok() const { return error_.empty(); }
  const std::string& error() const { return error_; }
  // FN set to SYMBOL's address; false, and error() set, when it is missing.
  template <typename F>
  bool Get(F& fn, const char* symbol) {
    fn = reinterpret_cast<F>(Find(symbol));
    return fn != nullptr;
  }

 private:
  void* Find(const char* symbol);
  void* handle_ = nullptr;
  std::string soname_, error_;
};

}  // namespace swarmwall
