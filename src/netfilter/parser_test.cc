#include "netfilter/parser.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "netfilter/modules.h"
#include "netfilter/printer.h"

namespace swarmwall::netfilter {
namespace {

std::string Normalize(std::string_view text, Family family = Family::kIPv4) {
  ParseOptions options;
  options.family = family;
  auto r = ParseRuleset(text, options);
  if (!r.ruleset) return "ERROR " + r.error->ToString();
  return PrintRuleset(*r.ruleset);
}

std::string R(std::string_view spec, std::string_view chain = "INPUT") {
  std::string text = "*filter\n:FOO - [0:0]\n-A ";
  text += chain;
  text += ' ';
  text += spec;
  text += "\nCOMMIT\n";
  auto r = ParseRuleset(text);
  if (!r.ruleset) return "ERROR " + r.error->message;
  return RuleSpec(r.ruleset->FindChain("filter", chain)->rules.at(0), Family::kIPv4);
}

TEST(Parser, DockerFixtureRoundTrips) {
  const char* text =
      "*filter\n"
      ":INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n"
      ":DOCKER - [0:0]\n:DOCKER-USER - [0:0]\n"
      "-A FORWARD -j DOCKER-USER\n"
      "-A FORWARD -o docker0 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n"
      "-A DOCKER -d 172.17.0.2/32 ! -i docker0 -o docker0 -p tcp -m tcp --dport 80 -j ACCEPT\n"
      "-A DOCKER-USER -j RETURN\n"
      "COMMIT\n";
  EXPECT_EQ(Normalize(text), text);
}

TEST(Parser, CanonicalForms) {
  EXPECT_EQ(R("-p tcp --dport 22 --sport 1:2 -s 1.2.3.4 -j ACCEPT"),
            "-s 1.2.3.4/32 -p tcp -m tcp --sport 1:2 --dport 22 -j ACCEPT");
  EXPECT_EQ(R("-p 6 -m tcp --dport 1"), "-p tcp -m tcp --dport 1");
  EXPECT_EQ(R("-p tcp -m tcp --sport :"), "-p tcp -m tcp");
  EXPECT_EQ(R("-p tcp --syn -j DROP"), "-p tcp -m tcp --tcp-flags FIN,SYN,RST,ACK SYN -j DROP");
  EXPECT_EQ(R("-m state --state ESTABLISHED,RELATED,NEW -j ACCEPT"),
            "-m state --state NEW,RELATED,ESTABLISHED -j ACCEPT");
  EXPECT_EQ(R("-m limit -j ACCEPT"), "-m limit --limit 3/hour -j ACCEPT");
  EXPECT_EQ(R("-m limit --limit 8/second --limit-burst 5"), "-m limit --limit 8/sec");
  EXPECT_EQ(R("-j LOG --log-level warning --log-prefix \"a b\""), "-j LOG --log-prefix \"a b\"");
  EXPECT_EQ(R("-j REJECT"), "-j REJECT --reject-with icmp-port-unreachable");
  EXPECT_EQ(R("-p icmp --icmp-type echo-request"), "-p icmp -m icmp --icmp-type 8");
  EXPECT_EQ(R("-p icmp --icmp-type port-unreachable"), "-p icmp -m icmp --icmp-type 3/3");
  EXPECT_EQ(R("-m comment --comment \"it's \\\"x\\\"\""), "-m comment --comment \"it\\'s \\\"x\\\"\"");
  EXPECT_EQ(R("-m conntrack --ctstate DNAT --ctorigdstport 80 --ctorigdst 10.0.0.1"),
            "-m conntrack --ctstate DNAT --ctorigdst 10.0.0.1 --ctorigdstport 80");
  EXPECT_EQ(R("-m mark --mark 0x10/0xff -m connmark --mark 3"),
            "-m mark --mark 0x10/0xff -m connmark --mark 0x3");
  EXPECT_EQ(R("-m recent --set"), "-m recent --set --name DEFAULT --mask 255.255.255.255 --rsource");
  EXPECT_EQ(R("-m pkttype --pkt-type host"), "-m pkttype --pkt-type unicast");
  EXPECT_EQ(R("-p tcp --dport ! 22"), "-p tcp -m tcp ! --dport 22");
  EXPECT_EQ(R("-s ! 10.0.0.0/8"), "! -s 10.0.0.0/8");
  EXPECT_EQ(R("-i eth+ -g FOO"), "-i eth+ -g FOO");
  EXPECT_EQ(R("-m set --match-set foo src,dst -j DROP"), "-m set --match-set foo src,dst -j DROP");
  EXPECT_EQ(R("-m foo --bar 1 --baz -j ULOG --ulog-prefix \"x y\""),
            "-m foo --bar 1 --baz -j ULOG --ulog-prefix \"x y\"");
}

TEST(Parser, ExpandsAddressLists) {
  auto r = ParseRuleset("*filter\n-A INPUT -s 10.0.0.1,10.0.0.2 -d 1.1.1.1,2.2.2.2 -j DROP\nCOMMIT\n");
  ASSERT_TRUE(r.ruleset);
  EXPECT_EQ(r.ruleset->RuleCount(), 4u);
}

TEST(Parser, ErrorsHaveLineAndColumn) {
  auto r = ParseRuleset("*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -p tcp --dport 99999 -j ACCEPT\nCOMMIT\n",
                        {"x.rules", std::nullopt});
  ASSERT_FALSE(r.ruleset);
  EXPECT_EQ(r.error->ToString(), "x.rules:3:17: --dport: bad port \"99999\"");
  r = ParseRuleset("*filter\n-A NOPE -j ACCEPT\nCOMMIT\n");
  ASSERT_FALSE(r.ruleset);
  EXPECT_EQ(r.error->line, 2);
  EXPECT_EQ(r.error->column, 4);
  r = ParseRuleset("*filter\n-A INPUT -j ACCEPT\n");
  ASSERT_FALSE(r.ruleset);
  EXPECT_NE(r.error->message.find("COMMIT"), std::string::npos);
  EXPECT_FALSE(ParseRuleset("*filter\n-A INPUT -o eth0\nCOMMIT\n").ruleset);
  EXPECT_FALSE(ParseRuleset("*filter\n-A INPUT -m tcp --dport 1\nCOMMIT\n").ruleset);
  EXPECT_FALSE(ParseRuleset("*filter\n-A INPUT -m comment --comment \"x\nCOMMIT\n").ruleset);
}

TEST(Parser, ToleratesCrlfPromptsAndMissingNewline) {
  auto r = ParseRuleset("root@host:~# iptables-save\r\n*filter\r\n:INPUT DROP [1:2]\r\n"
                        "[5:6] -A INPUT -j ACCEPT\r\nCOMMIT");
  ASSERT_TRUE(r.ruleset) << r.error->ToString();
  EXPECT_EQ(r.warnings.size(), 1u);
  const auto* input = r.ruleset->FindChain("filter", "INPUT");
  EXPECT_EQ(input->policy, "DROP");
  EXPECT_EQ(input->counters.bytes, 2u);
  EXPECT_EQ(input->rules[0].counters.packets, 5u);
}

TEST(Parser, Ipv6) {
  EXPECT_EQ(Normalize("*filter\n-A INPUT -p icmpv6 --icmpv6-type echo-request -s 2001:db8::1 -j REJECT\nCOMMIT\n",
                      Family::kIPv6),
            "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n"
            "-A INPUT -s 2001:db8::1/128 -p ipv6-icmp -m icmp6 --icmpv6-type 128 -j REJECT "
            "--reject-with icmp6-port-unreachable\nCOMMIT\n");
  EXPECT_EQ(DetectFamily("# Generated by ip6tables-save v1.8.9\n"), Family::kIPv6);
}

TEST(Parser, TypedValues) {
  auto r = ParseRuleset("*filter\n-A INPUT -p tcp -m multiport --dports 80,443,8000:8100 "
                        "-m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\nCOMMIT\n");
  ASSERT_TRUE(r.ruleset);
  const Rule& rule = r.ruleset->FindChain("filter", "INPUT")->rules[0];
  const Part* ports = rule.FindOption(FindOptionId("multiport", "dports"));
  ASSERT_TRUE(ports);
  ASSERT_EQ(ports->value.list().size(), 3u);
  EXPECT_EQ(ports->value.list()[2].hi, 8100);
  const Part* state = rule.FindOption(FindOptionId("conntrack", "ctstate"));
  ASSERT_TRUE(state);
  EXPECT_EQ(state->value.lo, (1u << 2) | (1u << 3));
}

// Parse, print, parse again, print again: the printout is a fixed point.
void ExpectFixedPoint(std::string_view text, Family family = Family::kIPv4) {
  ParseOptions options;
  options.family = family;
  auto first = ParseRuleset(text, options);
  ASSERT_TRUE(first.ruleset) << first.error->ToString();
  std::string p1 = PrintRuleset(*first.ruleset);
  auto second = ParseRuleset(p1, options);
  ASSERT_TRUE(second.ruleset) << second.error->ToString() << "\n" << p1;
  EXPECT_EQ(PrintRuleset(*second.ruleset), p1);
}

TEST(Parser, TokenizesAsIptablesRestore) {
  // A backslash escapes only inside quotes; the closing quote ends a word.
  EXPECT_EQ(R("-m comment --comment a\\b"), "-m comment --comment \"a\\\\b\"");
  EXPECT_EQ(R("-m comment --comment \"a\\\"b\""), "-m comment --comment \"a\\\"b\"");
  EXPECT_EQ(R("-m comment --comment \"\""), "-m comment --comment \"\"");
  // A quoted "!" is a value, not the old-style negation.
  EXPECT_EQ(R("-m comment --comment \"!\""), "-m comment --comment \"!\"");
  ExpectFixedPoint("*filter\n-A INPUT -m comment --comment \"!\" -m foo --x \"!\" -s 1.2.3.4\nCOMMIT\n");
}

// Found by the fuzzer: a match name with backslashes printed bare read back
// differently. Extension names are now checked.
TEST(Parser, FuzzRegressionExtensionNames) {
  EXPECT_EQ(R("-m hashlim\\\\it --x 1"), "ERROR bad match name 'hashlim\\\\it'");
  EXPECT_EQ(R("-m \"a b\""), "ERROR bad match name 'a b'");
  EXPECT_EQ(R("-j \"A\\\"B\""), "ERROR bad target name 'A\"B'");
  EXPECT_FALSE(ParseRuleset("*filter\n:\"a b\" - [0:0]\nCOMMIT\n").ruleset);
  EXPECT_EQ(R("-i \"a\\\"b\""), "ERROR bad interface name 'a\"b'");
}

// Found by the fuzzer: an opaque module's quoted value that looks like an
// attached base option ("-sX") was printed bare and read back as -s.
TEST(Parser, FuzzRegressionQuotedOpaqueValues) {
  EXPECT_EQ(R("-m foo --x -str-ou\"\" --y \"\" -j DROP"),
            "-m foo --x \"-str-ou\" --y \"\" -j DROP");
  EXPECT_EQ(R("-m foo --x \"-j\" -j DROP"), "ERROR bad target name '-j'");
  ExpectFixedPoint("*filter\n-A INPUT -m foo --x -str-ou\"\" \"!\" ! --z \"-pudp\"\nCOMMIT\n");
}

TEST(Parser, GetoptSpellings) {
  EXPECT_EQ(R("--protocol=tcp --source=1.2.3.4 --in-interface=eth0 --jump=ACCEPT", "FORWARD"),
            "-s 1.2.3.4/32 -i eth0 -p tcp -j ACCEPT");
  EXPECT_EQ(R("-ptcp -s1.2.3.4 -jACCEPT"), "-s 1.2.3.4/32 -p tcp -j ACCEPT");
  EXPECT_EQ(R("--proto tcp --dport=22 --dest 10.0.0.1"), "-d 10.0.0.1/32 -p tcp -m tcp --dport 22");
  EXPECT_EQ(R("-i + -j ACCEPT"), "-j ACCEPT");
  EXPECT_EQ(R("! -i + -j ACCEPT"), "! -i + -j ACCEPT");
  auto r = ParseRuleset("*filter\n-A INPUT -c 2,3 -j ACCEPT\n-A INPUT -c 4 5\nCOMMIT\n");
  ASSERT_TRUE(r.ruleset);
  EXPECT_EQ(r.ruleset->FindChain("filter", "INPUT")->rules[0].counters.bytes, 3u);
  EXPECT_EQ(r.ruleset->FindChain("filter", "INPUT")->rules[1].counters.bytes, 5u);
  EXPECT_FALSE(ParseRuleset("*filter\n-A INPUT -c ,3\nCOMMIT\n").ruleset);
  // Numbers are read as strtoul(..., 0) reads them.
  EXPECT_EQ(R("-p tcp --dport 0x16"), "-p tcp -m tcp --dport 22");
  EXPECT_EQ(R("-p tcp --dport 010"), "-p tcp -m tcp --dport 8");
}

TEST(Parser, IptablesCanonicalForms) {
  EXPECT_EQ(R("-p icmp --icmp-type echo-req"), "-p icmp -m icmp --icmp-type 8");
  EXPECT_EQ(R("-p icmp --icmp-type echo"), "ERROR --icmp-type: ambiguous ICMP type \"echo\": "
                                           "\"echo-reply\" or \"echo-request\"");
  EXPECT_EQ(R("-p icmp --icmp-type 255/255"), "-p icmp -m icmp --icmp-type 255/255");
  EXPECT_EQ(R("-p icmp --icmp-type 255/0:255"), "-p icmp -m icmp --icmp-type any");
  EXPECT_EQ(R("-m conntrack --ctproto udp"), "-m conntrack --ctproto 17");
  EXPECT_EQ(R("-j MARK --set-xmark 0x1"), "-j MARK --set-xmark 0x1/0xffffffff");
  EXPECT_EQ(R("-m addrtype"), "ERROR addrtype: you must specify --src-type or --dst-type");
  EXPECT_EQ(R("-m policy --dir in --strict --spi 10 --next --reqid 2 --mode tunnel --tunnel-src 1.2.3.4"),
            "-m policy --dir in --pol ipsec --strict --spi 0xa --next --reqid 2 --mode tunnel "
            "--tunnel-src 1.2.3.4");
  EXPECT_EQ(R("-m hashlimit --hashlimit-upto 60/min --hashlimit-name x"),
            "-m hashlimit --hashlimit-upto 1/sec --hashlimit-burst 5 --hashlimit-name x "
            "--hashlimit-htable-expire 60000");
  EXPECT_EQ(R("-p tcp -j REJECT --reject-with tcp-rst"), "-p tcp -j REJECT --reject-with tcp-reset");
  EXPECT_EQ(R("-j REJECT --reject-with tcp-reset"), "ERROR REJECT --reject-with tcp-reset needs -p tcp");
}

TEST(Parser, NatTargets) {
  auto nat = [](std::string_view spec, std::string_view chain = "PREROUTING",
                Family family = Family::kIPv4) {
    std::string text = "*nat\n-A " + std::string(chain) + " " + std::string(spec) + "\nCOMMIT\n";
    ParseOptions options;
    options.family = family;
    auto r = ParseRuleset(text, options);
    if (!r.ruleset) return "ERROR " + r.error->message;
    return RuleSpec(r.ruleset->FindChain("nat", chain)->rules.at(0), family);
  };
  EXPECT_EQ(nat("-p tcp -j DNAT --to-destination 1.1.1.1:ssh"),
            "-p tcp -j DNAT --to-destination 1.1.1.1:22");
  EXPECT_EQ(nat("-p tcp -j DNAT --to-destination 1.1.1.1-1.1.1.1:80-80"),
            "-p tcp -j DNAT --to-destination 1.1.1.1:80");
  EXPECT_EQ(nat("-p tcp -j DNAT --to-destination 1.1.1.1:10-20/ftp"),
            "-p tcp -j DNAT --to-destination 1.1.1.1:10-20/21");
  EXPECT_EQ(nat("-j DNAT --to-destination 1.1.1.1:80"),
            "ERROR --to-destination: a port needs -p tcp, udp, sctp or dccp");
  EXPECT_EQ(nat("-p tcp -j DNAT --to-destination [2001:db8::1]:80", "OUTPUT", Family::kIPv6),
            "-p tcp -j DNAT --to-destination [2001:db8::1]:80");
  EXPECT_EQ(nat("-j DNAT --to-destination [2001:db8::1]", "OUTPUT", Family::kIPv6),
            "-j DNAT --to-destination 2001:db8::1");
  EXPECT_EQ(nat("-p udp -j REDIRECT --to-ports 512-512"), "-p udp -j REDIRECT --to-ports 512");
  EXPECT_EQ(nat("-p udp -j MASQUERADE --to-ports 1-2/3", "POSTROUTING"),
            "ERROR --to-ports: shifted portmap ranges (/BASE) are only supported by DNAT");
  EXPECT_EQ(nat("-j MASQUERADE"), "ERROR target MASQUERADE is not valid in chain PREROUTING");
  EXPECT_EQ(nat("-j NETMAP --to 10.1.2.3/8"), "-j NETMAP --to 10.0.0.0/8");
}

// Table::FindChain has an index; it stays right whatever code does to the
// chains (pushes, renames, copies).
TEST(Ruleset, FindChainKeepsUpWithChanges) {
  auto r = ParseRuleset("*filter\n:A - [0:0]\n:B - [0:0]\n-A A -j B\nCOMMIT\n");
  ASSERT_TRUE(r.ruleset);
  Ruleset rs = *r.ruleset;   // a copy: its own vectors
  Table* t = rs.FindTable("filter");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->FindChain("B")->name, "B");
  EXPECT_EQ(t->FindChain("C"), nullptr);
  Chain c;
  c.name = rs.Store("C");
  t->chains.push_back(c);
  EXPECT_EQ(t->FindChain("C"), &t->chains.back());
  t->chains[3].name = rs.Store("RENAMED");   // A, in place
  EXPECT_EQ(t->FindChain("A"), nullptr);
  EXPECT_EQ(t->FindChain("RENAMED"), &t->chains[3]);
  const Table& ct = *t;
  EXPECT_EQ(ct.FindChain("RENAMED"), &t->chains[3]);
  EXPECT_EQ(rs.FindChain("filter", "B")->rules.size(), 0u);
  EXPECT_EQ(r.ruleset->FindChain("filter", "A")->rules.at(0).target, "B");
}

TEST(Parser, ChainsAndTargets) {
  // -g may name a chain declared later; COMMIT checks it exists.
  EXPECT_TRUE(ParseRuleset("*filter\n-A INPUT -g LATER\n:LATER - [0:0]\nCOMMIT\n").ruleset);
  auto r = ParseRuleset("*filter\n-A INPUT -g NOPE\nCOMMIT\n");
  ASSERT_FALSE(r.ruleset);
  EXPECT_EQ(r.error->message, "jump to chain 'NOPE', which does not exist");
  r = ParseRuleset("*filter\n:X - [0:0]\n-A INPUT -j X\n-X X\nCOMMIT\n");
  ASSERT_FALSE(r.ruleset);
  EXPECT_EQ(r.error->message, "jump to chain 'X', which does not exist");
  // Chains are listed built-ins first, then by name; rules keep their order.
  EXPECT_EQ(Normalize("*filter\n:Z - [0:0]\n:A - [0:0]\n-A Z -j A\n-I Z -s 1.1.1.1,2.2.2.2 -j DROP\n"
                      "-A Z -j RETURN\nCOMMIT\n"),
            "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n"
            ":A - [0:0]\n:Z - [0:0]\n-A Z -s 1.1.1.1/32 -j DROP\n-A Z -s 2.2.2.2/32 -j DROP\n"
            "-A Z -j A\n-A Z -j RETURN\nCOMMIT\n");
  // Names and texts read like string_views.
  r = ParseRuleset("*nat\n-A POSTROUTING -o eth0 -m comment --comment \"a b\" -j MASQUERADE\nCOMMIT\n");
  ASSERT_TRUE(r.ruleset);
  const Rule& rule = r.ruleset->FindChain("nat", "POSTROUTING")->rules.at(0);
  EXPECT_EQ(rule.out_interface, "eth0");
  EXPECT_EQ(fmt::format("{}-{}", rule.target, rule.out_interface), "MASQUERADE-eth0");
  EXPECT_EQ(std::string(rule.parts.at(1).text), "a b");
  EXPECT_TRUE(rule.FindMatch("comment"));
}

// Long comment and opaque texts (Names longer than 255 bytes).
TEST(Parser, LongTexts) {
  std::string opaque(300, 'x');
  EXPECT_EQ(R("-m foo --x " + opaque + " -j DROP"), "-m foo --x " + opaque + " -j DROP");
  std::string comment(255, 'c');
  EXPECT_EQ(R("-m comment --comment " + comment), "-m comment --comment " + comment);
  EXPECT_EQ(R("-m comment --comment " + comment + "c"),
            "ERROR --comment: text longer than 255 characters");
}

TEST(Parser, RejectsScriptsWithoutTables) {
  auto r = ParseRuleset("#!/bin/sh\niptables -F\niptables -A INPUT -j ACCEPT\n");
  ASSERT_FALSE(r.ruleset);
  EXPECT_EQ(r.error->line, 2);
  EXPECT_TRUE(ParseRuleset("# only a comment\n\n").ruleset);
}

}  // namespace
}  // namespace swarmwall::netfilter
