#include "host/nftables.h"

#include <nftables/libnftables.h>
#include <sched.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>

#include "base/shared_library.h"

namespace swarmwall::host {
namespace {

// libnftables, loaded when a command first needs it: linked in, it and the
// five libraries it pulls cost every swarmwall process ~5 ms before main
// (the no-op apply, status, check, ... never call it).
struct Library {
  decltype(&nft_ctx_new) ctx_new = nullptr;
  decltype(&nft_ctx_free) ctx_free = nullptr;
  decltype(&nft_ctx_output_set_flags) output_set_flags = nullptr;
  decltype(&nft_ctx_buffer_output) buffer_output = nullptr;
  decltype(&nft_ctx_buffer_error) buffer_error = nullptr;
  decltype(&nft_ctx_get_output_buffer) get_output_buffer = nullptr;
  decltype(&nft_ctx_get_error_buffer) get_error_buffer = nullptr;
  decltype(&nft_run_cmd_from_buffer) run_cmd_from_buffer = nullptr;
  decltype(&nft_run_cmd_from_filename) run_cmd_from_filename = nullptr;
  std::string error;   // why it could not be loaded
};

const Library& Lib() {
  static const Library lib = [] {
    Library l;
    static SharedLibrary so("libnftables.so.1", "libnftables1");
    bool ok = so.Get(l.ctx_new, "nft_ctx_new") && so.Get(l.ctx_free, "nft_ctx_free") &&
              so.Get(l.output_set_flags, "nft_ctx_output_set_flags") &&
              so.Get(l.buffer_output, "nft_ctx_buffer_output") && so.Get(l.buffer_error, "nft_ctx_buffer_error") &&
              so.Get(l.get_output_buffer, "nft_ctx_get_output_buffer") &&
              so.Get(l.get_error_buffer, "nft_ctx_get_error_buffer") &&
              so.Get(l.run_cmd_from_buffer, "nft_run_cmd_from_buffer") &&
              so.Get(l.run_cmd_from_filename, "nft_run_cmd_from_filename");
    if (!ok) {
      l = Library{};
      l.error = so.error();
    }
    return l;
  }();
  return lib;
}

struct CtxDeleter {
  void operator()(nft_ctx* c) const { Lib().ctx_free(c); }
};
using Ctx = std::unique_ptr<nft_ctx, CtxDeleter>;

// A context with JSON output into buffers; null (and ERROR) without the library.
Ctx NewContext(std::string& error) {
  const Library& lib = Lib();
  if (!lib.ctx_new) {
    error = lib.error;
    return nullptr;
  }
  Ctx ctx(lib.ctx_new(NFT_CTX_DEFAULT));
  if (!ctx) {
    error = "libnftables: no context";
    return ctx;
  }
  lib.output_set_flags(ctx.get(), NFT_CTX_OUTPUT_JSON | NFT_CTX_OUTPUT_HANDLE);
  lib.buffer_output(ctx.get());
  lib.buffer_error(ctx.get());
  return ctx;
}

std::string Trimmed(const char* s) {
  std::string out = s ? s : "";
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  return out;
}

// `list ruleset` in CTX (already in the right namespace).
std::optional<std::string> List(nft_ctx* ctx, std::string& error) {
  if (Lib().run_cmd_from_buffer(ctx, "list ruleset") != 0) {
    error = Trimmed(Lib().get_error_buffer(ctx));
    if (error.empty()) error = "nft list ruleset failed";
    return std::nullopt;
  }
  std::string out = Lib().get_output_buffer(ctx);
  if (out.empty()) out = "{\"nftables\": []}";
  return out;
}

bool WriteAll(int fd, const std::string& s) {
  size_t done = 0;
  while (done < s.size()) {
    ssize_t n = write(fd, s.data() + done, s.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<size_t>(n);
  }
  return true;
}

}  // namespace

bool LoadNftables() { return Lib().ctx_new != nullptr; }

std::optional<std::string> ListNftRulesetJson(std::string& error) {
  Ctx ctx = NewContext(error);
  if (!ctx) return std::nullopt;
  return List(ctx.get(), error);
}

std::optional<std::string> ListNftJson(const std::string& command, std::string& error, bool* absent) {
  if (absent) *absent = false;
  Ctx ctx = NewContext(error);
  if (!ctx) return std::nullopt;
  if (Lib().run_cmd_from_buffer(ctx.get(), command.c_str()) != 0) {
    error = Trimmed(Lib().get_error_buffer(ctx.get()));
    if (error.find("No such file or directory") != std::string::npos && absent) {
      *absent = true;
      error.clear();
      return std::nullopt;
    }
    if (error.empty()) error = "nft " + command + " failed";
    return std::nullopt;
  }
  std::string out = Lib().get_output_buffer(ctx.get());
  if (out.empty()) out = "{\"nftables\": []}";
  return out;
}

bool RunNftJson(const std::string& commands, std::string& error) {
  Ctx ctx = NewContext(error);
  if (!ctx) return false;
  // With JSON output on, libnftables reads its input as JSON.
  if (Lib().run_cmd_from_buffer(ctx.get(), commands.c_str()) != 0) {
    error = Trimmed(Lib().get_error_buffer(ctx.get()));
    if (error.empty()) error = "libnftables refused the transaction";
    return false;
  }
  return true;
}

std::optional<std::string> NftTextToJson(const std::string& path, std::string& error) {
  // Loaded here, before the fork: never dlopen in a child of a process
  // that may have threads.
  if (!Lib().ctx_new) {
    error = Lib().error;
    return std::nullopt;
  }
  int out[2];
  if (pipe(out) != 0) {
    error = std::string("pipe: ") + std::strerror(errno);
    return std::nullopt;
  }
  pid_t pid = fork();
  if (pid < 0) {
    error = std::string("fork: ") + std::strerror(errno);
    close(out[0]);
    close(out[1]);
    return std::nullopt;
  }
  if (pid == 0) {
    // The child: a namespace of its own, load, list, report; "E" or "J" first.
    close(out[0]);
    std::string result;
    std::string why;
    if (unshare(CLONE_NEWNET) != 0) {
      result = std::string("Ea network namespace to load it in: ") + std::strerror(errno);
    } else if (Ctx ctx = NewContext(why); !ctx) {
      result = "E" + why;
    } else if (Lib().run_cmd_from_filename(ctx.get(), path.c_str()) != 0) {
      result = "E" + Trimmed(Lib().get_error_buffer(ctx.get()));
    } else {
      std::string e;
      auto json = List(ctx.get(), e);
      result = json ? "J" + *json : "E" + e;
    }
    WriteAll(out[1], result);
    _exit(0);
  }
  close(out[1]);
  std::string text;
  char buf[65536];
  while (true) {
    ssize_t n = read(out[0], buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    text.append(buf, static_cast<size_t>(n));
  }
  close(out[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (text.empty() || (text[0] != 'J' && text[0] != 'E')) {
    error = path + ": loading it through libnftables failed";
    return std::nullopt;
  }
  if (text[0] == 'E') {
    error = text.substr(1);
    if (error.empty()) error = path + ": libnftables refused it";
    return std::nullopt;
  }
  return text.substr(1);
}

}  // namespace swarmwall::host
