// `swarmwall man` and `swarmwall completion bash`: the manual page
// swarmwall(8) and the bash completion, both made from this program's own
// CLI11 definitions (every subcommand, option and description), so neither
// can drift from the program. The Debian package ships their output
// (scripts/package.sh).
#include <CLI/CLI.hpp>

#include <iostream>
#include <string>
#include <vector>

#include "cli/commands.h"

namespace swarmwall::cli {
namespace {

// Text as roff shows it literally: a backslash, and a leading dot or quote.
std::string Roff(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == '\\') out += "\\e";
    else if (c == '-') out += "\\-";
    else out += c;
  }
  if (!out.empty() && (out[0] == '.' || out[0] == '\'')) out = "\\&" + out;
  return out;
}

bool Listed(const CLI::App* sub) { return !sub->get_group().empty(); }   // hidden: no group

std::vector<const CLI::App*> Subcommands(const CLI::App& app) {
  return app.get_subcommands([](const CLI::App* s) { return Listed(s); });
}

std::vector<const CLI::Option*> Options(const CLI::App& app, bool positional) {
  return app.get_options([&](const CLI::Option* o) {
    return o->get_positional() == positional && o->get_name() != "--help" && !o->get_group().empty();
  });
}

// "--node N", "POLICY", "--output,-O TEXT".
std::string Synopsis(const CLI::Option* o) {
  if (o->get_positional()) return o->get_name(true);
  std::string names = o->get_name(false, true);
  std::string type = o->get_type_name();
  if (o->get_expected_min() == 0 || type.empty()) return names;
  return names + " " + type;
}

void Describe(std::ostream& out, const CLI::App& app) {
  for (const auto* o : Options(app, true))
    out << ".TP\n.I " << Roff(o->get_name(true)) << "\n" << Roff(o->get_description()) << "\n";
  for (const auto* o : Options(app, false)) {
    out << ".TP\n.B " << Roff(Synopsis(o)) << "\n" << Roff(o->get_description());
    if (!o->get_envname().empty() && o->get_description().find(o->get_envname()) == std::string::npos)
      out << " (environment " << Roff(o->get_envname()) << ")";
    out << "\n";
  }
}

void ManPage(const CLI::App& app, std::ostream& out) {
  out << ".\\\" Made by `swarmwall man` from the program's own command line definitions.\n"
      << ".TH SWARMWALL 8 \"\" \"swarmwall " << SWARMWALL_VERSION << "\" \"System Administration\"\n"
      << ".SH NAME\nswarmwall \\- " << Roff(app.get_description().substr(app.get_description().find(": ") + 2))
      << "\n.SH SYNOPSIS\n.B swarmwall\n.RI [ global\\ options ] \" command \" [ arguments ]\n"
      << ".SH DESCRIPTION\n"
      << "swarmwall turns one declarative cluster policy (YAML) into the host firewall of each node of a "
         "Docker or Docker Swarm cluster: it compiles the policy for the node, applies it in one transaction "
         "(iptables and ipset, or a native nftables table) without touching the rules of other owners "
         "(Docker, firewalld, the distribution's services), keeps it applied (\\fBagent\\fR), and proves the "
         "result offline (every table at every hook, Docker's NAT included) and live.\n"
      << ".SH GLOBAL OPTIONS\n";
  Describe(out, app);
  out << ".SH COMMANDS\n";
  for (const auto* sub : Subcommands(app)) {
    out << ".SS \"" << Roff(sub->get_name());
    for (const auto* o : Options(*sub, true)) out << " " << Roff(o->get_name(true));
    out << "\"\n" << Roff(sub->get_description()) << "\n";
    Describe(out, *sub);
    for (const auto* nested : Subcommands(*sub)) {
      out << ".TP\n.B " << Roff(sub->get_name() + " " + nested->get_name()) << "\n"
          << Roff(nested->get_description()) << "\n";
      Describe(out, *nested);
    }
  }
  out << ".SH EXIT STATUS\n.TP\n.B 0\nSuccess: nothing pending, no finding.\n"
      << ".TP\n.B 1\nAn error: bad input (reported as FILE:LINE:COLUMN), a kernel or Docker failure; nothing "
         "was half applied.\n"
      << ".TP\n.B 2\nChanges pending (plan), or findings (status, doctor, audit, exposure, verify).\n"
      << ".SH ENVIRONMENT\n.TP\n.B DOCKER_HOST\nThe Docker Engine API to read (default the local socket).\n"
      << ".TP\n.B SWARMWALL_STATE_DIR\nThe state directory (default /var/lib/swarmwall), as \\fB\\-\\-state\\-dir\\fR.\n"
      << ".SH FILES\n.TP\n.I /etc/swarmwall/policy.yaml\nThe cluster policy the systemd unit applies "
         "(an example is installed there).\n"
      << ".TP\n.I /etc/default/swarmwall\n\\fBSWARMWALL_OPTS\\fR for the units, e.g. \\fB\\-\\-node manager\\-1\\fR.\n"
      << ".TP\n.I /var/lib/swarmwall\nState: the applied record, the journal, the agent's state.\n"
      << ".TP\n.I /lib/systemd/system/swarmwall.service\nApplies the policy at boot, before the network and "
         "Docker (installed, not enabled).\n"
      << ".SH SEE ALSO\n.BR iptables (8),\n.BR nft (8),\n.BR ipset (8),\n.BR dockerd (8),\n.BR firewalld (1)\n"
      << ".PP\n/usr/share/doc/swarmwall/\n";
}

void BashCompletion(const CLI::App& app, std::ostream& out) {
  out << "# bash completion for swarmwall, made by `swarmwall completion bash` from the program's own\n"
         "# command line definitions.\n"
         "_swarmwall() {\n"
         "  local cur=${COMP_WORDS[COMP_CWORD]} command='' w\n"
         "  for w in \"${COMP_WORDS[@]:1:COMP_CWORD-1}\"; do\n"
         "    case $w in -*) ;; *) command=$w; break ;; esac\n"
         "  done\n"
         "  local global='";
  for (const auto* o : Options(app, false)) out << " " << o->get_name(false, true).substr(0, o->get_name(false, true).find(','));
  out << " --help --version'\n  case $command in\n";
  std::string names;
  for (const auto* sub : Subcommands(app)) {
    names += " " + sub->get_name();
    out << "    " << sub->get_name() << ") COMPREPLY=($(compgen -W \"$global";
    for (const auto* o : Options(*sub, false)) {
      std::string n = o->get_name(false, true);
      for (size_t start = 0; start < n.size();) {
        size_t comma = n.find(',', start);
        out << " " << n.substr(start, comma - start);
        start = comma == std::string::npos ? n.size() : comma + 1;
      }
    }
    for (const auto* nested : Subcommands(*sub)) out << " " << nested->get_name();
    out << "\" -- \"$cur\")) ;;\n";
  }
  out << "    '') COMPREPLY=($(compgen -W \"$global" << names << "\" -- \"$cur\")) ;;\n"
      << "  esac\n"
         "  # Arguments that are not options: files (policies, rulesets).\n"
         "  if [[ $cur != -* && -n $command ]]; then COMPREPLY+=($(compgen -f -- \"$cur\")); fi\n"
         "}\n"
         "complete -F _swarmwall swarmwall\n";
}

}  // namespace

void RegisterReference(CLI::App& app, GlobalOptions& global) {
  auto* man = app.add_subcommand("man", "Print the manual page swarmwall(8) (roff), made from these commands' own help");
  man->callback([&app, &global] {
    ManPage(app, std::cout);
    global.exit_code = kOk;
  });
  auto* completion = app.add_subcommand("completion", "Print a shell completion script (bash)");
  auto shell = std::make_shared<std::string>();
  completion->add_option("shell", *shell, "The shell: bash")->required()->check(CLI::IsMember({"bash"}));
  // The callback owns the option's string: CLI11 writes into it at parse time.
  completion->callback([&app, &global, shell] {
    BashCompletion(app, std::cout);
    global.exit_code = kOk;
  });
}

}  // namespace swarmwall::cli
