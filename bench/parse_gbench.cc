// Google Benchmark timings of ParseRuleset and PrintRuleset alone, on the
// kube-proxy-like dumps (1k, 10k, 100k rules) and the largest corpus file
// (anonymized MACs replaced in memory, see parse_bench.cc). For iterating on
// the parser; the figures that go into RESULTS.md come from parse_bench,
// which also runs the kernel tools side by side.
//   parse_gbench --benchmark_filter=Parse/kube:100000 --benchmark_repetitions=5
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>

#include "gen_kube_dump.h"
#include "netfilter/parser.h"
#include "netfilter/printer.h"

#ifndef SWARMWALL_SHARED_DIR
#define SWARMWALL_SHARED_DIR "../shared"
#endif

namespace nf = swarmwall::netfilter;

namespace {

std::string CorpusText() {
  const char* shared = std::getenv("SWARMWALL_SHARED");
  std::string path = std::string(shared ? shared : SWARMWALL_SHARED_DIR) +
                     "/corpus/net-network/configs_chair_for_Network_Architectures_and_Services/"
                     "iptables-save-2016-06-27_16-29-01";
  std::ifstream in(path, std::ios::binary);
  if (!in) return {};
  std::ostringstream s;
  s << in.rdbuf();
  std::string text = s.str();
  const std::string anon = "XX:XX:XX:XX:XX:XX", sane = "02:00:00:00:00:01";
  for (size_t pos = 0; (pos = text.find(anon, pos)) != std::string::npos; pos += sane.size())
    text.replace(pos, anon.size(), sane);
  return text;
}

void Register(const std::string& name, std::string text) {
  auto shared = std::make_shared<std::string>(std::move(text));
  auto probe = nf::ParseRuleset(*shared);
  if (!probe.ruleset) {
    std::fprintf(stderr, "%s: %s\n", name.c_str(), probe.error->ToString().c_str());
    std::exit(2);
  }
  const double rules = static_cast<double>(probe.ruleset->RuleCount());
  benchmark::RegisterBenchmark(("Parse/" + name).c_str(), [shared, rules](benchmark::State& state) {
    for (auto _ : state) {
      auto r = nf::ParseRuleset(*shared);
      benchmark::DoNotOptimize(r);
    }
    state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * shared->size()));
    state.counters["rules/s"] = benchmark::Counter(rules, benchmark::Counter::kIsIterationInvariantRate);
  })->Unit(benchmark::kMillisecond);
  benchmark::RegisterBenchmark(("Print/" + name).c_str(), [shared, rules](benchmark::State& state) {
    auto r = nf::ParseRuleset(*shared);
    for (auto _ : state) {
      std::string out = nf::PrintRuleset(*r.ruleset);
      benchmark::DoNotOptimize(out);
    }
    state.counters["rules/s"] = benchmark::Counter(rules, benchmark::Counter::kIsIterationInvariantRate);
  })->Unit(benchmark::kMillisecond);
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (std::string corpus = CorpusText(); !corpus.empty()) Register("corpus", std::move(corpus));
  for (size_t n : {1000, 10000, 100000})
    Register("kube:" + std::to_string(n), swarmwall::bench::GenerateKubeDump(n).text);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
