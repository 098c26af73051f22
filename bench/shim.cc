// bench/shim.cc — the only C++ in lif: registers the C cases of a benchmark
// program (bench/kernels.c, bench/e2e.c) with Google Benchmark.
//
// Before any benchmark runs, it measures this machine's roofline (an FMA
// loop and a copy loop, lif_roofline_measure; LIF_ROOFLINE_SECONDS changes
// the 0.2 s each) and reports every case's fraction of it. Per case:
//   <unit>      the op's rate, per second: sample_steps, syn_events (input
//               spikes x fan-out), FLOP, bytes, images, samples
//   density     spike density of the op's input bits (absent when it has none)
//   FLOP        floating-point work per second (absent when the op has none)
//   bytes       compulsory memory traffic per second
//   pct_roof    100 x max(FLOP/s / peak FLOP/s, bytes/s / copy bandwidth):
//               the fraction of the roofline's limit at this arithmetic
//               intensity; the label names the roof that binds (flop or bw).
//   pct_model   the kernel's own roof (where bench/kernels.c models it): the
//               operations its algorithm cannot avoid over the machine's rate
//               for them, 100 % = the kernel issues nothing but those. Vector
//               adds (linear kernels: one per input chunk and output for dense
//               and skip kernels, per spike for event-driven ones, per input
//               that fired in 16 steps and output for time-lanes) at the FMA
//               loop's instruction rate; 32 x 32 products (the encoder: 20 per
//               Philox call) at the vpmuludq loop's rate.
// The context (JSON "context") carries the peaks, the CPU and the ISA.
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>
#include <string>

extern "C" {
#include "bench.h"
#include "lif/lif.h"
#include "lif/roofline.h"
}

namespace {

lif_roofline roof;

// The context of the case that ran last, kept while the same case runs
// again (Google Benchmark calls a case several times to size its loop), so
// inputs are prepared and warmed up once per case, not once per call.
const lif_bench_case *cur_case;
void *cur_ctx;
lif_bench_work cur_work;
std::string cur_error;

void release()
{
    if (cur_case && cur_ctx)
        cur_case->teardown(cur_ctx);
    cur_case = nullptr;
    cur_ctx = nullptr;
}

void run_case(benchmark::State &st, const lif_bench_case *c)
{
    if (c->skip[0]) {
        st.SkipWithError(c->skip);
        return;
    }
    if (cur_case != c) {
        release();
        char why[256] = "";
        lif_bench_work w = {};
        cur_ctx = c->setup(c, &w, why, sizeof why);
        cur_case = c;
        cur_work = w;
        cur_error = why;
        if (cur_ctx)
            c->run(cur_ctx);   // warm-up: caches, page faults, branch predictors
    }
    if (!cur_ctx) {
        st.SkipWithError(cur_error.c_str());
        return;
    }
    double t0 = lif_now();
    for (auto _ : st) {
        c->run(cur_ctx);
        benchmark::ClobberMemory();
    }
    double elapsed = lif_now() - t0;
    const lif_bench_work &w = cur_work;
    double it = static_cast<double>(st.iterations());
    using C = benchmark::Counter;
    std::string unit = w.unit;   // "syn_events/s": the counter is "syn_events", shown per second
    if (unit.size() > 2 && unit.compare(unit.size() - 2, 2, "/s") == 0)
        unit.resize(unit.size() - 2);
    st.counters[unit] = C(w.items * it, C::kIsRate);
    if (w.density >= 0)
        st.counters["density"] = C(w.density);
    if (w.flops > 0 && unit != "FLOP")
        st.counters["FLOP"] = C(w.flops * it, C::kIsRate);
    if (w.bytes > 0 && unit != "bytes")
        st.counters["bytes"] = C(w.bytes * it, C::kIsRate);
    // roofline: the fraction of min(peak FLOP/s, intensity x bandwidth)
    double ff = w.flops * 1e-9 / roof.gflops, fb = w.bytes * 1e-9 / roof.copy_gbps;
    if (elapsed > 0)
        st.counters["pct_roof"] = C(100.0 * (ff > fb ? ff : fb) * it / elapsed);
    std::string label = ff > fb ? "roof=flop" : "roof=bw";
    // the kernel's own roof: its algorithm's bottleneck operations over the
    // machine's rate for them
    double lanes = std::string(roof.fma_loop) == "avx512_fma" ? 16 : std::string(roof.fma_loop) == "avx2_fma" ? 8 : 4;
    double rate = w.model == LIF_BENCH_MODEL_ADDS
                      ? (roof.gadds > 0 ? roof.gadds * 1e9 : roof.gflops * 1e9 / (2 * lanes))
                  : w.model == LIF_BENCH_MODEL_IMULS ? roof.gmuls * 1e9 : 0;
    if (rate > 0 && w.model_ops > 0 && elapsed > 0) {
        st.counters["pct_model"] = C(100.0 * w.model_ops * it / elapsed / rate);
        label += w.model == LIF_BENCH_MODEL_ADDS ? " model=vector_adds" : " model=imul";
    }
    st.SetLabel(label);
}

std::string fmt(double x)
{
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.2f", x);
    return buf;
}

}  // namespace

int main(int argc, char **argv)
{
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv))
        return 1;
    const char *secs = std::getenv("LIF_ROOFLINE_SECONDS");
    if (lif_roofline_measure(secs ? std::atof(secs) : 0.2, &roof) != LIF_OK) {
        std::fprintf(stderr, "%s: roofline: %s\n", argv[0], lif_last_error());
        return 1;
    }
    const lif_cpu *cpu = lif_cpu_get();
    benchmark::AddCustomContext("lif_version", lif_version());
    benchmark::AddCustomContext("lif_cpu", cpu->model);
    benchmark::AddCustomContext("lif_isa", lif_isa_name(cpu->isa));
    benchmark::AddCustomContext("lif_logical_cpus", std::to_string(cpu->logical_cpus));
    benchmark::AddCustomContext("lif_peak_gflops", fmt(roof.gflops));
    benchmark::AddCustomContext("lif_peak_fma_loop", roof.fma_loop);
    benchmark::AddCustomContext("lif_copy_gbps", fmt(roof.copy_gbps));
    benchmark::AddCustomContext("lif_peak_gmuls", fmt(roof.gmuls));
    benchmark::AddCustomContext("lif_peak_gadds", fmt(roof.gadds));

    lif_bench_case *cases = nullptr;
    size_t n = 0;
    if (lif_bench_cases(&cases, &n) != 0)
        return 1;
    for (size_t i = 0; i < n; i++) {
        const lif_bench_case *c = &cases[i];
        benchmark::RegisterBenchmark(c->name, [c](benchmark::State &st) { run_case(st, c); })
            ->UseRealTime()
            ->Unit(benchmark::kMillisecond);
    }
    benchmark::RunSpecifiedBenchmarks();
    release();
    benchmark::Shutdown();
    lif_bench_cases_free(cases, n);
    return 0;
}
