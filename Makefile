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

.PHONY: all deps toolchain configure build test unit integration demo demo-down clean format lint \
        asan tsan fuzz fuzz-long bench help

all: build

help:
	@echo "make test       build everything and run all unit and integration tests"
	@echo "make demo       bring up the local control plane and Zhisuan (make demo-down stops it)"
	@echo "make toolchain  build etcd, kube-apiserver, kubectl, helm, kwok from source (cached)"
	@echo "make asan|tsan  unit + integration tests under sanitizers"
	@echo "make fuzz       short libFuzzer runs; fuzz-long for longer ones"

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

test: toolchain build
	@$(MAKE) --no-print-directory fuzz
	@echo "[test] running unit and integration tests"
	@cd $(BUILD_DIR) && ctest --output-on-failure -j $(CTEST_JOBS) -LE fuzz $(CTEST_ARGS)

unit: build
	@cd $(BUILD_DIR) && ctest --output-on-failure -j $(CTEST_JOBS) -L unit

integration: toolchain build
	@cd $(BUILD_DIR) && ctest --output-on-failure -j $(CTEST_JOBS) -L integration

demo: toolchain build
	@hack/demo.sh up "$(DEMO_DIR)" "$(BUILD_DIR)"

demo-down:
	@hack/demo.sh down "$(DEMO_DIR)" "$(BUILD_DIR)"

FUZZ_SECONDS ?= 60
FUZZ_RUNS    ?= 200000
FUZZ_DIR     ?= build-fuzz

# Deterministic libFuzzer smoke runs of every target (clang, ASan+UBSan, fixed seed, recorded
# corpus); `make fuzz-long` explores for 10 min per target.
fuzz: deps
	@echo "[fuzz] building fuzzers with clang in $(FUZZ_DIR)"
	@cmake -S . -B $(FUZZ_DIR) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ -DZHISUAN_WERROR=OFF \
	  -DZHISUAN_FUZZ=ON -DZHISUAN_SANITIZE=address,undefined -DZHISUAN_FUZZ_SECONDS=$(FUZZ_SECONDS) \
	  -DZHISUAN_FUZZ_RUNS=$(FUZZ_RUNS) >/dev/null
	@cmake --build $(FUZZ_DIR) --target fuzzers -j $(JOBS)
	@echo "[fuzz] running each fuzzer ($(FUZZ_RUNS) inputs, at most $(FUZZ_SECONDS)s)"
	@cd $(FUZZ_DIR) && ctest -L fuzz --output-on-failure -j $(CTEST_JOBS)

fuzz-long:
	@$(MAKE) fuzz FUZZ_SECONDS=600 FUZZ_RUNS=-1 CTEST_JOBS=1

asan:
	@$(MAKE) test BUILD_DIR=build-asan BUILD_TYPE=Debug \
	  CMAKE_FLAGS="-DZHISUAN_SANITIZE=address,undefined"

tsan:
	@$(MAKE) test BUILD_DIR=build-tsan BUILD_TYPE=Debug CMAKE_FLAGS="-DZHISUAN_SANITIZE=thread"

format:
	@git ls-files '*.cc' '*.h' | xargs clang-format -i

lint: configure
	@git ls-files '*.cc' | grep -v '^tests/fixtures/' | xargs clang-tidy -p $(BUILD_DIR) --quiet

clean:
	rm -rf build build-asan build-tsan build-fuzz
