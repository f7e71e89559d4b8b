// Writing a renderer's files under an output directory without ever
// following a symbolic link inside it: a link planted where a file or a
// folder goes (od/m1.v4.rules -> /etc/shadow) must not be written through.
#pragma once

#include <string>

namespace swarmwall::backend {

// Writes TEXT to DIR/REL: DIR is made when missing (it may itself be a
// link, the caller named it); each folder of REL is made or entered with
// O_NOFOLLOW, the file is written to a temporary file beside it and renamed
// over REL (a link there is replaced, its target untouched). "" on
// success, else why not (a folder of REL that is a link, REL with "..").
std::string WriteOutputFile(const std::string& dir, const std::string& rel, const std::string& text);

}  // namespace swarmwall::backend
