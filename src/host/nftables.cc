#include "host/nftables.h"

#include <nftables/libnftables.h>
#include <sched.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>

namespace swarmwall::host {
namespace {

struct CtxDeleter {
  void operator()(nft_ctx* c) const { nft_ctx_free(c); }
};
using Ctx = std::unique_ptr<nft_ctx, CtxDeleter>;

Ctx NewContext() {
  Ctx ctx(nft_ctx_new(NFT_CTX_DEFAULT));
  if (!ctx) return ctx;
  nft_ctx_output_set_flags(ctx.get(), NFT_CTX_OUTPUT_JSON | NFT_CTX_OUTPUT_HANDLE);
  nft_ctx_buffer_output(ctx.get());
  nft_ctx_buffer_error(ctx.get());
  return ctx;
}

std::string Trimmed(const char* s) {
  std::string out = s ? s : "";
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  return out;
}

// `list ruleset` in CTX (already in the right namespace).
std::optional<std::string> List(nft_ctx* ctx, std::string& error) {
  if (nft_run_cmd_from_buffer(ctx, "list ruleset") != 0) {
    error = Trimmed(nft_ctx_get_error_buffer(ctx));
    if (error.empty()) error = "nft list ruleset failed";
    return std::nullopt;
  }
  std::string out = nft_ctx_get_output_buffer(ctx);
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

std::optional<std::string> ListNftRulesetJson(std::string& error) {
  Ctx ctx = NewContext();
  if (!ctx) {
    error = "libnftables: no context";
    return std::nullopt;
  }
  return List(ctx.get(), error);
}

std::optional<std::string> ListNftJson(const std::string& command, std::string& error, bool* absent) {
  if (absent) *absent = false;
  Ctx ctx = NewContext();
  if (!ctx) {
    error = "libnftables: no context";
    return std::nullopt;
  }
  if (nft_run_cmd_from_buffer(ctx.get(), command.c_str()) != 0) {
    error = Trimmed(nft_ctx_get_error_buffer(ctx.get()));
    if (error.find("No such file or directory") != std::string::npos && absent) {
      *absent = true;
      error.clear();
      return std::nullopt;
    }
    if (error.empty()) error = "nft " + command + " failed";
    return std::nullopt;
  }
  std::string out = nft_ctx_get_output_buffer(ctx.get());
  if (out.empty()) out = "{\"nftables\": []}";
  return out;
}

bool RunNftJson(const std::string& commands, std::string& error) {
  Ctx ctx = NewContext();
  if (!ctx) {
    error = "libnftables: no context";
    return false;
  }
  // With JSON output on, libnftables reads its input as JSON.
  if (nft_run_cmd_from_buffer(ctx.get(), commands.c_str()) != 0) {
    error = Trimmed(nft_ctx_get_error_buffer(ctx.get()));
    if (error.empty()) error = "libnftables refused the transaction";
    return false;
  }
  return true;
}

std::optional<std::string> NftTextToJson(const std::string& path, std::string& error) {
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
    if (unshare(CLONE_NEWNET) != 0) {
      result = std::string("Ea network namespace to load it in: ") + std::strerror(errno);
    } else if (Ctx ctx = NewContext(); !ctx) {
      result = "Elibnftables: no context";
    } else if (nft_run_cmd_from_filename(ctx.get(), path.c_str()) != 0) {
      result = "E" + Trimmed(nft_ctx_get_error_buffer(ctx.get()));
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
