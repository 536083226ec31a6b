# Zhisuan: the two commands a person needs are `make demo` and `make test`. Each sets up everything
# it needs on a fresh Debian bookworm machine: Debian packages, the Kubernetes toolchain built from
# source (cached outside the tree, keyed by version), and the C++ build.

BUILD_DIR      ?= build
BUILD_TYPE     ?= RelWithDebInfo
JOBS           ?= $(shell nproc)
CTEST_JOBS     ?= 2
CMAKE_FLAGS    ?=
DEMO_DIR       ?= $(CURDIR)/.demo
TOOLCHAIN_BIN  := $(shell hack/toolchain.sh --print-bindir)

.PHONY: all deps toolchain configure build prepare test unit integration demo demo-down clean \
        format format-check lint \
        asan test-asan tsan fuzz fuzz-build fuzz-run fuzz-long bench help

all: build

help:
	@echo "make test       build everything and run all unit and integration tests"
	@echo "make prepare    the toolchain, the C++ build and the fuzzers, side by side (make test runs it)"
	@echo "make demo       bring up the local control plane and Zhisuan (make demo-down stops it)"
	@echo "make toolchain  build etcd, kube-apiserver, kubectl, helm, kwok from source (cached)"
	@echo "make images     container images from this build as docker-archive tarballs in $(BUILD_DIR)/images"
	@echo "make test-asan  unit + integration tests under ASan+UBSan (CI runs it; alias: asan)"
	@echo "make tsan       unit + integration tests under TSan"
	@echo "make fuzz       short libFuzzer runs; fuzz-long for longer ones"
	@echo "make format     clang-format every C++ file (format-check and lint are CI's style gates)"

deps:
	@hack/deps.sh

toolchain: deps
	@hack/toolchain.sh

$(BUILD_DIR)/build.ninja:
	@echo "[build] configuring $(BUILD_DIR) ($(BUILD_TYPE))"
	@cmake -S . -B $(BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) $(CMAKE_FLAGS)

configure: $(BUILD_DIR)/build.ninja

build: deps $(BUILD_DIR)/build.ninja
	@echo "[build] compiling (first build takes a few minutes)"
	@cmake --build $(BUILD_DIR) -j $(JOBS)

# The Go toolchain, the C++ build and the fuzzers' clang build run side by side, two at a time. On a
# fresh machine the toolchain spends part of its 17 minutes downloading modules and linking on one
# core, which leaves a core idle that the C++ build then uses (README, "On a fresh machine").
# Warm, each is a cache check of a few seconds.
prepare: deps
	@$(MAKE) --no-print-directory -j2 toolchain build fuzz-build

test: prepare
	@$(MAKE) --no-print-directory fuzz-run
	@echo "[test] running unit and integration tests"
	@cd $(BUILD_DIR) && ctest --output-on-failure -j $(CTEST_JOBS) -LE fuzz $(CTEST_ARGS)

unit: build
	@cd $(BUILD_DIR) && ctest --output-on-failure -j $(CTEST_JOBS) -L unit

integration: toolchain build
	@cd $(BUILD_DIR) && ctest --output-on-failure -j $(CTEST_JOBS) -L integration

demo: deps
	@$(MAKE) --no-print-directory -j2 toolchain build
	@hack/demo.sh up "$(DEMO_DIR)" "$(BUILD_DIR)"

demo-down:
	@hack/demo.sh down "$(DEMO_DIR)" "$(BUILD_DIR)"

# pause, workload, agent and controller images from what `build` compiled (seconds, no registry or
# image engine): $(BUILD_DIR)/images/<name>.tar for `ctr -n k8s.io images import` (docs/images.md).
.PHONY: images
images: build
	@hack/images.sh $(BUILD_DIR) $(BUILD_DIR)/images

FUZZ_SECONDS ?= 60
FUZZ_RUNS    ?= 200000
FUZZ_DIR     ?= build-fuzz

# Deterministic libFuzzer smoke runs of every target (clang, ASan+UBSan, fixed seed, recorded
# corpus); `make fuzz-long` explores for 10 min per target.
fuzz: fuzz-build
	@$(MAKE) --no-print-directory fuzz-run

fuzz-build: deps
	@echo "[fuzz] building fuzzers with clang in $(FUZZ_DIR)"
	@cmake -S . -B $(FUZZ_DIR) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ -DZHISUAN_WERROR=OFF \
	  -DZHISUAN_FUZZ=ON -DZHISUAN_SANITIZE=address,undefined -DZHISUAN_FUZZ_SECONDS=$(FUZZ_SECONDS) \
	  -DZHISUAN_FUZZ_RUNS=$(FUZZ_RUNS) >/dev/null
	@cmake --build $(FUZZ_DIR) --target fuzzers -j $(JOBS)

fuzz-run:
	@echo "[fuzz] running each fuzzer ($(FUZZ_RUNS) inputs, at most $(FUZZ_SECONDS)s)"
	@cd $(FUZZ_DIR) && ctest -L fuzz --output-on-failure -j $(CTEST_JOBS)

fuzz-long:
	@$(MAKE) fuzz FUZZ_SECONDS=600 FUZZ_RUNS=-1 CTEST_JOBS=1

# Unit and integration tests under sanitizers, each in its own Debug build tree (the fuzz smoke
# already runs under ASan+UBSan in `make fuzz`, so these skip it). Any sanitizer report fails the
# test; the only tolerated ones are the commented entries in tests/sanitizers/*.supp.
#
# `make test-asan` is what CI (.ci/run) runs after `make test`: ASan+UBSan over every unit and
# integration test, not a subset. The Debug ASan build compiles the same sources as `make test`'s
# build (no optimiser, plus instrumentation), so it costs about what that build costs; the unit
# tests take under a minute and the integration tests a few minutes more than without ASan
# (times in docs/security.md, "Fuzzing and sanitizers"; the whole of CI on a fresh machine is in
# the README). ASAN_TESTS narrows a local run (a ctest -R regex), e.g. ASAN_TESTS=kube_.
ASAN_DIR   ?= build-asan
TSAN_DIR   ?= build-tsan
ASAN_TESTS ?=
TSAN_TESTS ?=
# One test at a time under TSan: its 5-15x slowdown, with the demo test's 25 agents beside another
# integration test on 2 cores, starved that test past its deadlines (seen: a controller that had
# bound nothing after 60 s, which passes alone in 30 s).
TSAN_CTEST_JOBS ?= 1
# The fleet benchmark's regression guard compares timings with recorded medians; a Debug
# sanitizer build is several times slower by design, so its verdict there means nothing.
SANITIZER_SKIP := -E '^fleet_regression_guard$$'
# The tests that run a real node (label cluster: the real-cluster suite and the demo; a real
# kubelet, images packed from the build tree) run in `make test` only. Under a sanitizer their pods
# run the Debug sanitized binaries inside the chart's memory limits and probe deadlines, sized for
# the release build: in CI the demo's pods were not Ready within 3 minutes. The Zhisuan code they
# drive (device plugin, publishing, the controller) runs under ASan in the agent and controller
# integration tests, against the same API server.
SANITIZER_LABELS := -LE 'fuzz|cluster'

test-asan: toolchain deps
	@echo "[asan] configuring and building $(ASAN_DIR) (Debug, ASan+UBSan)"
	@cmake -S . -B $(ASAN_DIR) -G Ninja -DCMAKE_BUILD_TYPE=Debug \
	  -DZHISUAN_SANITIZE=address,undefined $(CMAKE_FLAGS) >/dev/null
	@cmake --build $(ASAN_DIR) -j $(JOBS)
	@echo "[asan] running unit and integration tests under ASan+UBSan"
	@cd $(ASAN_DIR) && ctest --output-on-failure -j $(CTEST_JOBS) $(SANITIZER_LABELS) $(SANITIZER_SKIP) \
	  $(if $(ASAN_TESTS),-R '$(ASAN_TESTS)') $(CTEST_ARGS)

asan: test-asan

tsan: toolchain deps
	@echo "[tsan] configuring and building $(TSAN_DIR) (Debug, TSan)"
	@cmake -S . -B $(TSAN_DIR) -G Ninja -DCMAKE_BUILD_TYPE=Debug \
	  -DZHISUAN_SANITIZE=thread $(CMAKE_FLAGS) >/dev/null
	@cmake --build $(TSAN_DIR) -j $(JOBS)
	@echo "[tsan] running unit and integration tests under TSan"
	@cd $(TSAN_DIR) && ctest --output-on-failure -j $(TSAN_CTEST_JOBS) $(SANITIZER_LABELS) $(SANITIZER_SKIP) \
	  $(if $(TSAN_TESTS),-R '$(TSAN_TESTS)') $(CTEST_ARGS)

format:
	@git ls-files '*.cc' '*.h' | xargs clang-format -i

# The style gates CI runs (hack/lint.sh): formatting over every C++ file, clang-tidy over the
# product's sources with warnings as errors. lint needs a build for compile_commands.json and the
# generated gRPC headers.
format-check: deps
	@hack/lint.sh format

lint: deps build
	@hack/lint.sh tidy $(BUILD_DIR)

clean:
	rm -rf build build-asan build-tsan build-fuzz
